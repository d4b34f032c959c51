/**
 * Token sampling, after mlx-lm's `make_sampler`: validate the parameters once where a request enters,
 * then `makeSampler(params)` returns a pure `(logits, rng) => tokenId`. Penalties and logit bias are
 * separate logits processors (`processors.ts`); log-probabilities are in `logprobs.ts`.
 *
 * Order of the warpers is Hugging Face's and vLLM's: temperature, top-k, top-p, min-p. Nothing sorts
 * the whole 151,936-entry vocabulary unless top-p alone has to reach that far down the distribution:
 * top-k is a bounded heap, and top-p/min-p first collect the tokens above a threshold.
 */
import { QwenrtError } from "../util/errors.js";
import type { Rng } from "./rng.js";

/** Sampling parameters (camelCase; the server maps the OpenAI snake_case names onto these). */
export interface SamplingParams {
  /** 0 = greedy (argmax). */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of most likely tokens whose mass reaches `topP`; 1 = off. */
  topP?: number;
  /** Keep the `topK` most likely tokens (ties at the boundary kept, as Hugging Face); 0 or -1 = off. */
  topK?: number;
  /** Drop tokens whose probability is below `minP` × the top token's; 0 = off. */
  minP?: number;
  /** OpenAI presence penalty over generated tokens. */
  presencePenalty?: number;
  /** OpenAI frequency penalty over generated tokens. */
  frequencyPenalty?: number;
  /** Hugging Face repetition penalty over prompt + generated tokens; 1 = off. */
  repetitionPenalty?: number;
  /** Added to the logit of each listed token id (OpenAI `logit_bias`). */
  logitBias?: ReadonlyMap<number, number>;
}

/** Parameters after validation: every field present, "off" normalised (`topK` -1 → 0). */
export interface ResolvedSamplingParams {
  readonly temperature: number;
  readonly topP: number;
  readonly topK: number;
  readonly minP: number;
  readonly presencePenalty: number;
  readonly frequencyPenalty: number;
  readonly repetitionPenalty: number;
  readonly logitBias: ReadonlyMap<number, number>;
}

/** `(logits, rng) => tokenId`; `logits` is one row of the vocabulary. */
export type Sampler = (logits: Float32Array, rng: Rng) => number;

const snakeNames: Record<keyof SamplingParams, string> = {
  temperature: "temperature",
  topP: "top_p",
  topK: "top_k",
  minP: "min_p",
  presencePenalty: "presence_penalty",
  frequencyPenalty: "frequency_penalty",
  repetitionPenalty: "repetition_penalty",
  logitBias: "logit_bias",
};

/**
 * Check sampling parameters and fill the defaults (greedy-neutral: temperature 1, no filters, no
 * penalties). Errors name the parameter — OpenAI's snake_case name unless `nameOf` says otherwise
 * (the CLI passes its flag names).
 *
 * @example
 * const p = validateSamplingParams({ temperature: 0.6, topP: 0.95, topK: 20 });
 * validateSamplingParams({ topP: 0 }); // throws QwenrtError "top_p: must be in (0, 1], got 0"
 */
export function validateSamplingParams(
  params: SamplingParams,
  opts: { nameOf?: (key: keyof SamplingParams) => string; vocabSize?: number } = {},
): ResolvedSamplingParams {
  const name = opts.nameOf ?? ((k: keyof SamplingParams) => snakeNames[k]);
  const fail = (k: keyof SamplingParams, msg: string): never => {
    throw new QwenrtError(name(k), msg, { code: "invalid_request" });
  };
  const num = (k: keyof SamplingParams, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v)) fail(k, `must be a finite number, got ${String(v)}`);
    return v;
  };
  const temperature = num("temperature", params.temperature, 1);
  if (temperature < 0) fail("temperature", `must be >= 0, got ${temperature}`);
  const topP = num("topP", params.topP, 1);
  if (!(topP > 0 && topP <= 1)) fail("topP", `must be in (0, 1], got ${topP}`);
  let topK = num("topK", params.topK, 0);
  if (!Number.isInteger(topK) || topK < -1) fail("topK", `must be an integer >= 0 (0 or -1 = off), got ${topK}`);
  if (topK === -1) topK = 0;
  const minP = num("minP", params.minP, 0);
  if (!(minP >= 0 && minP <= 1)) fail("minP", `must be in [0, 1], got ${minP}`);
  const presencePenalty = num("presencePenalty", params.presencePenalty, 0);
  const frequencyPenalty = num("frequencyPenalty", params.frequencyPenalty, 0);
  const repetitionPenalty = num("repetitionPenalty", params.repetitionPenalty, 1);
  if (repetitionPenalty <= 0) fail("repetitionPenalty", `must be > 0, got ${repetitionPenalty}`);
  const logitBias = new Map<number, number>();
  for (const [id, bias] of params.logitBias ?? []) {
    const inRange = opts.vocabSize === undefined || id < opts.vocabSize;
    if (!Number.isInteger(id) || id < 0 || !inRange) {
      fail("logitBias", `token id must be an integer in [0, ${opts.vocabSize ?? "vocab"}), got ${id}`);
    }
    if (typeof bias !== "number" || !Number.isFinite(bias)) fail("logitBias", `bias for token ${id} must be finite, got ${bias}`);
    logitBias.set(id, bias);
  }
  return Object.freeze({ temperature, topP, topK, minP, presencePenalty, frequencyPenalty, repetitionPenalty, logitBias });
}

