/**
 * `GET /status`: what a running server has loaded and how it is doing — what `qwenrt ps` shows.
 */
import { weightMemoryOf } from "../models/load_info.js";
import type { Runtime } from "./runtime.js";

/**
 * The status body of a ready server.
 *
 * @example
 * serverStatus(rt); // { state: "ready", model: "Qwen/Qwen3-0.6B", backend: "wasm", weights_bytes: 639000000, … }
 */
export function serverStatus(rt: Runtime, now = Date.now()): Record<string, unknown> {
  const m = rt.model;
  const mem = weightMemoryOf(m);
  let requests = 0;
  for (const n of rt.counters.requests.values()) requests += n;
  return {
    state: "ready",
    model: rt.opts.modelId,
    backend: m.backend.name,
    threads: m.backend.threads,
    weights_bytes: mem?.bytes ?? null,
    kv_bytes_per_token: m.kvBytesPerToken,
    rss_bytes: process.memoryUsage().rss,
    context_length: rt.contextLength,
    loaded_at: new Date(rt.created * 1000).toISOString(),
    uptime_s: Math.max(0, Math.round(now / 1000 - rt.created)),
    running: rt.runningCount,
    waiting: rt.waitingCount,
    requests,
    prompt_tokens: rt.counters.promptTokens,
    completion_tokens: rt.counters.completionTokens,
  };
}
