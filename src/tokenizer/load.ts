/**
 * Parse Hugging Face `tokenizer.json` + `tokenizer_config.json` into a `TokenizerSpec`. Only what a
 * byte-level BPE tokenizer uses is accepted; any other normalizer, pre-tokenizer, model, decoder or
 * post-processor type is an error naming the field.
 */
import { QwenrtError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import type { AddedTokenSpec, NormalizerStep, PreTokenizerStep, SplitBehavior, TokenizerSpec } from "./spec.js";

const TOKENIZER_FILE = "tokenizer.json";
const CONFIG_FILE = "tokenizer_config.json";
const NORMALIZERS: ReadonlySet<string> = new Set(["NFC", "NFD", "NFKC", "NFKD", "Lowercase"]);
const BEHAVIORS: ReadonlySet<string> = new Set(["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]);

/**
 * Build a spec from the parsed JSON of both files (`config` may be undefined when the model has no
 * `tokenizer_config.json`: then there is no chat template and no eos/bos/pad ids).
 *
 * @param where prefix for error messages, e.g. the model directory
 */
export function specFromHfJson(tokenizer: unknown, config: unknown, where = ""): TokenizerSpec {
  const tf = `${where}${TOKENIZER_FILE}`;
  const cf = `${where}${CONFIG_FILE}`;
  if (!isObject(tokenizer)) throw new QwenrtError(tf, "expected a JSON object");
  if (config !== undefined && !isObject(config)) throw new QwenrtError(cf, "expected a JSON object");

  const model = tokenizer.model;
  if (!isObject(model)) throw new QwenrtError(tf, '"model" must be an object');
  if (model.type !== "BPE") throw new QwenrtError(tf, `"model.type" ${JSON.stringify(model.type)} is not supported (only "BPE")`);
  if (model.dropout !== undefined && model.dropout !== null) throw new QwenrtError(tf, '"model.dropout" is not supported');
  for (const f of ["continuing_subword_prefix", "end_of_word_suffix"] as const) {
    const v = model[f];
    if (v !== undefined && v !== null && v !== "") throw new QwenrtError(tf, `"model.${f}" ${JSON.stringify(v)} is not supported`);
  }
  if (model.byte_fallback === true) throw new QwenrtError(tf, '"model.byte_fallback" is not supported with a byte-level vocabulary');
  if (!isObject(model.vocab)) throw new QwenrtError(tf, '"model.vocab" must be an object');
  const vocab = new Map<string, number>();
  const rawVocab = model.vocab;
  for (const token in rawVocab) {
    const id = rawVocab[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
      throw new QwenrtError(tf, `"model.vocab" id of ${JSON.stringify(token)} must be a non-negative integer`);
    }
    vocab.set(token, id);
  }
  if (!Array.isArray(model.merges)) throw new QwenrtError(tf, '"model.merges" must be an array');
  const merges = model.merges.map((m: unknown, i): readonly [string, string] => {
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp > 0 && m.indexOf(" ", sp + 1) < 0) return [m.slice(0, sp), m.slice(sp + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") {
      return m as [string, string];
    }
    throw new QwenrtError(tf, `"model.merges[${i}]" must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
  });
  let unkId: number | undefined;
  if (typeof model.unk_token === "string") {
    unkId = vocab.get(model.unk_token);
    if (unkId === undefined) throw new QwenrtError(tf, `"model.unk_token" ${JSON.stringify(model.unk_token)} is not in the vocabulary`);
  }

  const addedTokens = parseAddedTokens(tokenizer.added_tokens, tf);
  const normalizer = parseNormalizer(tokenizer.normalizer, tf, "normalizer");
  const preTokenizer = parsePreTokenizer(tokenizer.pre_tokenizer, tf, "pre_tokenizer");
  parseDecoder(tokenizer.decoder, tf, "decoder");
  const tokenIdOf = (content: string): number | undefined =>
    addedTokens.find((t) => t.content === content)?.id ?? vocab.get(content);
  const post = { prefixIds: [] as number[], suffixIds: [] as number[] };
  parsePostProcessor(tokenizer.post_processor, tf, "post_processor", post);

  const spec: {
    -readonly [K in keyof TokenizerSpec]: TokenizerSpec[K];
  } = {
    vocab,
    merges,
    ignoreMerges: model.ignore_merges === true,
    addedTokens,
    normalizer,
    preTokenizer,
    postProcessor: post,
    splitSpecialTokens: false,
  };
  if (unkId !== undefined) spec.unkId = unkId;
  if (config !== undefined) {
    spec.splitSpecialTokens = config.split_special_tokens === true;
    for (const [field, key] of [
      ["eos_token", "eosTokenId"],
      ["bos_token", "bosTokenId"],
      ["pad_token", "padTokenId"],
    ] as const) {
      const raw = config[field];
      if (raw === undefined || raw === null) continue;
      const content = typeof raw === "string" ? raw : isObject(raw) && typeof raw.content === "string" ? raw.content : undefined;
      if (content === undefined) throw new QwenrtError(cf, `"${field}" must be a string or {"content": string}`);
      const id = tokenIdOf(content);
      if (id === undefined) throw new QwenrtError(cf, `"${field}" ${JSON.stringify(content)} is not a token of ${TOKENIZER_FILE}`);
      spec[key] = id;
    }
    const tpl = config.chat_template;
    if (typeof tpl === "string") {
      spec.chatTemplate = tpl;
    } else if (Array.isArray(tpl)) {
      const named: Record<string, string> = {};
      for (const [i, t] of tpl.entries()) {
        if (!isObject(t) || typeof t.name !== "string" || typeof t.template !== "string") {
          throw new QwenrtError(cf, `"chat_template[${i}]" must be {"name": string, "template": string}`);
        }
        named[t.name] = t.template;
      }
      spec.chatTemplates = named;
      if (named.default !== undefined) spec.chatTemplate = named.default;
    } else if (tpl !== undefined && tpl !== null) {
      throw new QwenrtError(cf, '"chat_template" must be a string or a list of named templates');
    }
  }
  return spec;
}

function parseAddedTokens(raw: unknown, tf: string): AddedTokenSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new QwenrtError(tf, '"added_tokens" must be an array');
  return raw.map((t: unknown, i): AddedTokenSpec => {
    const field = `"added_tokens[${i}]"`;
    if (!isObject(t) || typeof t.content !== "string" || typeof t.id !== "number" || !Number.isInteger(t.id) || t.id < 0) {
      throw new QwenrtError(tf, `${field} must have a string "content" and a non-negative integer "id"`);
    }
    const flag = (name: string, dflt: boolean): boolean => {
      const v = t[name];
      if (v === undefined) return dflt;
      if (typeof v !== "boolean") throw new QwenrtError(tf, `${field}.${name} must be a boolean`);
      return v;
    };
    const special = flag("special", false);
    return {
      id: t.id,
      content: t.content,
      special,
      lstrip: flag("lstrip", false),
      rstrip: flag("rstrip", false),
      singleWord: flag("single_word", false),
      normalized: flag("normalized", !special),
    };
  });
}

function typeOf(raw: Record<string, unknown>, tf: string, field: string): string {
  if (typeof raw.type !== "string") throw new QwenrtError(tf, `"${field}.type" must be a string`);
  return raw.type;
}

function parseNormalizer(raw: unknown, tf: string, field: string): NormalizerStep[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) throw new QwenrtError(tf, `"${field}" must be an object or null`);
  const type = typeOf(raw, tf, field);
  if (type === "Sequence") {
    if (!Array.isArray(raw.normalizers)) throw new QwenrtError(tf, `"${field}.normalizers" must be an array`);
    return raw.normalizers.flatMap((n: unknown, i) => parseNormalizer(n, tf, `${field}.normalizers[${i}]`));
  }
  if (!NORMALIZERS.has(type)) {
    throw new QwenrtError(tf, `"${field}.type" ${JSON.stringify(type)} is not supported (supported: ${[...NORMALIZERS, "Sequence"].join(", ")})`);
  }
  return [type as NormalizerStep];
}

function parsePreTokenizer(raw: unknown, tf: string, field: string): PreTokenizerStep[] {
  if (raw === undefined || raw === null) return [];
  if (!isObject(raw)) throw new QwenrtError(tf, `"${field}" must be an object or null`);
  const type = typeOf(raw, tf, field);
  switch (type) {
    case "Sequence":
      if (!Array.isArray(raw.pretokenizers)) throw new QwenrtError(tf, `"${field}.pretokenizers" must be an array`);
      return raw.pretokenizers.flatMap((p: unknown, i) => parsePreTokenizer(p, tf, `${field}.pretokenizers[${i}]`));
    case "ByteLevel":
      return [{ kind: "byteLevel", addPrefixSpace: raw.add_prefix_space === true, useRegex: raw.use_regex !== false }];
    case "Split": {
      const p = raw.pattern;
      let pattern: { regex: string } | { literal: string };
      if (isObject(p) && typeof p.Regex === "string") pattern = { regex: p.Regex };
      else if (isObject(p) && typeof p.String === "string") pattern = { literal: p.String };
      else throw new QwenrtError(tf, `"${field}.pattern" must be {"Regex": string} or {"String": string}`);
      const behavior = raw.behavior;
      if (typeof behavior !== "string" || !BEHAVIORS.has(behavior)) {
        throw new QwenrtError(tf, `"${field}.behavior" ${JSON.stringify(behavior)} is not supported`);
      }
      return [{ kind: "split", pattern, behavior: behavior as SplitBehavior, invert: raw.invert === true }];
    }
    default:
      throw new QwenrtError(tf, `"${field}.type" ${JSON.stringify(type)} is not supported (supported: Sequence, Split, ByteLevel)`);
  }
}

function parseDecoder(raw: unknown, tf: string, field: string): void {
  if (!isObject(raw)) throw new QwenrtError(tf, `"${field}" must be a ByteLevel decoder`);
  const type = typeOf(raw, tf, field);
  if (type === "Sequence" && Array.isArray(raw.decoders)) {
    raw.decoders.forEach((d: unknown, i) => parseDecoder(d, tf, `${field}.decoders[${i}]`));
    return;
  }
  if (type !== "ByteLevel") throw new QwenrtError(tf, `"${field}.type" ${JSON.stringify(type)} is not supported (only ByteLevel)`);
}

function parsePostProcessor(
  raw: unknown,
  tf: string,
  field: string,
  post: { prefixIds: number[]; suffixIds: number[] },
): void {
  if (raw === undefined || raw === null) return;
  if (!isObject(raw)) throw new QwenrtError(tf, `"${field}" must be an object or null`);
  const type = typeOf(raw, tf, field);
  if (type === "ByteLevel") return; // only adjusts offsets
  if (type === "Sequence" && Array.isArray(raw.processors)) {
    raw.processors.forEach((p: unknown, i) => parsePostProcessor(p, tf, `${field}.processors[${i}]`, post));
    return;
  }
  if (type !== "TemplateProcessing") {
    throw new QwenrtError(tf, `"${field}.type" ${JSON.stringify(type)} is not supported (supported: ByteLevel, TemplateProcessing, Sequence)`);
  }
  if (!Array.isArray(raw.single) || !isObject(raw.special_tokens)) {
    throw new QwenrtError(tf, `"${field}" TemplateProcessing needs "single" and "special_tokens"`);
  }
  const specials = raw.special_tokens;
  let seenSequence = false;
  for (const [i, piece] of raw.single.entries()) {
    if (isObject(piece) && isObject(piece.Sequence)) {
      seenSequence = true;
    } else if (isObject(piece) && isObject(piece.SpecialToken) && typeof piece.SpecialToken.id === "string") {
      const entry = specials[piece.SpecialToken.id];
      if (!isObject(entry) || !Array.isArray(entry.ids) || !entry.ids.every((x): x is number => Number.isInteger(x))) {
        throw new QwenrtError(tf, `"${field}.special_tokens" has no ids for ${JSON.stringify(piece.SpecialToken.id)}`);
      }
      (seenSequence ? post.suffixIds : post.prefixIds).push(...entry.ids);
    } else {
      throw new QwenrtError(tf, `"${field}.single[${i}]" must be a Sequence or SpecialToken`);
    }
  }
}
