/**
 * The OpenAI-compatible HTTP API on hono: routing, JSON parsing, SSE framing and error mapping.
 * Handlers validate, plan and hand over to the runtime; the engine loop does the rest.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { planChat } from "./chat-plan.js";
import { completeChat, streamChat } from "./chat.js";
import { planCompletion, runCompletion } from "./completions.js";
import { ApiError, toErrorResponse } from "./errors.js";
import { renderMetrics } from "./metrics.js";
import type { Runtime } from "./runtime.js";
import { serverStatus } from "./status.js";

/** Largest request body accepted (long conversations with tools stay far below it). */
const MAX_BODY_BYTES = 16 * 2 ** 20;

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new ApiError(400, "request body is empty; expected a JSON object", "invalid_request_error", null, "invalid_json");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `request body is not valid JSON (${(e as Error).message})`, "invalid_request_error", null, "invalid_json");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "request body must be a JSON object", "invalid_request_error", null, "invalid_json");
  }
  return body;
}

function checkModel(rt: Runtime, body: unknown): void {
  const model = (body as { model?: unknown }).model;
  if (model === undefined) return;
  if (typeof model !== "string") throw new ApiError(400, "model: must be a string", "invalid_request_error", "model");
  if (model !== rt.opts.modelId) {
    throw new ApiError(404, `The model \`${model}\` does not exist. This server serves \`${rt.opts.modelId}\`.`, "invalid_request_error", "model", "model_not_found");
  }
}

function isAbort(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (e instanceof Error && e.name === "AbortError");
}

/**
 * Build the app for one runtime.
 *
 * @example
 * serve({ fetch: createApp(rt).fetch, port: 8000, hostname: "127.0.0.1" });
 */
export function createApp(rt: Runtime): Hono {
  const app = new Hono();

  app.use(async (c, next) => {
    await next();
    const path = new URL(c.req.url).pathname;
    if (path.startsWith("/v1/")) rt.countRequest(path, c.res.status);
  });

  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json(toErrorResponse(new ApiError(413, `request body exceeds ${MAX_BODY_BYTES / 2 ** 20} MiB`, "invalid_request_error", null, "request_too_large")).body, 413),
    }),
  );

  app.onError((e, c) => {
    const { status, body } = toErrorResponse(e);
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json(toErrorResponse(new ApiError(404, `no route ${c.req.method} ${new URL(c.req.url).pathname}`, "invalid_request_error", null, "not_found")).body, 404));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/status", (c) => c.json(serverStatus(rt)));
  app.get("/metrics", (c) => c.text(renderMetrics(rt), 200, { "content-type": "text/plain; version=0.0.4" }));
  app.get("/v1/models", (c) =>
    c.json({ object: "list", data: [{ id: rt.opts.modelId, object: "model", created: rt.created, owned_by: "qwenrt", max_model_len: rt.contextLength }] }),
  );
  app.get("/v1/models/:id", (c) => {
    if (c.req.param("id") !== rt.opts.modelId) throw new ApiError(404, `The model \`${c.req.param("id")}\` does not exist.`, "invalid_request_error", "model", "model_not_found");
    return c.json({ id: rt.opts.modelId, object: "model", created: rt.created, owned_by: "qwenrt" });
  });

  app.post("/v1/chat/completions", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    const plan = planChat(rt, body);
    return serveGeneration(c, rt, plan.stream, (signal, send) =>
      send === undefined ? completeChat(rt, plan, rt.opts.modelId, signal) : streamChat(rt, plan, rt.opts.modelId, signal, send).then(() => undefined),
    );
  });

  app.post("/v1/completions", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    const plan = planCompletion(rt, body);
    return serveGeneration(c, rt, plan.stream, (signal, send) => runCompletion(rt, plan, rt.opts.modelId, signal, send));
  });

  return app;
}

type Send = (chunk: Record<string, unknown>) => void;

/** Admission, then either one JSON body or an SSE stream ending in `[DONE]`; client disconnect cancels. */
async function serveGeneration(
  c: Context,
  rt: Runtime,
  stream: boolean,
  work: (signal: AbortSignal, send?: Send) => Promise<Record<string, unknown> | undefined>,
): Promise<Response> {
  const signal = c.req.raw.signal;
  const release = await rt.admit(signal);
  if (!stream) {
    try {
      const body = await work(signal);
      return c.json(body ?? {});
    } finally {
      release();
    }
  }
  return streamSSE(c, async (sse) => {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    sse.onAbort(() => controller.abort(new Error("client closed the stream")));
    // Writes are queued in order; a failed write means the client is gone.
    let chain = Promise.resolve();
    const send: Send = (chunk) => {
      chain = chain.then(() => sse.writeSSE({ data: JSON.stringify(chunk) })).catch(() => controller.abort(new Error("write failed")));
    };
    try {
      await work(controller.signal, send);
      await chain;
      await sse.writeSSE({ data: "[DONE]" });
    } catch (e) {
      if (!isAbort(e, controller.signal)) {
        // Headers are sent: report the error in-band, as OpenAI-compatible servers do.
        await chain;
        await sse.writeSSE({ data: JSON.stringify(toErrorResponse(e).body) });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      release();
    }
  });
}
