import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QwenrtError } from "../util/errors.js";
import { caseVariants, compileOnigPattern } from "./regex.js";
import { QWEN2_PRETOKENIZER_REGEX } from "./spec.js";

const all = (re: RegExp, s: string): string[] => Array.from(s.matchAll(re), (m) => m[0]);

describe("compileOnigPattern", () => {
  it("expands (?i:…) into case-folded alternatives, including ſ and the Kelvin sign", () => {
    const re = compileOnigPattern("(?i:'s|'k)", "t");
    assert.deepEqual(all(re, "'s 'S '\u017f 'k 'K '\u212a 'x"), ["'s", "'S", "'\u017f", "'k", "'K", "'\u212a"]);
    assert.deepEqual(caseVariants("k").sort(), ["K", "k", "\u212a"]);
  });

  it("folds class ranges and honours (?i) to the end of the group and (?-i:…)", () => {
    assert.deepEqual(all(compileOnigPattern("(?i:[a-c]+)", "t"), "AbCd"), ["AbC"]);
    assert.deepEqual(all(compileOnigPattern("(x(?i)y)z", "t"), "xYz xYZ Xyz"), ["xYz"]);
    assert.deepEqual(all(compileOnigPattern("(?i:a(?-i:b)c)", "t"), "AbC ABC"), ["AbC"]);
  });

  it("keeps case sensitivity outside the group", () => {
    const re = compileOnigPattern("(?i:a)b", "t");
    assert.deepEqual(all(re, "ab Ab aB"), ["ab", "Ab"]);
  });

  it("maps \\s to Unicode White_Space (U+0085 yes, U+FEFF no)", () => {
    const re = compileOnigPattern("\\s+", "t");
    assert.deepEqual(all(re, "a\u0085b\ufeffc\u3000d"), ["\u0085", "\u3000"]);
    const cls = compileOnigPattern("[^\\s\\p{L}]+", "t");
    assert.deepEqual(all(cls, "ab\ufeff!\u0085?"), ["\ufeff!", "?"]);
  });

  it("treats . as anything but \\n and ^/$ as \\n-only line anchors", () => {
    assert.deepEqual(all(compileOnigPattern(".+", "t"), "a\rb\nc"), ["a\rb", "c"]);
    assert.deepEqual(all(compileOnigPattern("^x", "t"), "x\rx\nx"), ["x", "x"]);
  });

  it("splits Qwen's contractions case-insensitively", () => {
    const re = compileOnigPattern(QWEN2_PRETOKENIZER_REGEX, "t");
    assert.deepEqual(all(re, "IT'S I'M"), ["IT", "'S", " I", "'M"]);
  });

  it("rejects constructs it cannot translate with a QwenrtError naming the field", () => {
    for (const p of ["(?>a)", "[a[b]]", "(?x: a )", "\\W[\\W]", "a++", "[a&&b]"]) {
      assert.throws(
        () => compileOnigPattern(p, "tokenizer.json: pre_tokenizer.pattern.Regex"),
        (e: unknown) => e instanceof QwenrtError && e.message.startsWith("tokenizer.json: pre_tokenizer.pattern.Regex"),
        p,
      );
    }
  });
});
