/**
 * The Responses API routes: `POST /v1/responses` (JSON or an SSE stream of named events, no
 * `[DONE]`), `GET` / `DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.
 */
import type { Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { ApiError, toErrorResponse } from "./errors.js";
import { planResponse, runResponse, type ResponsesContext } from "./responses.js";
import type { ResponseEvent } from "./responses-output.js";

/** What the app lends the routes: its body parser and model check. */
export interface RouteHelpers {
  jsonBody(c: Context): Promise<unknown>;
  checkModel(body: unknown): void;
}

function notFound(id: string): ApiError {
  return new ApiError(404, `Response with id '${id}' not found.`, "invalid_request_error", "response_id", "not_found");
}

function isAbort(e: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (e instanceof Error && e.name === "AbortError");
}

/**
 * Register the routes on `app`.
 *
 * @example
 * registerResponses(app, { rt, store }, { jsonBody, checkModel: (b) => checkModel(rt, b) });
 */
export function registerResponses(app: Hono, ctx: ResponsesContext, h: RouteHelpers): void {
  app.post("/v1/responses", async (c) => {
    const body = await h.jsonBody(c);
    h.checkModel(body);
    const plan = planResponse(ctx, body);
    const signal = c.req.raw.signal;
    const release = await ctx.rt.admit(signal);
    if (!plan.stream) {
      try {
        return c.json(await runResponse(ctx, plan, signal));
      } finally {
        release();
      }
    }
    return streamSSE(c, async (sse) => {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      sse.onAbort(() => controller.abort(new Error("client closed the stream")));
      let chain = Promise.resolve();
      const send = (e: ResponseEvent): void => {
        chain = chain.then(() => sse.writeSSE({ event: e.type, data: JSON.stringify(e) })).catch(() => controller.abort(new Error("write failed")));
      };
      try {
        await runResponse(ctx, plan, controller.signal, send);
        await chain;
      } catch (e) {
        if (!isAbort(e, controller.signal)) {
          await chain;
          const err = toErrorResponse(e).body.error;
          await sse.writeSSE({ event: "error", data: JSON.stringify({ type: "error", code: err.code, message: err.message, param: err.param }) });
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        release();
      }
    });
  });

  app.get("/v1/responses/:id", (c) => {
    const r = ctx.store?.get(c.req.param("id"));
    if (r === undefined) throw notFound(c.req.param("id"));
    return c.json(r.response);
  });

  app.delete("/v1/responses/:id", (c) => {
    const id = c.req.param("id");
    if (ctx.store?.delete(id) !== true) throw notFound(id);
    return c.json({ id, object: "response", deleted: true });
  });

  app.get("/v1/responses/:id/input_items", (c) => {
    const r = ctx.store?.get(c.req.param("id"));
    if (r === undefined) throw notFound(c.req.param("id"));
    const order = c.req.query("order") ?? "desc";
    if (order !== "asc" && order !== "desc") throw new ApiError(400, 'order: must be "asc" or "desc"', "invalid_request_error", "order");
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiError(400, "limit: must be an integer from 1 to 100", "invalid_request_error", "limit");
    let items = order === "asc" ? [...r.input] : [...r.input].reverse();
    const after = c.req.query("after");
    if (after !== undefined) items = items.slice(items.findIndex((i) => i.id === after) + 1);
    const page = items.slice(0, limit);
    return c.json({ object: "list", data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: items.length > limit });
  });
}
