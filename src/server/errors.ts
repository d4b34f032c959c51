/**
 * OpenAI-format errors: every failure a client can cause becomes
 * `{"error": {"message", "type", "param", "code"}}` with a 4xx status, and the server keeps serving.
 */
import { QwenrtError, errorMessage } from "../util/errors.js";

/** The body OpenAI returns for an error. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error with an HTTP status, thrown by handlers and rendered by the app's error handler. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string = "invalid_request_error",
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const statusOfCode: Record<string, number> = {
  not_found: 404,
  model_not_found: 404,
  rate_limit_exceeded: 429,
  overloaded: 503,
};

/**
 * Map anything thrown while serving a request to a status and an OpenAI error body. QwenrtErrors
 * (validation, context length, bad token ids) are the client's fault: 400 naming the parameter.
 * Anything else is ours: 500 with the message but no stack.
 */
export function toErrorResponse(e: unknown): { status: number; body: OpenAIErrorBody } {
  if (e instanceof ApiError) {
    return { status: e.status, body: { error: { message: e.message, type: e.type, param: e.param, code: e.code } } };
  }
  if (e instanceof QwenrtError) {
    const status = statusOfCode[e.code] ?? 400;
    return {
      status,
      body: { error: { message: e.message, type: "invalid_request_error", param: e.where, code: e.code } },
    };
  }
  return { status: 500, body: { error: { message: `internal error: ${errorMessage(e)}`, type: "server_error", param: null, code: null } } };
}
