/**
 * `tokenizer.json` + `tokenizer_config.json` → GGUF `tokenizer.ggml.*` metadata, as llama.cpp's
 * converter builds it for byte-level BPE (`_set_vocab_gpt2` and gguf-py's `SpecialVocab`): the
 * token list padded to `vocab_size` with `[PADi]`, token types, merges, special token ids, the
 * add-BOS flag and the chat template.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { QwenrtError } from "../../util/errors.js";
import { isObject, readJsonFile } from "../../util/json.js";
import { gv } from "./arch.js";
import { ggmlTokenTypes } from "./tokenizer_meta.js";
import type { GgufValue } from "./types.js";

/** Special token kinds in gguf-py's order, with their GGUF key (sic: "seperator"). */
const specialKeys: readonly (readonly [kind: string, key: string])[] = [
  ["bos", "tokenizer.ggml.bos_token_id"],
  ["eos", "tokenizer.ggml.eos_token_id"],
  ["unk", "tokenizer.ggml.unknown_token_id"],
  ["sep", "tokenizer.ggml.seperator_token_id"],
  ["pad", "tokenizer.ggml.padding_token_id"],
  ["cls", "tokenizer.ggml.cls_token_id"],
  ["mask", "tokenizer.ggml.mask_token_id"],
];

/** llama.cpp's `does_token_look_special` for the forms Qwen uses. */
function looksSpecial(t: string): boolean {
  return (t.startsWith("<|") && t.endsWith("|>")) || (t.startsWith("<｜") && t.endsWith("｜>")) || t === "<pad>" || t === "<mask>";
}

/** The Split regexes of a `pre_tokenizer` (a Sequence of steps or one step). */
function splitRegexes(pre: unknown): string[] {
  if (!isObject(pre)) return [];
  if (Array.isArray(pre.pretokenizers)) return pre.pretokenizers.flatMap(splitRegexes);
  return pre.type === "Split" && isObject(pre.pattern) && typeof pre.pattern.Regex === "string" ? [pre.pattern.Regex] : [];
}

/**
 * llama.cpp's name for the tokenizer's pre-tokenizer (its converter tells them apart by hashing
 * their output; the regexes differ): Qwen3.5's letter runs take combining marks (`[\p{L}\p{M}]+`,
 * "qwen35"), Qwen2 / Qwen3's do not (`\p{L}+`, "qwen2").
 */
export function preTokenizerName(pre: unknown, where: string): "qwen2" | "qwen35" {
  const regexes = splitRegexes(pre);
  if (regexes.some((r) => r.includes("[\\p{L}\\p{M}]+"))) return "qwen35";
  // No split regex at all (a small test tokenizer): "qwen2", as before the Qwen3.5 name existed.
  if (regexes.length === 0 || regexes.some((r) => r.includes("\\p{L}+"))) return "qwen2";
  throw new QwenrtError(where, `pre_tokenizer: no Qwen2 or Qwen3.5 split regex found (got ${JSON.stringify(regexes)}); cannot name it for llama.cpp`);
}

/**
 * Build the tokenizer metadata entries (in the order llama.cpp writes them).
 *
 * @param dir directory holding tokenizer.json / tokenizer_config.json
 * @param hfConfig the model's config.json (vocab_size and fallback special ids)
 */
