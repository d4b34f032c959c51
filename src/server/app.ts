/**
 * The OpenAI-compatible HTTP API on hono: access control, routing, JSON parsing, SSE framing and
 * error mapping. A generation request is validated (cheap checks only), admitted (its sequences
 * counted against `--max-running`), prepared (rendered and tokenized, with the event loop free)
 * and only then run — so a stream starts only once everything that can be a 4xx has been checked.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { validateChat } from "./chat-plan.js";
import { guardMessages } from "../chat/guard.js";
import { parseChatRequest } from "../chat/messages.js";
import { guardedChat } from "./guarded-chat.js";
import { runCompletion, validateCompletion } from "./completions.js";
import { createEmbeddings } from "./embeddings.js";
import { ApiError, toErrorResponse } from "./errors.js";
import { accessGuard, requireJson, type AccessOptions } from "./guard.js";
import { renderMetrics } from "./metrics.js";
import { createModeration } from "./moderations.js";
import { createRerank } from "./rerank.js";
import type { ResponsesContext } from "./responses.js";
import { registerResponses } from "./responses-routes.js";
import type { Runtime } from "./runtime.js";
import { isObject } from "../util/json.js";

/** What the app serves beside the runtime: the Responses API's store and hooks (see responses.ts). */
export type AppOptions = Omit<ResponsesContext, "rt">;

/** Largest request body accepted (long conversations with tools stay far below it). */
const MAX_BODY_BYTES = 16 * 2 ** 20;
/** Deepest nesting of a request body (recursive code downstream: templates, schemas). */
const MAX_BODY_DEPTH = 128;

/** The top-level field of `body` that nests objects and arrays deeper than `max` levels, if any (no recursion). */
function tooDeep(body: Record<string, unknown>, max: number): string | undefined {
  for (const [field, value] of Object.entries(body)) {
    const stack: Array<[unknown, number]> = [[value, 2]];
    while (stack.length > 0) {
      const [v, depth] = stack.pop()!;
      if (typeof v !== "object" || v === null) continue;
      if (depth > max) return field;
      for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, depth + 1]);
    }
  }
  return undefined;
}

/** One of the app's routes: its path as a pattern, its metrics label and its methods. */
interface Route {
  readonly pattern: RegExp;
  /** The path with `{param}` for parameters: one metrics series per route, never per URL. */
  readonly label: string;
  readonly methods: string[];
}

