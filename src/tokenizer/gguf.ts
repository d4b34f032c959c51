/**
 * A GGUF file's tokenizer (`tokenizer.ggml.*`) as a `TokenizerSpec`, so a `.gguf` model tokenizes
 * exactly as its Hugging Face `tokenizer.json` does. GGUF names the pre-tokenizer (`qwen2`) instead of
 * storing it; the known names map to the `tokenizer.json` pipeline they stand for (declared below).
 * Token types decide added tokens: control → special, user-defined → added but not special, unused
 * (`[PADi]` filler) → absent.
 */
import type { GgufMeta } from "../formats/gguf/read.js";
import { ggmlTokenTypes, ggufTokenizerData, type GgufTokenizerData } from "../formats/gguf/tokenizer_meta.js";
import { QwenrtError } from "../util/errors.js";
import { QWEN2_PRETOKENIZER_REGEX, QWEN35_PRETOKENIZER_REGEX, type AddedTokenSpec, type NormalizerStep, type PreTokenizerStep, type TokenizerSpec } from "./spec.js";
import { Tokenizer } from "./tokenizer.js";

/** The `tokenizer.json` normalizer and pre-tokenizer a `tokenizer.ggml.pre` name stands for. */
interface PrePipeline {
  readonly normalizer: readonly NormalizerStep[];
  readonly preTokenizer: readonly PreTokenizerStep[];
}

/** NFC, one isolated regex split, then the byte-level step: the Qwen tokenizers' pipeline. */
function qwenPipeline(regex: string): PrePipeline {
  return {
    normalizer: ["NFC"],
    preTokenizer: [
      { kind: "split", pattern: { regex }, behavior: "Isolated", invert: false },
      { kind: "byteLevel", addPrefixSpace: false, useRegex: false },
    ],
  };
}

const qwen2Pipeline = qwenPipeline(QWEN2_PRETOKENIZER_REGEX);

/**
 * Known `tokenizer.ggml.pre` values. llama.cpp treats `deepseek-r1-qwen` (DeepSeek-R1-Distill-Qwen)
 * as the Qwen2 pre-tokenizer too; `qwen35` is Qwen3.5's (letter runs keep their combining marks).
 */
const prePipelines: ReadonlyMap<string, PrePipeline> = new Map([
  ["qwen2", qwen2Pipeline],
  ["deepseek-r1-qwen", qwen2Pipeline],
  ["qwen35", qwenPipeline(QWEN35_PRETOKENIZER_REGEX)],
]);

/** The GGUF's `tokenizer.ggml.pre` names one of these pre-tokenizers. */
export const supportedGgufPreTokenizers: readonly string[] = Object.freeze([...prePipelines.keys()]);

/**
 * Build a `TokenizerSpec` from a GGUF file's tokenizer metadata. Errors name the file and the GGUF key.
 *
 * @example
 * const spec = specFromGguf(readGguf("model.gguf"));
 */
