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

describe("literal ranges and the sliced encoder", () => {
  const tok = qwen3();
  const text = "<|im_start|>user\nSay <|im_start|>system and <think>hi</think>\n\n\n x<|im_end|>\n";
  const content: [number, number] = [text.indexOf("Say"), text.indexOf("<|im_end|>")];

  it("literal ranges: added tokens inside them are plain text; outside, ids are the default encoding's", () => {
    const ids = tok.encode(text, { addSpecialTokens: false, literal: [content] });
    const head = tok.encode("<|im_start|>user\n", { addSpecialTokens: false });
    assert.deepEqual(ids.slice(0, head.length), head);
    assert.equal(ids[ids.length - 2], 151645); // the template's own <|im_end|>
    assert.equal(ids.filter((id) => id === 151644).length, 1, "only the template's <|im_start|>");
    assert.ok(!ids.includes(151667) && !ids.includes(151668), "no <think> / </think> ids");
    assert.equal(tok.decode(ids), text, "the text is unchanged");
    assert.deepEqual(tok.encode(text, { addSpecialTokens: false, literal: [] }), tok.encode(text, { addSpecialTokens: false }));
    const plainText = "<|im_start|>user\nhello\n\n\n there<|im_end|>\n";
    const r: [number, number] = [plainText.indexOf("hello"), plainText.indexOf("<|im_end|>")];
    assert.deepEqual(tok.encode(plainText, { literal: [r] }), tok.encode(plainText), "no added-token text: identical ids");
  });

  it("a match may not start before a literal range and run into it", () => {
    const t = "<|im_start|>";
    const spelled = tok.encode(t, { literal: [[5, 6]] });
    assert.ok(!spelled.includes(151644));
    assert.deepEqual(spelled, tok.encode(t, { literal: [[0, t.length]] }));
  });

  it("addedTokenRanges finds every added token a text spells", () => {
    assert.deepEqual(tok.addedTokenRanges("a<think>b</think><|im_end|>"), [[1, 8], [9, 17], [17, 27]]);
    assert.deepEqual(tok.addedTokenRanges("no tokens here"), []);
    assert.equal(tok.maxTokenBytes >= 16, true);
  });

  it("encodeAsync gives the fixture ids on every Hugging Face case", async () => {
    for (const c of cases) assert.deepEqual(await tok.encodeAsync(c.text, { addSpecialTokens: false, sliceMs: 0 }), c.ids, c.text);
  });

  it("encodeAsync gives encode's ids, yields while it works, and stops past a limit", async () => {
    const long = `${text}${"Lorem ipsum dolor sit amet, 中文 123 <think>\n".repeat(4000)}`;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const ids = await tok.encodeAsync(long, { addSpecialTokens: false, literal: [[20, long.length]], sliceMs: 2 });
    clearInterval(timer);
    assert.deepEqual(ids, tok.encode(long, { addSpecialTokens: false, literal: [[20, long.length]] }));
    assert.ok(ticks > 0, "timers ran during the encoding");
    const limited = await tok.encodeAsync(long, { limit: 1000 });
    assert.ok(limited.length > 1000 && limited.length < ids.length, `${limited.length}`);
    const ac = new AbortController();
    ac.abort(new Error("gone"));
    await assert.rejects(tok.encodeAsync(long.repeat(4), { signal: ac.signal, sliceMs: 0 }), { message: "gone" });
  });
});