/** The app's routes (middleware left out), from hono's table: other methods get a 405, other paths a 404. */
function routeTable(app: Hono): Route[] {
  const byPath = new Map<string, Route>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    let route = byPath.get(r.path);
    if (route === undefined) {
      const source = r.path.replace(/[.+?^$()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+");
      route = { pattern: new RegExp(`^${source}$`), label: r.path.replace(/:([A-Za-z_]+)/g, "{$1}"), methods: [] };
      byPath.set(r.path, route);
    }
    if (!route.methods.includes(r.method)) route.methods.push(r.method);
    if (r.method === "GET" && !route.methods.includes("HEAD")) route.methods.push("HEAD");
  }
  return [...byPath.values()];
}

async function jsonBody(c: Context): Promise<unknown> {
  requireJson(c);
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
  const deep = tooDeep(body as Record<string, unknown>, MAX_BODY_DEPTH);
  if (deep !== undefined) {
    throw new ApiError(400, `${deep}: nests objects and arrays deeper than the ${MAX_BODY_DEPTH} levels a request may have`, "invalid_request_error", deep, "invalid_value");
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

function errorJson(c: Context, e: unknown): Response {
  const { status, body, headers } = toErrorResponse(e);
  return c.json(body, status as 400, headers);
}

/**
 * Build the app for one runtime.
 *
 * @example
 * serve({ fetch: createApp(rt, { apiKey: "sk-local", loopbackHostsOnly: true }).fetch, port: 8000, hostname: "127.0.0.1" });
 */
export function createApp(rt: Runtime, access: AccessOptions = {}, opts: AppOptions = { store: undefined }): Hono {
  const app = new Hono();
  let routes: Route[] | undefined; // read at the first request, once every route is registered
  const routeOf = (path: string): Route | undefined => (routes ??= routeTable(app)).find((r) => r.pattern.test(path));

  app.use(async (c, next) => {
    await next();
    const path = new URL(c.req.url).pathname;
    if (path.startsWith("/v1/")) rt.countRequest(routeOf(path)?.label ?? "other", c.res.status);
  });
  app.use(accessGuard(access));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorJson(c, new ApiError(413, `request body exceeds ${MAX_BODY_BYTES / 2 ** 20} MiB`, "invalid_request_error", null, "request_too_large")),
    }),
  );

  app.onError((e, c) => errorJson(c, e));
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const route = routeOf(path);
    if (route !== undefined && !route.methods.includes(c.req.method)) {
      const e = new ApiError(405, `${c.req.method} is not allowed on ${path}; use ${route.methods.join(", ")}`, "invalid_request_error", null, "method_not_allowed");
      const r = toErrorResponse(e);
      return c.json(r.body, 405, { allow: route.methods.join(", ") });
    }
    return errorJson(c, new ApiError(404, `no route ${c.req.method} ${path}`, "invalid_request_error", null, "not_found"));
  });

  app.get("/health", (c) => c.json({ status: "ok" }));
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
    const request = validateChat(rt, body);
    const conversation = rt.opts.guard === undefined ? [] : guardMessages(parseChatRequest(body).messages);
    await rt.opts.guard?.screenPrompt(conversation, "messages", c.req.raw.signal);
    return serveGeneration(c, rt, request, (plan, signal, send) => guardedChat(rt, plan, conversation, signal, send));
  });

  app.post("/v1/completions", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    const request = validateCompletion(rt, body);
    const guard = rt.opts.guard;
    if (guard !== undefined && isObject(body)) {
      const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
      for (const p of prompts) if (typeof p === "string") await guard.screenPrompt([{ role: "user", content: p }], "prompt", c.req.raw.signal);
    }
    return serveGeneration(c, rt, request, (plan, signal, send) => runCompletion(rt, plan, rt.opts.modelId, signal, send));
  });

  app.post("/v1/embeddings", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    return c.json(await createEmbeddings(rt, body, c.req.raw.signal));
  });

  app.post("/v1/moderations", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    return c.json(await createModeration(rt, body, c.req.raw.signal));
  });

  app.post("/v1/rerank", async (c) => {
    const body = await jsonBody(c);
    checkModel(rt, body);
    return c.json(await createRerank(rt, body, c.req.raw.signal));
  });
  registerResponses(app, { ...opts, rt }, { jsonBody, checkModel: (body) => checkModel(rt, body) });

  return app;
}

type Send = (chunk: Record<string, unknown>) => void;

/** A validated request: whether it streams, how many sequences it runs, and its heavy preparation. */
interface Validated<P> {
  readonly stream: boolean;
  readonly sequences: number;
  prepare(signal: AbortSignal): Promise<P>;
}

/**
 * Admission, preparation (before any byte of a stream, so its errors are plain 4xx responses), then
 * either one JSON body or an SSE stream ending in `[DONE]`; client disconnect or shutdown cancels.
 */
async function serveGeneration<P>(
  c: Context,
  rt: Runtime,
  request: Validated<P>,
  work: (plan: P, signal: AbortSignal, send?: Send) => Promise<Record<string, unknown> | undefined>,
): Promise<Response> {
  const signal = AbortSignal.any([c.req.raw.signal, rt.stopSignal]);
  const release = await rt.admit(signal, request.sequences);
  let plan: P;
  try {
    plan = await request.prepare(signal);
  } catch (e) {
    release();
    throw e;
  }
  if (!request.stream) {
    try {
      const body = await work(plan, signal);
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
      await work(plan, controller.signal, send);
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
