/**
 * OpenAI-format errors: every failure becomes `{"error": {"message", "type", "param", "code"}}`.
 * What a client caused is a 4xx naming the parameter; what the server or the model caused is a 5xx
 * that names no local path; running out of memory or capacity is a 503 (or 429) with `Retry-After`.
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

/** Seconds a client is told to wait before retrying a 429 or 503. */
export const RETRY_AFTER_SECONDS = 2;

/** QwenrtError codes that are not the client's fault, with their status. */
const serverFaults: Record<string, { status: number; type: string; prefix: string }> = {
  model_fault: { status: 500, type: "server_error", prefix: "model fault" },
  no_candidates: { status: 500, type: "server_error", prefix: "internal error" },
  invalid_template: { status: 500, type: "server_error", prefix: "the model's chat template failed" },
  template_limit: { status: 500, type: "server_error", prefix: "the model's chat template passed its limits" },
  out_of_memory: { status: 503, type: "server_error", prefix: "server out of memory; retry later" },
  overloaded: { status: 503, type: "server_error", prefix: "server overloaded; retry later" },
};

const clientStatus: Record<string, number> = { not_found: 404, model_not_found: 404, rate_limit_exceeded: 429 };

/** A JS engine's allocation failure: the server ran out of memory, not the client's fault. */
function isAllocationFailure(e: unknown): boolean {
  return e instanceof RangeError && /allocation failed|Invalid (typed )?array length|Invalid string length|out of memory/i.test(e.message);
}

/** Replace absolute paths in a server-side message by their last component (no local layout leaks). */
export function scrubPaths(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/"'`:]+)+[\\/]([^\s\\/"'`:]+)/g, "$1");
}

/** What `toErrorResponse` returns: the status, the body and headers to set (`Retry-After`). */
export interface ErrorResponse {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

function respond(status: number, message: string, type: string, param: string | null, code: string | null): ErrorResponse {
  const headers: Record<string, string> = status === 429 || status === 503 ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {};
  return { status, body: { error: { message, type, param, code } }, headers };
}

/**
 * Map anything thrown while serving a request to a status, an OpenAI error body and headers.
 * QwenrtErrors are the client's (400 naming the parameter) unless their code says the model, the
 * template or the server failed; the chat template refusing a conversation is a 400 on `messages`.
 * Anything else is ours: 500 with the message (paths removed) and no stack.
 */
export function toErrorResponse(e: unknown): ErrorResponse {
  if (e instanceof ApiError) return respond(e.status, e.message, e.type, e.param, e.code);
  if (e instanceof QwenrtError) {
    const fault = serverFaults[e.code];
    if (fault !== undefined) {
      // A model fault names the tensor (or "logits"); the others' `where` is a local file: left out.
      const what = e.code === "model_fault" ? e.message : e.detail;
      return respond(fault.status, scrubPaths(`${fault.prefix}: ${what}`), fault.type, null, e.code);
    }
    if (e.code === "template_rejected") {
      return respond(400, `messages: the chat template rejected the conversation: ${e.detail}`, "invalid_request_error", "messages", "invalid_value");
    }
    return respond(clientStatus[e.code] ?? 400, e.message, "invalid_request_error", e.where, e.code);
  }
  if (isAllocationFailure(e)) return respond(503, `server out of memory (${errorMessage(e)}); retry later`, "server_error", null, "out_of_memory");
  return respond(500, scrubPaths(`internal error: ${errorMessage(e)}`), "server_error", null, null);
}