/** Index of the largest logit; the lowest index wins a tie (as `torch.argmax`). NaN entries are skipped. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** The range of a logits row's drawable values: `max` is finite and `min` is the lowest finite value. */
interface LogitRange {
  readonly max: number;
  readonly min: number;
}

/**
 * Check a logits row before sampling: NaN or +Infinity can only come from a faulty model (the logits
 * processors clamp what they write), and a row masked to -Infinity everywhere leaves nothing to
 * draw. Both are errors of the server, not of the request (codes `model_fault`, `no_candidates`).
 */
export function checkedLogitRange(logits: Float32Array): LogitRange {
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > max) max = v;
    if (v < min && v !== -Infinity) min = v;
    if (Number.isNaN(v) || v === Infinity) {
      throw new QwenrtError("logits", `the model produced ${v} at token ${i} (a model fault: corrupt or overflowing weights)`, { code: "model_fault" });
    }
  }
  if (max === -Infinity) throw new QwenrtError("logits", "every token is masked: nothing to sample from", { code: "no_candidates" });
  return { max, min };
}

/** `1 / temperature` when it is finite: a temperature so small that its inverse overflows samples greedily. */
function inverseTemperature(temperature: number): number | undefined {
  const invT = 1 / temperature;
  return temperature > 0 && Number.isFinite(invT) ? invT : undefined;
}

/** The `k`-th largest value of `values` (k ≥ 1, k ≤ length) with a size-k min-heap: O(n log k). */
export function kthLargest(values: Float32Array, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (size < k) {
      let j = size++;
      heap[j] = v;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (heap[p]! <= heap[j]!) break;
        const t = heap[p]!;
        heap[p] = heap[j]!;
        heap[j] = t;
        j = p;
      }
    } else if (v > heap[0]!) {
      heap[0] = v;
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        const r = l + 1;
        let m = j;
        if (l < k && heap[l]! < heap[m]!) m = l;
        if (r < k && heap[r]! < heap[m]!) m = r;
        if (m === j) break;
        const t = heap[m]!;
        heap[m] = heap[j]!;
        heap[j] = t;
        j = m;
      }
    }
  }
  return heap[0]!;
}

/** The tokens a sampler can draw and their probabilities, most likely first (ties: lower id first). */
export interface Candidates {
  readonly ids: Int32Array;
  readonly probs: Float64Array; // sums to 1
}

/** Ids with `logits[id] >= threshold`, sorted by logit descending then id ascending. */
function idsAtLeast(logits: Float32Array, threshold: number): Int32Array {
  let n = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i]! >= threshold) n++;
  const ids = new Int32Array(n);
  n = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i]! >= threshold) ids[n++] = i;
  return n > 4096 ? radixSortDesc(ids, logits) : ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
}

/**
 * Stable LSD radix sort (two 16-bit passes) of ascending `ids` by `logits[id]` descending: the same
 * order as the comparator sort (ties keep ascending ids), in O(n) for pools too large to sort fast.
 */
function radixSortDesc(ids: Int32Array, logits: Float32Array): Int32Array {
  const n = ids.length;
  const bits = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let b = bits[ids[i]!]!;
    if (b === 0x80000000) b = 0; // -0 sorts as +0, as the comparator sees them
    const ascending = b & 0x80000000 ? ~b : b | 0x80000000; // float order as unsigned order
    keys[i] = ~ascending >>> 0; // descending
  }
  let src: Int32Array = ids;
  let srcKeys: Uint32Array = keys;
  let dst: Int32Array = new Int32Array(n);
  let dstKeys: Uint32Array = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(srcKeys[i]! >>> shift) & 0xffff]!++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[(srcKeys[i]! >>> shift) & 0xffff]!++;
      dst[at] = src[i]!;
      dstKeys[at] = srcKeys[i]!;
    }
    [src, dst] = [dst, src];
    [srcKeys, dstKeys] = [dstKeys, srcKeys];
  }
  return src;
}

/**
 * The distribution `makeSampler` draws from for a non-zero temperature: temperature, then top-k, top-p
 * and min-p, renormalised. Exposed so tests and tools can see exactly which tokens survive.
 *
 * @example
 * samplingCandidates(new Float32Array([2, 1, 0]), validateSamplingParams({ topK: 2 })).ids; // Int32Array [0, 1]
 */
