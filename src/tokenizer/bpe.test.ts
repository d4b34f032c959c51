import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BytePairModel } from "./bpe.js";
import { qwen3Spec } from "./test-helpers.js";

describe("BytePairModel", () => {
  it("heap merge order equals the quadratic scan on random words (differential)", () => {
    const bpe = new BytePairModel(qwen3Spec(), "test");
    let seed = 99;
    const rand = (n: number): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    const alphabets = ["abcdefghij ", "的一是不了人我在有他这", "aab", "🙂😀👍🏽", "ஒருபழமைய", "0123456789"];
    for (let trial = 0; trial < 400; trial++) {
      const alpha = Array.from(alphabets[rand(alphabets.length)]);
      let word = "";
      const n = 1 + rand(40);
      for (let k = 0; k < n; k++) word += alpha[rand(alpha.length)];
      assert.deepEqual(bpe.encodeUncached(word, true), bpe.encodeUncached(word, false), JSON.stringify(word));
    }
  });

  it("cached and uncached results agree", () => {
    const bpe = new BytePairModel(qwen3Spec(), "test");
    for (const w of ["hello", " world", "hello", "混合", "混合"]) {
      const out: number[] = [];
      bpe.encodeTo(w, out);
      assert.deepEqual(out, bpe.encodeUncached(w));
    }
  });

  it("rejects a merge whose parts are not in the vocabulary", () => {
    const vocab = new Map([["a", 0], ["b", 1]]);
    assert.throws(
      () => new BytePairModel({ vocab, merges: [["a", "b"]], ignoreMerges: false }, "tokenizer.json"),
      /tokenizer.json: merge #0 "a b": "ab" is not in the vocabulary/,
    );
  });
});