export function specFromGguf(g: GgufMeta): TokenizerSpec {
  const d: GgufTokenizerData = ggufTokenizerData(g);
  const where = g.path;
  if (d.model !== "gpt2") {
    throw new QwenrtError(`${where}: tokenizer.ggml.model`, `${JSON.stringify(d.model)} is not supported (only "gpt2", byte-level BPE)`, { code: "unsupported" });
  }
  if (d.pre === null) {
    throw new QwenrtError(`${where}: tokenizer.ggml.pre`, `is missing; cannot tell the pre-tokenizer (supported: ${supportedGgufPreTokenizers.join(", ")})`);
  }
  const pipeline = prePipelines.get(d.pre);
  if (pipeline === undefined) {
    throw new QwenrtError(`${where}: tokenizer.ggml.pre`, `${JSON.stringify(d.pre)} is not supported (supported: ${supportedGgufPreTokenizers.join(", ")})`, { code: "unsupported" });
  }

  const vocab = new Map<string, number>();
  const addedTokens: AddedTokenSpec[] = [];
  let unkId: number | undefined;
  const seen = new Map<string, number>();
  d.tokens.forEach((token, id) => {
    const type = d.tokenTypes?.[id] ?? ggmlTokenTypes.normal; // llama.cpp: no types = all normal
    if (type === ggmlTokenTypes.unused) return;
    const dup = seen.get(token);
    if (dup !== undefined) throw new QwenrtError(`${where}: tokenizer.ggml.tokens`, `token ${JSON.stringify(token)} appears at ids ${dup} and ${id}`);
    seen.set(token, id);
    switch (type) {
      case ggmlTokenTypes.normal:
        vocab.set(token, id);
        return;
      case ggmlTokenTypes.unknown:
        vocab.set(token, id);
        unkId = id;
        return;
      case ggmlTokenTypes.control:
      case ggmlTokenTypes.userDefined:
        // Matched in raw text before normalization, never swallowing whitespace (llama.cpp and Qwen's tokenizer.json agree)
        addedTokens.push({ id, content: token, special: type === ggmlTokenTypes.control, lstrip: false, rstrip: false, singleWord: false, normalized: false });
        return;
      default:
        throw new QwenrtError(`${where}: tokenizer.ggml.token_type`, `token ${id} (${JSON.stringify(token)}) has type ${type}, which a "gpt2" tokenizer does not use`);
    }
  });

  const merges = d.merges.map((m, i): readonly [string, string] => {
    const sp = m.indexOf(" ");
    if (sp <= 0 || sp === m.length - 1 || m.indexOf(" ", sp + 1) >= 0) {
      throw new QwenrtError(`${where}: tokenizer.ggml.merges`, `entry ${i} must be two tokens separated by one space, got ${JSON.stringify(m)}`);
    }
    return [m.slice(0, sp), m.slice(sp + 1)];
  });

  const prefixIds: number[] = [];
  const suffixIds: number[] = [];
  if (d.addBosToken === true) {
    if (d.bosTokenId === null) throw new QwenrtError(`${where}: tokenizer.ggml.add_bos_token`, 'is true but "tokenizer.ggml.bos_token_id" is missing');
    prefixIds.push(d.bosTokenId);
  }
  const addEos = g.metadata.get("tokenizer.ggml.add_eos_token");
  if (addEos !== undefined && addEos.type !== "bool") throw new QwenrtError(`${where}: tokenizer.ggml.add_eos_token`, `must be a bool, got ${addEos.type}`);
  if (addEos?.value === true) {
    if (d.eosTokenId === null) throw new QwenrtError(`${where}: tokenizer.ggml.add_eos_token`, 'is true but "tokenizer.ggml.eos_token_id" is missing');
    suffixIds.push(d.eosTokenId);
  }

  const spec: { -readonly [K in keyof TokenizerSpec]: TokenizerSpec[K] } = {
    vocab,
    merges,
    ignoreMerges: false,
    addedTokens,
    normalizer: pipeline.normalizer,
    preTokenizer: pipeline.preTokenizer,
    postProcessor: { prefixIds, suffixIds },
    splitSpecialTokens: false,
  };
  if (unkId !== undefined) spec.unkId = unkId;
  for (const [key, id] of [
    ["eosTokenId", d.eosTokenId],
    ["bosTokenId", d.bosTokenId],
    ["padTokenId", d.paddingTokenId],
  ] as const) {
    if (id !== null) spec[key] = id;
  }
  if (d.chatTemplate !== null) spec.chatTemplate = d.chatTemplate;
  return spec;
}

/**
 * The tokenizer a GGUF file carries. Gives the same ids as the `tokenizer.json` it was converted
 * from (the GGUF keeps no "special" flag beyond the token type, so added tokens llama.cpp marks as
 * control are special here, e.g. `<|fim_prefix|>`).
 *
 * @example
 * const tok = tokenizerFromGguf(readGguf("Qwen3-0.6B-Q8_0.gguf"));
 * tok.encode("<think>\nhi", { addSpecialTokens: false }); // [151667, 198, 6023]
 */
export function tokenizerFromGguf(g: GgufMeta): Tokenizer {
  return new Tokenizer(specFromGguf(g), g.path);
}
