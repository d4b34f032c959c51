/**
 * Qwen3-Embedding: the final-normed hidden state of the last token (the tokenizer appends
 * `<|endoftext|>`, which is what the model was trained to pool on), cut to the first `dimensions`
 * values (Matryoshka) and L2-normalised. Queries carry an instruction, documents do not.
 */
import { EMBEDDING_END_TOKEN, embeddingQuery } from "../chat/retrieval.js";
import type { Model } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { lastRows, type OneShotOptions } from "./one-shot.js";

/** One input: text, or token ids used as given (no instruction, no end token added). */
export type EmbedInput = string | readonly number[];

/** Options of `embed`. */
export interface EmbedOptions extends OneShotOptions {
  /** A one-sentence task: text inputs become `Instruct: {task}\nQuery:{text}` (use it for queries only). */
  readonly instruction?: string;
  /** Keep the first `dimensions` values (Matryoshka), then normalise. Default: all `hidden_size`. */
  readonly dimensions?: number;
  /** L2-normalise (default true). */
  readonly normalize?: boolean;
}

/** Embeddings of a batch and the tokens they took. */
export interface EmbedResult {
  readonly embeddings: Float32Array[]; // each [dimensions]
  readonly promptTokens: number;
}

/**
 * The ids Qwen3-Embedding sees for `text`: the tokenizer's own special tokens (Qwen3-Embedding's
 * post-processor appends `<|endoftext|>`), and `<|endoftext|>` appended when the tokenizer did not.
 *
 * @example
 * embeddingIds(tokenizer, "hello"); // [14990, 151643]
 */
export function embeddingIds(tokenizer: Tokenizer, text: string, instruction?: string): number[] {
  const end = tokenizer.tokenToId(EMBEDDING_END_TOKEN);
  if (end === undefined) throw new QwenrtError("tokenizer", `has no ${EMBEDDING_END_TOKEN} token to pool on: not a Qwen3 tokenizer`);
  const ids = tokenizer.encode(instruction === undefined ? text : embeddingQuery(instruction, text), { addSpecialTokens: true });
  if (ids[ids.length - 1] !== end) ids.push(end);
  return ids;
}

/** Cut `hidden` to `dimensions` values and (by default) scale it to unit length. */
export function poolEmbedding(hidden: Float32Array, dimensions = hidden.length, normalize = true): Float32Array {
  const v = hidden.slice(0, dimensions);
  if (!normalize) return v;
  let ss = 0;
  for (const x of v) ss += x * x;
  const inv = 1 / Math.max(Math.sqrt(ss), 1e-12); // torch.nn.functional.normalize's eps
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}

/**
 * Embed `inputs` with a Qwen3-Embedding model, batched through the model.
 *
 * @example
 * const { embeddings } = await embed(model, tokenizer, ["What is the capital of China?"], { instruction: DEFAULT_RETRIEVAL_TASK });
 */
export async function embed(model: Model, tokenizer: Tokenizer, inputs: readonly EmbedInput[], opts: EmbedOptions = {}): Promise<EmbedResult> {
  const hidden = model.config.hiddenSize;
  const dims = opts.dimensions ?? hidden;
  if (!Number.isSafeInteger(dims) || dims < 1 || dims > hidden) throw new QwenrtError("dimensions", `must be an integer in [1, ${hidden}], got ${dims}`);
  const ids = inputs.map((x) => (typeof x === "string" ? embeddingIds(tokenizer, x, opts.instruction) : [...x]));
  const rows = await lastRows(model, ids, "hidden", opts);
  return {
    embeddings: rows.map((h) => poolEmbedding(h, dims, opts.normalize ?? true)),
    promptTokens: ids.reduce((a, x) => a + x.length, 0),
  };
}
