/**
 * The input formats of Qwen3-Embedding and Qwen3-Reranker, exactly as their model cards write
 * them (text codecs only; the engine tokenizes and scores).
 */

/** The task the model cards use when none is given. */
export const DEFAULT_RETRIEVAL_TASK = "Given a web search query, retrieve relevant passages that answer the query";

/**
 * A Qwen3-Embedding query: `Instruct: {task}\nQuery:{query}` (no space after `Query:`, as the
 * card's `get_detailed_instruct`). Documents are embedded as they are, without an instruction.
 *
 * @example
 * embeddingQuery("Given a web search query, retrieve relevant passages that answer the query", "capital of China?");
 */
export function embeddingQuery(task: string, query: string): string {
  return `Instruct: ${task}\nQuery:${query}`;
}

/** The special token Qwen3-Embedding pools on: its tokenizer appends it to every input. */
export const EMBEDDING_END_TOKEN = "<|endoftext|>";

/** The system turn and the assistant header (thinking closed) around a reranker pair. */
export const RERANKER_PREFIX =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n';
export const RERANKER_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

/** The tokens whose next-token logits give the relevance: P(yes) against P(no). */
export const RERANKER_YES = "yes";
export const RERANKER_NO = "no";

/**
 * The user turn of one reranker pair (the card's `format_instruction`); the prompt is
 * `RERANKER_PREFIX + rerankerPair(...) + RERANKER_SUFFIX`, each part tokenized on its own.
 *
 * @example
 * rerankerPair(undefined, "What is the capital of China?", "The capital of China is Beijing.");
 */
export function rerankerPair(instruction: string | undefined, query: string, document: string): string {
  return `<Instruct>: ${instruction ?? DEFAULT_RETRIEVAL_TASK}\n<Query>: ${query}\n<Document>: ${document}`;
}
