/**
 * Scoring passes that read one row per input and keep no cache (embeddings, reranking, guard
 * verdicts): every input gets a fresh sequence, inputs share forward steps up to a token budget,
 * and the sequences go back to the backend afterwards.
 */
import type { Model } from "../models/model.js";
import { QwenrtError } from "../util/errors.js";

/** Options of `lastRows`. */
export interface OneShotOptions {
  /** Most tokens in one forward step (several short inputs share it; a longer one runs alone, chunked). Default 2048. */
  readonly maxBatchTokens?: number;
  /** Checked between steps: a fired signal throws its reason. */
  readonly signal?: AbortSignal;
  /** Name used in errors for the inputs (`input`, `documents`). */
  readonly param?: string;
}

/** Default tokens per forward step of a scoring pass. */
export const DEFAULT_ONE_SHOT_TOKENS = 2048;

/**
 * The last row of each input after a forward pass: final-normed hidden states (`[hidden]`) or
 * logits (`[vocab]`). Inputs are grouped in order into steps of at most `maxBatchTokens` tokens.
 *
 * @example
 * const [h] = await lastRows(model, [[9707, 151643]], "hidden"); // Float32Array(hiddenSize)
 */
export async function lastRows(model: Model, inputs: readonly (readonly number[])[], output: "hidden" | "logits", opts: OneShotOptions = {}): Promise<Float32Array[]> {
  const budget = opts.maxBatchTokens ?? DEFAULT_ONE_SHOT_TOKENS;
  const param = opts.param ?? "input";
  if (!Number.isSafeInteger(budget) || budget < 1) throw new QwenrtError("maxBatchTokens", `must be a positive integer, got ${budget}`);
  const limit = model.contextLength;
  inputs.forEach((ids, i) => {
    if (ids.length === 0) throw new QwenrtError(`${param}[${i}]`, "has no tokens");
    if (ids.length > limit) throw new QwenrtError(`${param}[${i}]`, `has ${ids.length} tokens, more than the model's ${limit} positions`, { code: "context_length_exceeded" });
  });
  const out: Float32Array[] = [];
  let from = 0;
  while (from < inputs.length) {
    let to = from + 1;
    let tokens = inputs[from]!.length;
    while (to < inputs.length && tokens + inputs[to]!.length <= budget) tokens += inputs[to++]!.length;
    opts.signal?.throwIfAborted();
    const segments = inputs.slice(from, to).map((ids) => ({ seq: model.newSequence(ids.length), ids: Int32Array.from(ids) }));
    try {
      out.push(...(await model.forwardAsync(segments, { logits: "last", output, maxChunk: Math.min(budget, 512) })));
    } finally {
      for (const s of segments) model.release(s.seq);
    }
    from = to;
  }
  return out;
}
