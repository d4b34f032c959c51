/**
 * One log line per request, written when its response has been sent (a stream's last byte, or the
 * client going away): method, path, status, time, and for generation requests the prompt and
 * completion tokens and tok/s. Token counts reach the line through an AsyncLocalStorage the
 * Runtime adds to, so handlers stay unaware of logging. `text` for people, `json` for machines.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** How log lines are written. */
export type LogFormat = "text" | "json";

interface RequestTokens {
  prompt: number;
  completion: number;
}

const current = new AsyncLocalStorage<RequestTokens>();

/** Count tokens toward the request being served (no-op outside a logged request). */
export function noteTokens(prompt: number, completion: number): void {
  const r = current.getStore();
  if (r === undefined) return;
  r.prompt += prompt;
  r.completion += completion;
}

/** One finished request. */
export interface RequestRecord {
  readonly time: Date;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly prompt: number;
  readonly completion: number;
  /** The client went away before the response was complete. */
  readonly aborted: boolean;
}

/**
 * A record as a log line (no trailing newline).
 *
 * @example
 * formatRequest(r, "text"); // "2025-06-01T12:00:00.000Z POST /v1/chat/completions 200 1.52s prompt=25 completion=64 42.1 tok/s"
 */
export function formatRequest(r: RequestRecord, format: LogFormat): string {
  const tps = r.completion > 0 && r.ms > 0 ? Math.round((r.completion * 10000) / r.ms) / 10 : undefined;
  if (format === "json") {
    return JSON.stringify({
      time: r.time.toISOString(),
      method: r.method,
      path: r.path,
      status: r.status,
      duration_ms: Math.round(r.ms),
      prompt_tokens: r.prompt,
      completion_tokens: r.completion,
      tokens_per_second: tps ?? null,
      ...(r.aborted ? { aborted: true } : {}),
    });
  }
  const tokens = r.prompt + r.completion > 0 ? ` prompt=${r.prompt} completion=${r.completion}${tps === undefined ? "" : ` ${tps} tok/s`}` : "";
  return `${r.time.toISOString()} ${r.method} ${r.path} ${r.status} ${(r.ms / 1000).toFixed(2)}s${tokens}${r.aborted ? " (client went away)" : ""}`;
}

/** Paths polled by monitors and `qwenrt ps`: not logged. */
const QUIET = new Set(["/health", "/status", "/metrics"]);

/**
 * Wrap a fetch handler so each request produces one record when its response is done.
 *
 * @example
 * serve({ fetch: withRequestLog(app.fetch, (r) => process.stderr.write(`${formatRequest(r, "json")}\n`)) });
 */
export function withRequestLog(
  fetch: (req: Request) => Response | Promise<Response>,
  onRecord: (r: RequestRecord) => void,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const path = new URL(req.url).pathname;
    if (QUIET.has(path)) return fetch(req);
    const tokens: RequestTokens = { prompt: 0, completion: 0 };
    const time = new Date();
    const t0 = performance.now();
    let logged = false;
    const done = (status: number, aborted: boolean): void => {
      if (logged) return;
      logged = true;
      onRecord({ time, method: req.method, path, status, ms: performance.now() - t0, ...tokens, aborted });
    };
    const res = await current.run(tokens, () => fetch(req));
    if (res.body === null) {
      done(res.status, false);
      return res;
    }
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done: end, value } = await reader.read();
        if (end) {
          controller.close();
          done(res.status, false);
        } else controller.enqueue(value);
      },
      async cancel(reason) {
        done(res.status, true);
        await reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
