import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { gv } from "../formats/gguf/arch.js";
import { readGguf, type GgufFile } from "../formats/gguf/read.js";
import type { GgufValue } from "../formats/gguf/types.js";
import { FIXTURES, QWEN3_TOKENIZER_DIR, fixtureGguf } from "../../test/helpers/gguf-fixture.js";
import { QwenrtError } from "../util/errors.js";
import { specFromGguf, tokenizerFromGguf } from "./gguf.js";
import { Tokenizer } from "./tokenizer.js";

interface Case {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
  decoded_skip_special: string;
}
const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer/tokenizer-public.json"), "utf8")) as Case[];
const g = readGguf(fixtureGguf("qwen3-dense-tiny", "q8_0"));
const fromGguf = tokenizerFromGguf(g);
const fromDir = Tokenizer.fromDir(QWEN3_TOKENIZER_DIR);

/** `g` with some metadata replaced (undefined deletes the key). */
function withMeta(edits: Record<string, GgufValue | undefined>): GgufFile {
  const metadata = new Map(g.metadata);
  for (const [k, v] of Object.entries(edits)) {
    if (v === undefined) metadata.delete(k);
    else metadata.set(k, v);
  }
  return { ...g, metadata };
}

function throwsNaming(f: () => unknown, ...parts: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof QwenrtError, String(e));
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should name ${p}`);
    return true;
  });
}

describe("tokenizerFromGguf on a GGUF converted with the Qwen3 tokenizer", () => {
  it("gives the reference ids, tokens and decodings on every fixture case, as Tokenizer.fromDir does", () => {
    assert.equal(cases.length, 139);
    for (const [i, c] of cases.entries()) {
      const ids = fromGguf.encode(c.text, { addSpecialTokens: false });
      assert.deepEqual(ids, c.ids, `case ${i}`);
      assert.deepEqual(ids, fromDir.encode(c.text, { addSpecialTokens: false }), `case ${i}`);
      assert.deepEqual(fromGguf.encode(c.text), fromDir.encode(c.text), `case ${i} with special tokens`);
      assert.deepEqual(fromGguf.tokenize(c.text, { addSpecialTokens: false }), c.tokens, `case ${i}`);
      assert.equal(fromGguf.decode(c.ids), c.decoded, `case ${i}`);
      assert.equal(fromGguf.decode(c.ids, { skipSpecialTokens: true }), c.decoded_skip_special, `case ${i}`);
    }
  });

  it("has the directory tokenizer's size, special ids and added tokens; [PADi] filler is absent", () => {
    assert.equal(fromGguf.vocabSize, fromDir.vocabSize);
    assert.equal(fromGguf.eosTokenId, fromDir.eosTokenId);
    assert.equal(fromGguf.padTokenId, fromDir.padTokenId);
    assert.deepEqual(fromGguf.addedTokenIds(), fromDir.addedTokenIds());
    assert.equal(fromGguf.isSpecial(151645), true); // <|im_end|>: control
    assert.equal(fromGguf.isSpecial(151667), false); // <think>: user-defined
    assert.equal(fromGguf.isSpecial(151657), false); // <tool_call>
    assert.equal(fromGguf.tokenToId("[PAD151700]"), undefined);
    assert.equal(fromGguf.chatTemplate, fromDir.chatTemplate);
    const spec = specFromGguf(g);
    assert.deepEqual(spec.normalizer, ["NFC"]);
    assert.equal(spec.vocab.size, 151643);
  });

  it("NFC-normalizes text outside added tokens", () => {
    const decomposed = "Cafe\u0301 <think>e\u0301";
    assert.deepEqual(fromGguf.encode(decomposed, { addSpecialTokens: false }), fromGguf.encode("Café <think>é", { addSpecialTokens: false }));
  });

  it("adds the bos token when tokenizer.ggml.add_bos_token is true", () => {
    const t = tokenizerFromGguf(withMeta({ "tokenizer.ggml.add_bos_token": gv.bool(true) }));
    assert.deepEqual(t.encode("hi"), [151643, ...fromDir.encode("hi")]);
    assert.deepEqual(t.encode("hi", { addSpecialTokens: false }), fromDir.encode("hi"));
  });

  it("accepts deepseek-r1-qwen as the Qwen2 pre-tokenizer (as llama.cpp does)", () => {
    const t = tokenizerFromGguf(withMeta({ "tokenizer.ggml.pre": gv.str("deepseek-r1-qwen") }));
    assert.deepEqual(t.encode(cases[5]!.text, { addSpecialTokens: false }), cases[5]!.ids);
  });

  it("names the file and key of an unsupported or malformed tokenizer", () => {
    throwsNaming(() => tokenizerFromGguf(withMeta({ "tokenizer.ggml.pre": gv.str("llama-bpe") })), g.path, "tokenizer.ggml.pre", '"llama-bpe" is not supported', "qwen2");
    throwsNaming(() => tokenizerFromGguf(withMeta({ "tokenizer.ggml.pre": undefined })), g.path, "tokenizer.ggml.pre", "missing");
    throwsNaming(() => tokenizerFromGguf(withMeta({ "tokenizer.ggml.model": gv.str("llama") })), g.path, "tokenizer.ggml.model", '"llama"');
    throwsNaming(() => tokenizerFromGguf(withMeta({ "tokenizer.ggml.tokens": undefined })), g.path, "tokenizer.ggml.tokens");
    const merges = { type: "array", value: { itemType: "string", items: ["Ġ t", "Ġtx"] } } as const;
    throwsNaming(() => tokenizerFromGguf(withMeta({ "tokenizer.ggml.merges": merges })), g.path, "tokenizer.ggml.merges", "entry 1", '"Ġtx"');
    const types = g.metadata.get("tokenizer.ggml.token_type");
    assert.ok(types?.type === "array" && types.value.itemType === "i32");
    const bad = types.value.items.slice();
    bad[7] = 6; // a byte token, which gpt2 vocabularies never have
    throwsNaming(
      () => tokenizerFromGguf(withMeta({ "tokenizer.ggml.token_type": { type: "array", value: { itemType: "i32", items: bad } } })),
      "tokenizer.ggml.token_type",
      "token 7",
    );
  });
});
