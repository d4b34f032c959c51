/**
 * A plain, typed description of a byte-level BPE tokenizer. `tokenizer.json` is parsed into this
 * (see `load.ts`), and other sources (GGUF metadata) can build one directly, so every source ends in
 * the same `Tokenizer`.
 */

/** A token matched in raw text before BPE (`<|im_start|>`, `<think>`, …). */
export interface AddedTokenSpec {
  readonly id: number;
  readonly content: string;
  /** Special tokens are dropped by `decode(ids, { skipSpecialTokens: true })`. */
  readonly special: boolean;
  /** Swallow whitespace on the left of a match. */
  readonly lstrip: boolean;
  /** Swallow whitespace on the right of a match. */
  readonly rstrip: boolean;
  /** Only match when not surrounded by word characters. */
  readonly singleWord: boolean;
  /** Match against normalized text (true) or the raw input (false). */
  readonly normalized: boolean;
}

/** Normalizers applied in order to text outside added tokens. */
export type NormalizerStep = "NFC" | "NFD" | "NFKC" | "NFKD" | "Lowercase";

/** How a split step treats the pieces its pattern matches (Hugging Face `SplitDelimiterBehavior`). */
export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous";

/** One pre-tokenizer step. A byte-level tokenizer's last step is always `byteLevel`. */
export type PreTokenizerStep =
  | {
      readonly kind: "split";
      /** `regex` is in Oniguruma syntax, as `tokenizer.json` stores it; `literal` matches a plain string. */
      readonly pattern: { readonly regex: string } | { readonly literal: string };
      readonly behavior: SplitBehavior;
      readonly invert: boolean;
    }
  | {
      readonly kind: "byteLevel";
      /** Prepend a space to each piece that does not start with one. */
      readonly addPrefixSpace: boolean;
      /** Split with the GPT-2 regex before byte-mapping. */
      readonly useRegex: boolean;
    };

/** Everything needed to build a `Tokenizer`. */
export interface TokenizerSpec {
  /** Byte-level token string → id (the BPE model's vocabulary, not the added tokens). */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge rules, highest priority first; each part and their concatenation must be in `vocab`. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  /** Skip merging when a whole pre-token is already in the vocabulary (`ignore_merges`). */
  readonly ignoreMerges: boolean;
  /** Id used for bytes missing from the vocabulary; when absent they are dropped (as `tokenizers` does). */
  readonly unkId?: number;
  readonly addedTokens: readonly AddedTokenSpec[];
  readonly normalizer: readonly NormalizerStep[];
  readonly preTokenizer: readonly PreTokenizerStep[];
  /** Ids put around the sequence when `addSpecialTokens` is true (template post-processor). */
  readonly postProcessor: { readonly prefixIds: readonly number[]; readonly suffixIds: readonly number[] };
  /** Added tokens marked special are matched as plain text when true (`split_special_tokens`). */
  readonly splitSpecialTokens: boolean;
  readonly eosTokenId?: number;
  readonly bosTokenId?: number;
  readonly padTokenId?: number;
  /** Jinja chat template (the default one when the config names several). */
  readonly chatTemplate?: string;
  /** Named chat templates (e.g. `tool_use`) when the config lists several. */
  readonly chatTemplates?: Readonly<Record<string, string>>;
}

/** The Qwen2/Qwen3 pre-tokenizer regex (Oniguruma syntax), for sources such as GGUF that name it `qwen2`. */
export const QWEN2_PRETOKENIZER_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** The Qwen3.5 pre-tokenizer regex (GGUF `qwen35`): Qwen2's, with letter runs taking combining
 * marks along (`[\p{L}\p{M}]+`, and marks left out of the punctuation run), so a base letter and
 * its accents or vowel signs stay one piece. */
export const QWEN35_PRETOKENIZER_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
