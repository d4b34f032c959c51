import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QwenrtError } from "../util/errors.js";
import { buildPreTokenizer, buildPreTokenizerIter } from "./pretokenize.js";
import type { PreTokenizerStep, SplitBehavior } from "./spec.js";

const byteLevel: PreTokenizerStep = { kind: "byteLevel", addPrefixSpace: false, useRegex: false };

/** The pieces of `text`; the lazy pipeline (`buildPreTokenizerIter`) must give the same ones. */
function pieces(steps: PreTokenizerStep[], text: string): string[] {
  const out: string[] = [];
  buildPreTokenizer(steps, "t")(text, (p) => out.push(p));
  assert.deepEqual([...buildPreTokenizerIter(steps, "t")(text)], out, "lazy pipeline");
  return out;
}

function split(pattern: { regex: string } | { literal: string }, behavior: SplitBehavior, invert = false): PreTokenizerStep {
  return { kind: "split", pattern, behavior, invert };
}

describe("buildPreTokenizer", () => {
  it("implements every split behavior as documented by tokenizers (the-final--countdown)", () => {
    const text = "the-final--countdown";
    const expected: Record<SplitBehavior, string[]> = {
      Removed: ["the", "final", "countdown"],
      Isolated: ["the", "-", "final", "-", "-", "countdown"],
      MergedWithPrevious: ["the-", "final-", "-", "countdown"],
      MergedWithNext: ["the", "-final", "-", "-countdown"],
      Contiguous: ["the", "-", "final", "--", "countdown"],
    };
    for (const [behavior, want] of Object.entries(expected) as Array<[SplitBehavior, string[]]>) {
      assert.deepEqual(pieces([split({ literal: "-" }, behavior), byteLevel], text), want, behavior);
      assert.deepEqual(pieces([split({ regex: "-" }, behavior), byteLevel], text), want, `${behavior} (regex)`);
    }
  });

  it("inverts matches and gaps", () => {
    assert.deepEqual(pieces([split({ regex: "\\p{L}+" }, "Removed", true), byteLevel], "ab, cd!"), ["ab", "cd"]);
  });

  it("skips empty matches without looping", () => {
    assert.deepEqual(pieces([split({ regex: "x*" }, "Isolated"), byteLevel], "axxb😀"), ["a", "xx", "b", "😀"]);
  });

  it("applies the GPT-2 split and prefix space of the ByteLevel step", () => {
    const steps: PreTokenizerStep[] = [{ kind: "byteLevel", addPrefixSpace: true, useRegex: true }];
    assert.deepEqual(pieces(steps, "Hello world's  end"), [" Hello", " world", "'s", " ", " end"]);
  });

  it("requires ByteLevel as the last step", () => {
    assert.throws(() => buildPreTokenizer([split({ literal: "-" }, "Isolated")], "tokenizer.json"), QwenrtError);
    assert.throws(() => buildPreTokenizer([byteLevel, split({ literal: "-" }, "Isolated")], "tokenizer.json"), QwenrtError);
  });
});
