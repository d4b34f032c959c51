/**
 * Qwen3-Reranker: each (query, document) pair is wrapped in the model card's judging prompt and
 * the relevance is P("yes") against P("no") at the next token, `sigmoid(logit_yes - logit_no)`
 * (the card's `log_softmax([no, yes])[1].exp()`). One forward per pair, batched.
 */
import { RERANKER_NO, RERANKER_PREFIX, RERANKER_SUFFIX, RERANKER_YES, rerankerPair } from "../chat/retrieval.js";
import type { Model } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { lastRows, type OneShotOptions } from "./one-shot.js";

/** Options of `rerank`. */
export interface RerankOptions extends OneShotOptions {
  /** The task; default: the card's web-search instruction. */
  readonly instruction?: string;
}

/** Relevance per document, in the order given, and the tokens the pass took. */
export interface RerankResult {
  readonly scores: number[]; // each in [0, 1]
  readonly promptTokens: number;
}

/**
 * The ids of one pair's prompt: prefix, pair and suffix tokenized apart and joined, as the card does.
 *
 * @example
 * rerankerIds(tokenizer, undefined, "capital of China?", "Beijing is the capital of China.");
 */
export function rerankerIds(tokenizer: Tokenizer, instruction: string | undefined, query: string, document: string): number[] {
  const enc = (s: string): number[] => tokenizer.encode(s, { addSpecialTokens: false });
  return [...enc(RERANKER_PREFIX), ...enc(rerankerPair(instruction, query, document)), ...enc(RERANKER_SUFFIX)];
}

/** The ids of the "yes" and "no" tokens. */
export function rerankerLabelIds(tokenizer: Tokenizer): { yes: number; no: number } {
  const yes = tokenizer.tokenToId(RERANKER_YES);
  const no = tokenizer.tokenToId(RERANKER_NO);
  if (yes === undefined || no === undefined) throw new QwenrtError("tokenizer", `has no "${RERANKER_YES}"/"${RERANKER_NO}" tokens: not a Qwen3 tokenizer`);
  return { yes, no };
}

/** `exp(log_softmax([no, yes])[1])` in float64. */
export function yesProbability(logitYes: number, logitNo: number): number {
  return 1 / (1 + Math.exp(logitNo - logitYes));
}

/**
 * Score each document's relevance to `query` with a Qwen3-Reranker model.
 *
 * @example
 * const { scores } = await rerank(model, tokenizer, "capital of China?", ["Beijing is...", "Gravity is..."]);
 */
export async function rerank(model: Model, tokenizer: Tokenizer, query: string, documents: readonly string[], opts: RerankOptions = {}): Promise<RerankResult> {
  const { yes, no } = rerankerLabelIds(tokenizer);
  const ids = documents.map((d) => rerankerIds(tokenizer, opts.instruction, query, d));
  const rows = await lastRows(model, ids, "logits", { param: "documents", ...opts });
  return { scores: rows.map((r) => yesProbability(r[yes]!, r[no]!)), promptTokens: ids.reduce((a, x) => a + x.length, 0) };
}
