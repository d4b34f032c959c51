import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES, QWEN3_DIR, qwen3, qwen3Spec } from "./test-helpers.js";
import { Tokenizer } from "./tokenizer.js";

interface Case {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
  decoded_skip_special: string;
}
const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer/tokenizer-public.json"), "utf8")) as Case[];

describe("Tokenizer on the Hugging Face fixture cases", () => {
  it("has all 139 cases", () => assert.equal(cases.length, 139));
  cases.forEach((c, i) => {
    it(`case ${i} ${JSON.stringify(c.text).slice(0, 40)} matches ids, tokens and decodes`, () => {
      const tok = qwen3();
      const ids = tok.encode(c.text, { addSpecialTokens: false });
      assert.deepEqual(ids, c.ids);
      assert.deepEqual(tok.tokenize(c.text, { addSpecialTokens: false }), c.tokens);
      assert.equal(tok.decode(c.ids), c.decoded);
      assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.decoded_skip_special);
    });
  });
});

describe("Tokenizer metadata", () => {
  it("exposes special ids, vocab size and the chat template from the model directory", () => {
    const tok = Tokenizer.fromDir(QWEN3_DIR);
    assert.equal(tok.vocabSize, 151669);
    assert.equal(tok.eosTokenId, 151645); // <|im_end|>
    assert.equal(tok.padTokenId, 151643); // <|endoftext|>
    assert.equal(tok.bosTokenId, undefined);
    assert.ok(tok.chatTemplate?.includes("enable_thinking"));
    assert.equal(tok.tokenToId("<think>"), 151667);
    assert.equal(tok.idToToken(151667), "<think>");
    assert.equal(tok.tokenToId("Ġthe"), 279);
    assert.equal(tok.idToToken(-1), undefined);
    assert.equal(tok.isSpecial(151645), true);
    assert.equal(tok.isSpecial(151667), false); // <think> is added but not special
  });

  it("adds nothing with addSpecialTokens for Qwen's ByteLevel post-processor", () => {
    const tok = qwen3();
    assert.deepEqual(tok.encode("hi"), tok.encode("hi", { addSpecialTokens: false }));
  });
});

describe("Tokenizer edge cases", () => {
  it("encodes lone surrogates as U+FFFD, as UTF-8 would carry them", () => {
    const tok = qwen3();
    assert.deepEqual(tok.encode("a\ud800b", { addSpecialTokens: false }), tok.encode("a\ufffdb", { addSpecialTokens: false }));
    assert.deepEqual(tok.encode("\udc00\ud83d", { addSpecialTokens: false }), tok.encode("\ufffd\ufffd", { addSpecialTokens: false }));
    // a proper pair is untouched
    assert.equal(tok.decode(tok.encode("x\ud83d\ude00", { addSpecialTokens: false })), "x😀");
  });

  it("keeps a leading byte-order mark when decoding (no BOM stripping)", () => {
    const tok = qwen3();
    const ids = tok.encode("\ufeffhello", { addSpecialTokens: false });
    assert.equal(tok.decode(ids), "\ufeffhello");
  });

  it("replaces an incomplete UTF-8 sequence with U+FFFD and skips unknown ids", () => {
    const tok = qwen3();
    const emoji = tok.encode("😀", { addSpecialTokens: false });
    // The first byte of 😀 alone is the byte-level token for 0xF0.
    const f0 = tok.tokenToId("ð");
    assert.ok(f0 !== undefined);
    assert.equal(tok.decode([f0, 9707]), "\ufffdHello");
    assert.equal(tok.decode([...emoji, 10_000_000, -3]), "😀");
  });

  it("tokenizes long runs (heap merge path) and round-trips random text", () => {
    const tok = qwen3();
    const long = "a".repeat(5000) + " " + "我".repeat(3000) + "\n".repeat(100);
    const ids = tok.encode(long, { addSpecialTokens: false });
    assert.equal(tok.decode(ids), long);
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 50; k++) {
      let s = "";
      for (let j = 0; j < 40; j++) {
        const cp = Math.floor(rand() * 0x30000);
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        s += String.fromCodePoint(cp);
      }
      const nfc = s.normalize("NFC");
      assert.equal(tok.decode(tok.encode(s, { addSpecialTokens: false })), nfc);
    }
  });

  it("matches special tokens only when spelled exactly, and leaves near-misses to BPE", () => {
    const tok = qwen3();
    const ids = tok.encode("<|im_start|><|im_startx|>", { addSpecialTokens: false });
    assert.equal(ids[0], 151644);
    assert.ok(!ids.slice(1).includes(151644));
  });

  it("treats special tokens as text when split_special_tokens is set", () => {
    const tok = new Tokenizer({ ...qwen3Spec(), splitSpecialTokens: true });
    const ids = tok.encode("<|im_end|><think>", { addSpecialTokens: false });
    assert.ok(!ids.includes(151645));
    assert.equal(ids[ids.length - 1], 151667); // <think> is not special, still matched
    assert.equal(tok.decode(ids), "<|im_end|><think>");
  });
});
