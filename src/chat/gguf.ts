/**
 * A GGUF file's chat template (`tokenizer.chat_template`, plus named variants that gguf-py writes as
 * `tokenizer.chat_template.<name>` listed in `tokenizer.chat_templates`) as a `ChatTemplate`.
 * Special tokens the template may reference come from the `tokenizer.ggml.*_token_id` keys.
 */
import { metaString } from "../formats/gguf/arch.js";
import type { GgufMeta } from "../formats/gguf/read.js";
import { ggufTokenizerData } from "../formats/gguf/tokenizer_meta.js";
import { QwenrtError } from "../util/errors.js";
import { ChatTemplate, type ChatTemplateSource } from "./template.js";

const TEMPLATE_KEY = "tokenizer.chat_template";

/** Special-token template variables ↔ the GGUF key holding the token's id. */
const specialTokenKeys: readonly (readonly [variable: keyof NonNullable<ChatTemplateSource["specialTokens"]>, key: string])[] = [
  ["bos_token", "tokenizer.ggml.bos_token_id"],
  ["eos_token", "tokenizer.ggml.eos_token_id"],
  ["unk_token", "tokenizer.ggml.unknown_token_id"],
  ["sep_token", "tokenizer.ggml.seperator_token_id"], // sic, gguf-py's spelling
  ["pad_token", "tokenizer.ggml.padding_token_id"],
  ["cls_token", "tokenizer.ggml.cls_token_id"],
  ["mask_token", "tokenizer.ggml.mask_token_id"],
];

/** True when the GGUF carries a chat template. */
export function ggufHasChatTemplate(g: GgufMeta): boolean {
  return g.metadata.has(TEMPLATE_KEY);
}

/**
 * The chat template a GGUF file carries; an error naming the file and key when it has none.
 *
 * @example
 * const tpl = chatTemplateFromGguf(readGguf("Qwen3-0.6B-Q8_0.gguf"));
 * tpl.render({ messages: [{ role: "user", content: "Hi" }] });
 */
export function chatTemplateFromGguf(g: GgufMeta): ChatTemplate {
  const main = metaString(g.metadata, TEMPLATE_KEY, g.path);
  if (main === undefined) {
    throw new QwenrtError(g.path, `no chat template ("${TEMPLATE_KEY}" is missing)`, { code: "not_found" });
  }
  let template: ChatTemplateSource["template"] = main;
  const names = g.metadata.get("tokenizer.chat_templates");
  if (names !== undefined) {
    if (names.type !== "array" || names.value.itemType !== "string") {
      throw new QwenrtError(`${g.path}: tokenizer.chat_templates`, "must be an array of strings");
    }
    const named = names.value.items.map((name) => {
      const key = `${TEMPLATE_KEY}.${name}`;
      const t = metaString(g.metadata, key, g.path);
      if (t === undefined) throw new QwenrtError(`${g.path}: tokenizer.chat_templates`, `lists ${JSON.stringify(name)} but "${key}" is missing`);
      return { name, template: t };
    });
    if (named.length > 0) template = [{ name: "default", template: main }, ...named.filter((n) => n.name !== "default")];
  }
  const tokens = ggufTokenizerData(g).tokens;
  const specialTokens: NonNullable<ChatTemplateSource["specialTokens"]> = {};
  for (const [variable, key] of specialTokenKeys) {
    const v = g.metadata.get(key);
    if (v === undefined) continue;
    const id = typeof v.value === "number" || typeof v.value === "bigint" ? Number(v.value) : NaN;
    const token = tokens[id];
    if (token === undefined) throw new QwenrtError(`${g.path}: ${key}`, `is not a token id below ${tokens.length}`);
    specialTokens[variable] = token;
  }
  return new ChatTemplate({ template, where: `${g.path}: ${TEMPLATE_KEY}`, specialTokens });
}
