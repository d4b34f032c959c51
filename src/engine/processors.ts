/**
 * Logits processors, after mlx-lm's `make_logits_processors`: pure functions
 * `(logits, history) => logits` that return a new array when they change anything and never write
 * to their input (the model may own that buffer).
 */
import type { ResolvedSamplingParams } from "./sampler.js";

/** Largest finite float32: what a penalty or bias may push a logit to at most. */
const F32_MAX = 3.4028234663852886e38;

/**
 * A processed logit stored back into float32: results beyond float32's range saturate at ±F32_MAX, so
 * a penalty or bias never creates ±Infinity (a masked token is skipped by the callers and stays
 * -Infinity; a NaN from the model passes through for the sampler to report).
 */
function clampLogit(v: number): number {
  return v > F32_MAX ? F32_MAX : v < -F32_MAX ? -F32_MAX : v;
}

/** The tokens a processor may look at. */
export interface TokenHistory {
  readonly prompt: ArrayLike<number>;
  readonly generated: ArrayLike<number>;
}

/** `(logits, history) => logits`; returns `logits` itself when it has nothing to change. */
export type LogitsProcessor = (logits: Float32Array, history: TokenHistory) => Float32Array;

/**
 * OpenAI presence and frequency penalties over the generated tokens (not the prompt):
 * `logit[j] -= count[j] * frequency + (count[j] > 0 ? presence : 0)`.
 *
 * @example
 * presenceFrequencyPenalty(0.5, 0.1)(logits, { prompt: [], generated: [7, 7] }); // logit 7 lowered by 0.7
 */
export function presenceFrequencyPenalty(presence: number, frequency: number): LogitsProcessor {
  return (logits, history) => {
    const n = history.generated.length;
    if (n === 0 || (presence === 0 && frequency === 0)) return logits;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const id = history.generated[i]!;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const out = logits.slice();
    for (const [id, c] of counts) {
      if (id >= 0 && id < out.length && out[id] !== -Infinity) out[id] = clampLogit(out[id]! - clampLogit(c * frequency + presence));
    }
    return out;
  };
}

/**
 * Hugging Face repetition penalty over prompt and generated tokens: each token seen at least once
 * has a positive logit divided by `penalty` and a negative one multiplied by it.
 *
 * @example
 * repetitionPenalty(2)(new Float32Array([4, -4]), { prompt: [0, 1], generated: [] }); // [2, -8]
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (logits, history) => {
    if (penalty === 1 || history.prompt.length + history.generated.length === 0) return logits;
    const out = logits.slice();
    const seen = new Uint8Array(out.length);
    for (const list of [history.prompt, history.generated]) {
      for (let i = 0; i < list.length; i++) {
        const id = list[i]!;
        if (id < 0 || id >= out.length || seen[id] === 1) continue;
        seen[id] = 1;
        const v = out[id]!;
        if (v !== -Infinity) out[id] = clampLogit(v < 0 ? v * penalty : v / penalty);
      }
    }
    return out;
  };
}

/**
 * Add a fixed bias to listed token ids (OpenAI `logit_bias`; −100 effectively bans a token).
 *
 * @example
 * logitBias(new Map([[3, -100]]))(logits, history);
 */
export function logitBias(bias: ReadonlyMap<number, number>): LogitsProcessor {
  return (logits) => {
    if (bias.size === 0) return logits;
    const out = logits.slice();
    for (const [id, b] of bias) if (id >= 0 && id < out.length && out[id] !== -Infinity) out[id] = clampLogit(out[id]! + b);
    return out;
  };
}

/**
 * The processors a parameter set asks for, in application order: repetition penalty, presence and
 * frequency penalties, then logit bias last so that a ban (−100) or a boost is not rescaled by a
 * penalty. Empty when nothing is asked for.
 */
export function makeLogitsProcessors(p: ResolvedSamplingParams): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (p.repetitionPenalty !== 1) list.push(repetitionPenalty(p.repetitionPenalty));
  if (p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
    list.push(presenceFrequencyPenalty(p.presencePenalty, p.frequencyPenalty));
  }
  if (p.logitBias.size > 0) list.push(logitBias(p.logitBias));
  return list;
}

/** Run processors in order. */
export function applyLogitsProcessors(
  processors: readonly LogitsProcessor[],
  logits: Float32Array,
  history: TokenHistory,
): Float32Array {
  let out = logits;
  for (const proc of processors) out = proc(out, history);
  return out;
}
