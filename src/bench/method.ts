/**
 * The benchmark method (STYLE rule 14, after mlx-lm `benchmark.py` and gpt-fast): seeded random
 * prompt ids, a warm-up, N trials, medians. What one engine run is asked to do and reports back.
 */
import { createRng, deriveSeed } from "../engine/rng.js";

/** Which engine a child process measures, and how. */
export type EngineJob =
  | {
      readonly engine: "qwenrt";
      readonly model: string; // model directory or .gguf file
      readonly backend: "ref" | "wasm" | "webgpu";
      readonly dtype?: "q8_0" | "q4_0" | "q4_k";
      readonly kv?: "f16" | "f32"; // KV cache type (wasm, webgpu; default f16)
      readonly threads: number;
      readonly shape: TrialShape;
    }
  | {
      readonly engine: "llama.cpp";
      readonly model: string; // .gguf file
      readonly type: string; // the GGUF's weight type, for the report
      readonly weightBytesPerToken: number; // from the GGUF's tensor table, read by the parent
      readonly threads: number;
      /** node-llama-cpp's GPU choice (default false: the CPU build); "auto" takes CUDA, Vulkan or Metal. */
      readonly gpu?: false | "auto" | "cuda" | "vulkan";
      readonly shape: TrialShape;
    };

/** Sizes and repetitions shared by both engines. */
export interface TrialShape {
  readonly pp: number; // prompt tokens
  readonly tg: number; // generated tokens after the first
  readonly trials: number;
  readonly seed: number;
  readonly vocab: number; // prompt ids are drawn from [0, vocab)
}

/** One timed trial: prefill of `pp` tokens to the first token, then `tg` greedy decode steps. */
export interface Trial {
  readonly ttftSeconds: number; // prompt in → first token chosen
  readonly decodeSeconds: number; // the `tg` steps after it
}

/** What a child process sends back. */
export type EngineReply =
  | {
      readonly kind: "result";
      readonly engine: "qwenrt" | "llama.cpp";
      readonly detail: string; // e.g. "wasm-relaxed, 2 threads" or "llama.cpp cpu, 2 threads"
      readonly type: string; // weight type as run
      readonly loadSeconds: number;
      readonly trials: readonly Trial[];
      readonly weightBytesPerToken: number; // weight bytes one decode step reads
      readonly peakRssBytes: number;
    }
  | { readonly kind: "error"; readonly message: string };

/** A child's successful reply: one engine's measurements. */
export type EngineResult = Extract<EngineReply, { kind: "result" }>;

/**
 * Seeded random prompt ids, different per trial (the warm-up is trial "warmup") so no engine can
 * reuse a cached prefix.
 *
 * @example
 * promptIds(0, 1, 512, 151936); // Int32Array(512), same on every run
 */
export function promptIds(seed: number, trial: number | "warmup", length: number, vocab: number): Int32Array {
  const rng = createRng(deriveSeed(seed, `bench prompt ${trial}`), "--seed");
  const ids = new Int32Array(length);
  for (let i = 0; i < length; i++) ids[i] = rng.nextU32() % vocab;
  return ids;
}

/** The median (mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median rates of a set of trials. */
export interface TrialSummary {
  readonly ppTokensPerSecond: number; // pp / TTFT, as mlx-lm's prompt tok/s
  readonly tgTokensPerSecond: number;
  readonly ttftSeconds: number;
}

/** Medians over trials: prefill tok/s = pp / TTFT, decode tok/s = tg / decode time. */
export function summarize(trials: readonly Trial[], pp: number, tg: number): TrialSummary {
  return {
    ppTokensPerSecond: median(trials.map((t) => pp / t.ttftSeconds)),
    tgTokensPerSecond: median(trials.map((t) => tg / t.decodeSeconds)),
    ttftSeconds: median(trials.map((t) => t.ttftSeconds)),
  };
}

/** Peak resident set size of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Warm-up sizes: enough to touch every code path (batched prefill, decode) without doubling the run. */
export function warmupShape(shape: TrialShape): { pp: number; tg: number } {
  return { pp: Math.min(shape.pp, 64), tg: Math.min(shape.tg, 8) };
}
