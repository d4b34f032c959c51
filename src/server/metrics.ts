/** `/metrics` in the Prometheus text format (counters and gauges of the runtime and the engine loop). */
import { guardMetrics } from "./guardrail.js";
import type { Runtime } from "./runtime.js";

function line(name: string, help: string, type: "counter" | "gauge", samples: [string, number][]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.map(([labels, v]) => `${name}${labels} ${v}`).join("\n")}\n`;
}

/** Render every metric of `rt`. */
export function renderMetrics(rt: Runtime): string {
  const c = rt.counters;
  const s = rt.engine.stats;
  const requests: [string, number][] = [...c.requests].map(([key, v]) => {
    const [endpoint, status] = key.split(" ");
    return [`{endpoint="${endpoint}",status="${status}"}`, v];
  });
  return [
    line("qwenrt_requests_total", "HTTP requests by endpoint and status.", "counter", requests.length > 0 ? requests : [["", 0]]),
    line("qwenrt_requests_running", "Sequences admitted and running now (n and prompts × n count each).", "gauge", [["", rt.runningCount]]),
    line("qwenrt_requests_waiting", "Requests queued for a slot.", "gauge", [["", rt.waitingCount]]),
    line("qwenrt_requests_aborted_total", "Generations cancelled before they finished (client gone).", "counter", [["", c.aborted]]),
    line("qwenrt_prompt_tokens_total", "Prompt tokens of finished generations.", "counter", [["", c.promptTokens]]),
    line("qwenrt_prompt_tokens_cached_total", "Prompt tokens served from the prefix cache.", "counter", [["", c.cachedPromptTokens]]),
    line("qwenrt_generation_tokens_total", "Generated tokens.", "counter", [["", c.completionTokens]]),
    line("qwenrt_prefix_cache_tokens", "Tokens held by the prefix cache.", "gauge", [["", rt.prefixCache.size]]),
    line("qwenrt_engine_steps_total", "Model forward steps.", "counter", [["", s.steps]]),
    line("qwenrt_engine_step_tokens_total", "Tokens processed by forward steps.", "counter", [["", s.tokens]]),
    line("qwenrt_engine_step_segments_total", "Sequences carried by forward steps (batching: > steps).", "counter", [["", s.segments]]),
    line("qwenrt_engine_max_batch", "Most sequences merged into one step.", "gauge", [["", s.maxBatch]]),
    line("qwenrt_engine_busy_seconds_total", "Time spent in model forward.", "counter", [["", s.busyMs / 1000]]),
    rt.opts.guard === undefined ? "" : guardMetrics(rt.opts.guard),
  ].join("");
}
