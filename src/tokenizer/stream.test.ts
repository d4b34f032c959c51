import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BYTE_TO_CHAR } from "./bytelevel.js";
import { StreamDetokenizer } from "./stream.js";
import { qwen3 } from "./test-helpers.js";

/** Byte-level token ids, one per UTF-8 byte of `s` (forces every multi-byte character to split). */
function byteIds(s: string): number[] {
  return Array.from(new TextEncoder().encode(s), (b) => qwen3().tokenToId(BYTE_TO_CHAR[b]) ?? -1);
}

function streamAll(ids: number[], skip: boolean): { deltas: string[]; tail: string } {
  const s = new StreamDetokenizer(qwen3(), { skipSpecialTokens: skip });
  const deltas = ids.map((id) => s.push(id));
  return { deltas, tail: s.flush() };
}

describe("StreamDetokenizer", () => {
  it("holds back emoji and CJK split across byte tokens until complete", () => {
    const text = "a😀b我👩‍👩‍👧c";
    const ids = byteIds(text);
    assert.ok(!ids.includes(-1));
    const { deltas, tail } = streamAll(ids, false);
    for (const d of deltas) assert.ok(!d.includes("\ufffd"), `delta ${JSON.stringify(d)} has U+FFFD`);
    assert.equal(deltas.join("") + tail, text);
    // The four bytes of 😀: nothing until the last one.
    assert.deepEqual(deltas.slice(1, 5), ["", "", "", "😀"]);
  });

  it("concatenated deltas equal the full decode for random id sequences (property)", () => {
    const tok = qwen3();
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    const pool = tok.encode("混合专家架构 😀👍🏽 ภาษาไทย Ἐν ἀρχῇ <think>x</think><|im_end|>", { addSpecialTokens: false });
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rand(30);
      const ids: number[] = [];
      for (let k = 0; k < n; k++) {
        const r = rand(4);
        ids.push(r === 0 ? rand(tok.vocabSize) : r === 1 ? 151643 + rand(26) : pool[rand(pool.length)]);
      }
      for (const skip of [false, true]) {
        const { deltas, tail } = streamAll(ids, skip);
        const full = tok.decode(ids, { skipSpecialTokens: skip });
        assert.equal(deltas.join("") + tail, full, `ids ${JSON.stringify(ids)}`);
        // No replacement character appears in a delta unless the full decode has one there.
        let prefix = "";
        for (const d of deltas) {
          prefix += d;
          assert.ok(full.startsWith(prefix));
        }
      }
    }
  });

  it("never emits U+FFFD mid-stream for well-formed text tokenized normally", () => {
    const tok = qwen3();
    const text = "漢字、ひらがな、カタカナ 🇵🇰🇨🇳 👩‍👩‍👧‍👦 ∑ ᠮᠣᠩᠭᠣᠯ ខ្ញុំ";
    const { deltas, tail } = streamAll(tok.encode(text, { addSpecialTokens: false }), false);
    for (const d of deltas) assert.ok(!d.includes("\ufffd"));
    assert.equal(deltas.join("") + tail, text);
  });

  it("skips special tokens when asked and resets after flush", () => {
    const tok = qwen3();
    const s = new StreamDetokenizer(tok, { skipSpecialTokens: true });
    const ids = tok.encode("<|im_start|>hi<|im_end|>", { addSpecialTokens: false });
    assert.equal(s.pushAll(ids) + s.flush(), "hi");
    const f0 = tok.tokenToId("ð");
    assert.ok(f0 !== undefined);
    assert.equal(s.push(f0), "");
    assert.equal(s.flush(), "\ufffd"); // dangling lead byte at end of stream, as the full decode shows
    assert.equal(s.push(tok.encode("ok", { addSpecialTokens: false })[0]), "ok");
  });
});
