import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AddedTokenSpec } from "./spec.js";
import { qwen3, qwen3Spec } from "./test-helpers.js";
import { Tokenizer } from "./tokenizer.js";

const X = 151669;
function withToken(flags: Partial<AddedTokenSpec>, content = "<x>"): Tokenizer {
  const token: AddedTokenSpec = { id: X, content, special: false, lstrip: false, rstrip: false, singleWord: false, normalized: false, ...flags };
  return new Tokenizer({ ...qwen3Spec(), addedTokens: [...qwen3Spec().addedTokens, token] });
}
const plain = (s: string): number[] => qwen3().encode(s, { addSpecialTokens: false });

describe("added tokens", () => {
  it("lstrip swallows whitespace on the left only", () => {
    const tok = withToken({ lstrip: true });
    assert.deepEqual(tok.encode("a \t <x> b", { addSpecialTokens: false }), [...plain("a"), X, ...plain(" b")]);
    assert.equal(tok.decode(tok.encode("a  <x>", { addSpecialTokens: false })), "a<x>");
  });

  it("rstrip swallows whitespace on the right only", () => {
    const tok = withToken({ rstrip: true });
    assert.deepEqual(tok.encode("a <x>  \nb", { addSpecialTokens: false }), [...plain("a "), X, ...plain("b")]);
  });

  it("single_word only matches between non-word characters", () => {
    const tok = withToken({ singleWord: true });
    assert.deepEqual(tok.encode("a<x>", { addSpecialTokens: false }), plain("a<x>"));
    assert.deepEqual(tok.encode("<x>b", { addSpecialTokens: false }), plain("<x>b"));
    assert.deepEqual(tok.encode("(<x>) <x>", { addSpecialTokens: false }), [...plain("("), X, ...plain(") "), X]);
  });

  it("normalized tokens match after NFC, raw ones only as written", () => {
    const composed = "\u00e9t\u00e9";
    const decomposed = "e\u0301te\u0301";
    const norm = withToken({ normalized: true }, composed);
    assert.deepEqual(norm.encode(`a${decomposed}`, { addSpecialTokens: false }), [...plain("a"), X]);
    const raw = withToken({ normalized: false }, composed);
    assert.deepEqual(raw.encode(`a${decomposed}`, { addSpecialTokens: false }), plain(`a${composed}`));
    assert.deepEqual(raw.encode(`a${composed}`, { addSpecialTokens: false }), [...plain("a"), X]);
  });

  it("prefers the longest token at the leftmost position", () => {
    const tok = new Tokenizer({
      ...qwen3Spec(),
      addedTokens: [
        ...qwen3Spec().addedTokens,
        { id: X, content: "<|im", special: false, lstrip: false, rstrip: false, singleWord: false, normalized: false },
      ],
    });
    assert.deepEqual(tok.encode("<|im_start|><|imx", { addSpecialTokens: false }), [151644, X, ...plain("x")]);
  });
});
