/** Byte-level BPE tokenizer: `Tokenizer`, its spec type for other loaders, and streaming detokenizing. */
export { Tokenizer, type EncodeOptions, type DecodeOptions } from "./tokenizer.js";
export { StreamDetokenizer } from "./stream.js";
export { specFromHfJson } from "./load.js";
export {
  QWEN2_PRETOKENIZER_REGEX,
  QWEN35_PRETOKENIZER_REGEX,
  type TokenizerSpec,
  type AddedTokenSpec,
  type NormalizerStep,
  type PreTokenizerStep,
  type SplitBehavior,
} from "./spec.js";