export function hfTokenizerMetadata(dir: string, hfConfig: Record<string, unknown>): [string, GgufValue][] {
  const tjPath = join(dir, "tokenizer.json");
  if (!existsSync(tjPath)) {
    throw new QwenrtError(tjPath, "not found: converting to GGUF needs the tokenizer (pass --tokenizer DIR when it lives elsewhere)", { code: "not_found" });
  }
  const tj = readJsonFile(tjPath);
  if (!isObject(tj) || !isObject(tj.model) || tj.model.type !== "BPE" || !isObject(tj.model.vocab)) {
    throw new QwenrtError(tjPath, 'must be a byte-level BPE tokenizer ("model.type": "BPE" with a "vocab" object)');
  }
  const added = Array.isArray(tj.added_tokens) ? tj.added_tokens.filter(isObject) : [];
  const vocabSize = typeof hfConfig.vocab_size === "number" ? hfConfig.vocab_size : 0;
  const byId = new Map<number, string>();
  for (const [tok, id] of Object.entries(tj.model.vocab)) {
    if (typeof id !== "number") throw new QwenrtError(tjPath, `"model.vocab.${tok}" must be a token id`);
    byId.set(id, tok);
  }
  const addedById = new Map<number, { content: string; special: boolean }>();
  for (const a of added) {
    if (typeof a.id !== "number" || typeof a.content !== "string") throw new QwenrtError(tjPath, '"added_tokens" entries need "id" and "content"');
    byId.set(a.id, a.content);
    addedById.set(a.id, { content: a.content, special: a.special === true });
  }
  let maxId = -1;
  for (const id of byId.keys()) if (id > maxId) maxId = id;
  if (maxId >= vocabSize) throw new QwenrtError(tjPath, `token id ${maxId} is not below config "vocab_size" (${vocabSize})`);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let i = 0; i < vocabSize; i++) {
    const tok = byId.get(i);
    if (tok === undefined) {
      tokens.push(`[PAD${i}]`);
      types.push(ggmlTokenTypes.unused);
      continue;
    }
    tokens.push(tok);
    const a = addedById.get(i);
    if (a === undefined) types.push(ggmlTokenTypes.normal);
    else types.push(a.special || looksSpecial(tok) ? ggmlTokenTypes.control : ggmlTokenTypes.userDefined);
  }
  const rawMerges = Array.isArray(tj.model.merges) ? tj.model.merges : [];
  const merges = rawMerges.map((m, i): string => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") {
      // pairs may contain spaces; llama.cpp encodes them as U+0120 like the byte-level alphabet
      return `${m[0].replaceAll(" ", "\u0120")} ${m[1].replaceAll(" ", "\u0120")}`;
    }
    throw new QwenrtError(tjPath, `"model.merges[${i}]" must be a string or a pair of strings`);
  });

  const out: [string, GgufValue][] = [
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str(preTokenizerName(tj.pre_tokenizer, tjPath))],
    ["tokenizer.ggml.tokens", { type: "array", value: { itemType: "string", items: tokens } }],
    ["tokenizer.ggml.token_type", { type: "array", value: { itemType: "i32", items: types } }],
    ["tokenizer.ggml.merges", { type: "array", value: { itemType: "string", items: merges } }],
  ];

  const tcPath = join(dir, "tokenizer_config.json");
  const tc = existsSync(tcPath) ? readJsonFile(tcPath) : {};
  const tcfg = isObject(tc) ? tc : {};
  const ids = new Map<string, number>();
  for (const [kind] of specialKeys) {
    const entry = tcfg[`${kind}_token`];
    const content = typeof entry === "string" ? entry : isObject(entry) && typeof entry.content === "string" ? entry.content : undefined;
    if (content === undefined) continue;
    const hit = added.find((a) => a.content === content);
    if (hit !== undefined && typeof hit.id === "number") ids.set(kind, hit.id);
  }
  for (const [kind] of specialKeys) {
    const id = hfConfig[`${kind}_token_id`];
    if (!ids.has(kind) && typeof id === "number" && Number.isInteger(id) && id >= 0) ids.set(kind, id);
  }
  for (const [kind, key] of specialKeys) {
    const id = ids.get(kind);
    if (id !== undefined) out.push([key, gv.u32(id)]);
  }
  for (const kind of ["bos", "eos"]) {
    const flag = tcfg[`add_${kind}_token`];
    if (typeof flag === "boolean") out.push([`tokenizer.ggml.add_${kind}_token`, gv.bool(flag)]);
  }
  let template: string | undefined;
  if (typeof tcfg.chat_template === "string") template = tcfg.chat_template;
  else if (existsSync(join(dir, "chat_template.jinja"))) template = readFileSync(join(dir, "chat_template.jinja"), "utf8");
  if (template !== undefined) out.push(["tokenizer.chat_template", gv.str(template)]);
  return out;
}
