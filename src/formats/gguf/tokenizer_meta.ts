/**
 * The tokenizer a GGUF file carries (`tokenizer.ggml.*`, `tokenizer.chat_template`), as a typed
 * object. Building a tokenizer from it is the tokenizer module's job; this only exposes the data.
 */
import { QwenrtError } from "../../util/errors.js";
import { metaNumber, metaString } from "./arch.js";
import type { GgufMeta } from "./read.js";

/** llama.cpp token types (`tokenizer.ggml.token_type`). */
export const ggmlTokenTypes = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** GGUF tokenizer metadata. */
export interface GgufTokenizerData {
  readonly model: string; // "gpt2" for byte-level BPE (all Qwen models)
  readonly pre: string | null; // pre-tokenizer name, "qwen2" for Qwen
  readonly tokens: readonly string[]; // id → token text (byte-level alphabet for gpt2)
  readonly tokenTypes: readonly number[] | null; // id → ggmlTokenTypes value
  readonly merges: readonly string[]; // "left right", in rank order
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly paddingTokenId: number | null;
  readonly addBosToken: boolean | null;
  readonly chatTemplate: string | null;
}

function stringArray(g: GgufMeta, key: string, required: boolean): string[] | null {
  const v = g.metadata.get(key);
  if (v === undefined) {
    if (required) throw new QwenrtError(g.path, `metadata "${key}" is missing`);
    return null;
  }
  if (v.type !== "array" || v.value.itemType !== "string") throw new QwenrtError(g.path, `"${key}" must be an array of strings`);
  return v.value.items.slice();
}

/**
 * Read the tokenizer metadata of a GGUF file.
 *
 * @example
 * const tok = ggufTokenizerData(readGguf("model.gguf"));
 * tok.tokens.length; // 151936
 */
export function ggufTokenizerData(g: GgufMeta): GgufTokenizerData {
  const model = metaString(g.metadata, "tokenizer.ggml.model", g.path);
  if (model === undefined) throw new QwenrtError(g.path, `metadata "tokenizer.ggml.model" is missing`);
  const tokens = stringArray(g, "tokenizer.ggml.tokens", true)!;
  let tokenTypes: number[] | null = null;
  const tt = g.metadata.get("tokenizer.ggml.token_type");
  if (tt !== undefined) {
    if (tt.type !== "array" || (tt.value.itemType !== "i32" && tt.value.itemType !== "u32" && tt.value.itemType !== "i8" && tt.value.itemType !== "u8")) {
      throw new QwenrtError(g.path, `"tokenizer.ggml.token_type" must be an array of integers`);
    }
    tokenTypes = tt.value.items.slice() as number[];
    if (tokenTypes.length !== tokens.length) {
      throw new QwenrtError(g.path, `"tokenizer.ggml.token_type" has ${tokenTypes.length} entries but there are ${tokens.length} tokens`);
    }
  }
  const id = (key: string): number | null => {
    const v = metaNumber(g.metadata, key, g.path);
    if (v === undefined) return null;
    if (!Number.isInteger(v) || v < 0 || v >= tokens.length) throw new QwenrtError(g.path, `"${key}" is ${v}, not a token id below ${tokens.length}`);
    return v;
  };
  const addBos = g.metadata.get("tokenizer.ggml.add_bos_token");
  return {
    model,
    pre: metaString(g.metadata, "tokenizer.ggml.pre", g.path) ?? null,
    tokens,
    tokenTypes,
    merges: stringArray(g, "tokenizer.ggml.merges", false) ?? [],
    bosTokenId: id("tokenizer.ggml.bos_token_id"),
    eosTokenId: id("tokenizer.ggml.eos_token_id"),
    paddingTokenId: id("tokenizer.ggml.padding_token_id"),
    addBosToken: addBos === undefined ? null : addBos.type === "bool" ? addBos.value : null,
    chatTemplate: metaString(g.metadata, "tokenizer.chat_template", g.path) ?? null,
  };
}