export function samplingCandidates(logits: Float32Array, p: ResolvedSamplingParams): Candidates {
  if (!(p.temperature > 0)) throw new QwenrtError("temperature", "samplingCandidates needs temperature > 0");
  const { max: maxL, min: minL } = checkedLogitRange(logits);
  const invT = inverseTemperature(p.temperature);
  if (invT === undefined) return { ids: Int32Array.of(argmax(logits)), probs: Float64Array.of(1) };
  const vocab = logits.length;

  // Pool = what top-k leaves (all tokens without top-k); z = the softmax normaliser over the pool.
  let pool: Int32Array | undefined;
  if (p.topK > 0 && p.topK < vocab) pool = idsAtLeast(logits, kthLargest(logits, p.topK));
  let z = 0;
  if (pool !== undefined) for (const id of pool) z += Math.exp((logits[id]! - maxL) * invT);
  else for (let i = 0; i < vocab; i++) z += Math.exp((logits[i]! - maxL) * invT);

  if (pool === undefined) {
    // The kept set is a prefix of the sorted order: find a logit threshold whose prefix already holds
    // the top-p mass (and everything min-p keeps), then sort only that prefix. The depth doubles from
    // a positive start until the threshold passes the lowest finite logit, so the search ends.
    const minPDepth = p.minP > 0 ? -Math.log(p.minP) / invT : Infinity; // min-p keeps logits ≥ maxL − depth
    if (p.topP >= 1 && minPDepth === Infinity) {
      pool = idsAtLeast(logits, -Infinity);
    } else {
      for (let depth = Math.max(8 / invT, Number.MIN_VALUE); ; depth *= 2) {
        const threshold = maxL - Math.min(depth, minPDepth);
        let mass = 0;
        for (let i = 0; i < vocab; i++) {
          const v = logits[i]!;
          if (v >= threshold) mass += Math.exp((v - maxL) * invT);
        }
        if (mass >= p.topP * z || depth >= minPDepth || !(threshold > minL)) {
          pool = idsAtLeast(logits, threshold);
          break;
        }
      }
    }
  }

  // Top-p: keep a token while the mass before it is < topP. Min-p: keep prob ≥ minP × top prob.
  let kept = 0;
  let cum = 0;
  for (const id of pool) {
    if (kept > 0 && cum >= p.topP) break;
    const rel = Math.exp((logits[id]! - maxL) * invT); // prob / top prob
    if (kept > 0 && rel < p.minP) break;
    cum += rel / z;
    kept++;
  }
  const ids = pool.slice(0, kept);
  const probs = new Float64Array(kept);
  let sum = 0;
  for (let i = 0; i < kept; i++) sum += probs[i] = Math.exp((logits[ids[i]!]! - maxL) * invT);
  for (let i = 0; i < kept; i++) probs[i] = probs[i]! / sum;
  return { ids, probs };
}

/**
 * A sampler for fixed, validated parameters: argmax at temperature 0 (or one whose inverse overflows),
 * otherwise one draw from `samplingCandidates`. With no filters at all it draws from the full softmax in two linear passes.
 *
 * @example
 * const sample = makeSampler(validateSamplingParams({ temperature: 0.7, topP: 0.9 }));
 * const id = sample(logits, createRng(1));
 */
export function makeSampler(params: ResolvedSamplingParams): Sampler {
  const invT = inverseTemperature(params.temperature);
  if (invT === undefined) {
    return (logits) => {
      checkedLogitRange(logits);
      return argmax(logits);
    };
  }
  const unfiltered = params.topK === 0 && params.topP >= 1 && params.minP === 0;
  if (unfiltered) {
    let weights = new Float64Array(0); // scratch, reused across calls (no observable state)
    return (logits, rng) => {
      const maxL = checkedLogitRange(logits).max;
      if (weights.length < logits.length) weights = new Float64Array(logits.length);
      let z = 0;
      for (let i = 0; i < logits.length; i++) z += weights[i] = Math.exp((logits[i]! - maxL) * invT);
      const target = rng.float() * z;
      let cum = 0;
      let last = 0;
      for (let i = 0; i < logits.length; i++) {
        const w = weights[i]!;
        if (w === 0) continue;
        cum += w;
        last = i;
        if (target < cum) return i;
      }
      return last; // rounding left target ≥ cum: the last token with weight
    };
  }
  return (logits, rng) => drawFrom(samplingCandidates(logits, params), rng.float());
}

/** Pick from candidates with a uniform `u` in [0, 1). */
export function drawFrom(c: Candidates, u: number): number {
  let cum = 0;
  for (let i = 0; i < c.ids.length; i++) {
    cum += c.probs[i]!;
    if (u < cum) return c.ids[i]!;
  }
  return c.ids[c.ids.length - 1]!;
}
