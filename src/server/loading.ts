/**
 * The server while its model loads: the port is open from the start (a busy port fails at once, not
 * after minutes of loading), `/status` says how far loading got, and everything else answers
 * 503 with a Retry-After estimate and an OpenAI-format error, as clients' retry logic expects.
 */
import { Hono } from "hono";

/** How far the load is; `serve` updates it as the loader reports progress. */
export interface LoadingState {
  /** The model argument being loaded (its final id is known once it is). */
  readonly model: string;
  /** Fraction done (0..1) when the loader reports it. */
  progress: number | undefined;
  /** `Date.now()` when loading began. */
  readonly startedAt: number;
}

/** Seconds a client should wait: the remaining time at the rate so far, 1–60 s, else 5 s. */
export function retryAfterSeconds(state: LoadingState, now = Date.now()): number {
  const p = state.progress;
  if (p === undefined || p <= 0) return 5;
  const remaining = ((now - state.startedAt) / 1000) * ((1 - p) / p);
  return Math.min(60, Math.max(1, Math.ceil(remaining)));
}

/**
 * The app that answers until the model is ready.
 *
 * @example
 * const state = { model: "Qwen/Qwen3-0.6B", progress: undefined, startedAt: Date.now() };
 * serve({ fetch: loadingApp(state).fetch, port: 8000 });
 */
export function loadingApp(state: LoadingState): Hono {
  const app = new Hono();
  const progress = (): number | null => (state.progress === undefined ? null : Math.round(state.progress * 1000) / 1000);
  app.get("/status", (c) =>
    c.json({ state: "loading", model: state.model, progress: progress(), uptime_s: Math.round((Date.now() - state.startedAt) / 1000) }),
  );
  app.all("*", (c) => {
    const pct = state.progress === undefined ? "" : ` (${Math.floor(state.progress * 100)}%)`;
    const headers = { "retry-after": String(retryAfterSeconds(state)) };
    if (new URL(c.req.url).pathname === "/health") return c.json({ status: "loading", progress: progress() }, 503, headers);
    const error = { message: `the model ${state.model} is still loading${pct}; retry shortly`, type: "server_error", param: null, code: "model_loading" };
    return c.json({ error }, 503, headers);
  });
  return app;
}
