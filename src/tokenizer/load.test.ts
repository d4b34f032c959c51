import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QwenrtError } from "../util/errors.js";
import { BYTE_TO_CHAR } from "./bytelevel.js";
import { specFromHfJson } from "./load.js";
import { QWEN2_PRETOKENIZER_REGEX, type TokenizerSpec } from "./spec.js";
import { qwen3, qwen3Spec } from "./test-helpers.js";
import { Tokenizer } from "./tokenizer.js";

/** A tiny but complete byte-level BPE tokenizer.json. */
function tinyJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  vocab.he = 256;
  vocab.ll = 257;
  vocab.hell = 258;
  vocab["Ġw"] = 259;
  return {
    version: "1.0",
    added_tokens: [{ id: 260, content: "<eos>", special: true, lstrip: false, rstrip: false, single_word: false, normalized: false }],
    normalizer: { type: "NFC" },
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<eos>", type_id: 0 } }],
      special_tokens: { "<eos>": { id: "<eos>", ids: [260], tokens: ["<eos>"] } },
    },
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", vocab, merges: ["h e", ["l", "l"], "he ll", "Ġ w"] },
  };
}

function throwsNaming(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => e instanceof QwenrtError && parts.every((p) => e.message.includes(p)), parts.join(" "));
}

describe("specFromHfJson", () => {
  it("builds a working tokenizer from a minimal file, with a template post-processor", () => {
    const tok = Tokenizer.fromJson(tinyJson(), { eos_token: "<eos>", chat_template: [{ name: "default", template: "T" }] });
    assert.deepEqual(tok.encode("hello w", { addSpecialTokens: false }), [258, 111, 259]);
    assert.deepEqual(tok.encode("hello w"), [258, 111, 259, 260]);
    assert.equal(tok.eosTokenId, 260);
    assert.equal(tok.chatTemplate, "T");
    assert.equal(tok.decode([258, 260, 259], { skipSpecialTokens: true }), "hell w");
  });

  it("names the field for unsupported component types", () => {
    const cases: Array<[(j: Record<string, unknown>) => void, string[]]> = [
      [(j) => (j.normalizer = { type: "BertNormalizer" }), ['"normalizer.type"', "BertNormalizer"]],
      [(j) => (j.normalizer = { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Strip" }] }), ['"normalizer.normalizers[1].type"']],
      [(j) => (j.pre_tokenizer = { type: "Whitespace" }), ['"pre_tokenizer.type"', "Whitespace"]],
      [(j) => (j.pre_tokenizer = { type: "Metaspace" }), ['"pre_tokenizer.type"']],
      [(j) => ((j.model as Record<string, unknown>).type = "WordPiece"), ['"model.type"', "WordPiece"]],
      [(j) => (j.decoder = { type: "Metaspace" }), ['"decoder.type"']],
      [(j) => (j.post_processor = { type: "BertProcessing" }), ['"post_processor.type"']],
      [(j) => ((j.model as Record<string, unknown>).merges = ["h e", "x y"]), ["merge #1", '"xy"']],
      [(j) => ((j.model as Record<string, unknown>).merges = [3]), ['"model.merges[0]"']],
      [(j) => (j.pre_tokenizer = { type: "Split", pattern: { Regex: "(?>a)" }, behavior: "Isolated" }), ["pre_tokenizer", "ByteLevel"]],
      [
        (j) =>
          (j.pre_tokenizer = {
            type: "Sequence",
            pretokenizers: [{ type: "Split", pattern: { Regex: "(?>a)" }, behavior: "Isolated" }, { type: "ByteLevel" }],
          }),
        ["pre_tokenizer.pattern.Regex", "(?>"],
      ],
    ];
    for (const [mutate, parts] of cases) {
      const j = tinyJson();
      mutate(j);
      throwsNaming(() => Tokenizer.fromJson(j), "tokenizer.json", ...parts);
    }
  });

  it("names tokenizer_config.json fields that do not resolve", () => {
    throwsNaming(() => Tokenizer.fromJson(tinyJson(), { eos_token: "<nope>" }), "tokenizer_config.json", '"eos_token"');
    throwsNaming(() => Tokenizer.fromJson(tinyJson(), { chat_template: 5 }), "tokenizer_config.json", '"chat_template"');
    throwsNaming(() => Tokenizer.fromJson([], {}), "tokenizer.json", "object");
  });

  it("a spec built from plain data (as GGUF metadata would give) matches the tokenizer.json one", () => {
    // GGUF stores tokens as a dense list and merges as "a b" strings; rebuild the spec from those.
    const src = qwen3Spec();
    const tokens: string[] = [];
    for (const [t, id] of src.vocab) tokens[id] = t;
    const spec: TokenizerSpec = {
      vocab: new Map(tokens.map((t, id) => [t, id])),
      merges: src.merges.map(([a, b]) => `${a} ${b}`).map((m) => [m.slice(0, m.indexOf(" ")), m.slice(m.indexOf(" ") + 1)] as const),
      ignoreMerges: false,
      addedTokens: src.addedTokens,
      normalizer: ["NFC"],
      preTokenizer: [
        { kind: "split", pattern: { regex: QWEN2_PRETOKENIZER_REGEX }, behavior: "Isolated", invert: false },
        { kind: "byteLevel", addPrefixSpace: false, useRegex: false },
      ],
      postProcessor: { prefixIds: [], suffixIds: [] },
      splitSpecialTokens: false,
      eosTokenId: 151645,
    };
    const tok = new Tokenizer(spec, "gguf");
    const text = "Hello, 世界! <think>I'LL</think>\n\n  x😀 3.14";
    assert.deepEqual(tok.encode(text), qwen3().encode(text));
  });

  it("parses the Qwen3 files into the expected pipeline", () => {
    const s = qwen3Spec();
    assert.deepEqual(s.normalizer, ["NFC"]);
    assert.equal(s.preTokenizer.length, 2);
    assert.equal(s.addedTokens.length, 26);
    assert.equal(s.merges.length, 151387);
    const p = specFromHfJson(tinyJson(), undefined);
    assert.equal(p.eosTokenId, undefined);
    assert.equal(p.chatTemplate, undefined);
  });
});
