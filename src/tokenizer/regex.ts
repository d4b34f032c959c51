/**
 * Translate the Oniguruma patterns in `tokenizer.json` (what Hugging Face `tokenizers` compiles) into
 * JavaScript `u`-mode RegExps with the same meaning: Unicode `\s`/`\w`/`\d`, line anchors that only
 * know `\n`, `.` that excludes only `\n`, and inline case-insensitive groups `(?i:…)` expanded into
 * case-folded character sets (JavaScript lacks inline modifiers before V8 12.5).
 */
import { QwenrtError } from "../util/errors.js";

// Oniguruma's Unicode \s is White_Space; JS \s adds U+FEFF and misses U+0085.
const SPACE = "\\p{White_Space}";
const NOT_SPACE = "\\P{White_Space}";
// Oniguruma's Unicode \w: Letter | Mark | Decimal_Number | Connector_Punctuation.
const WORD_IN_CLASS = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
const LINE_START = "(?<![^\\n])";
const LINE_END = "(?![^\\n])";
const SYNTAX_CHARS = "^$\\.*+?()[]{}|/";

/**
 * Compile an Oniguruma pattern into a global, Unicode JS RegExp.
 *
 * @param where file/field named in errors (e.g. `tokenizer.json: pre_tokenizer.pattern.Regex`)
 * @example
 * const re = compileOnigPattern("(?i:'s|'t)|\\p{L}+", "tokenizer.json");
 * "It'S".match(re); // ["It", "'S"]
 */
export function compileOnigPattern(pattern: string, where: string): RegExp {
  const source = translateOnigPattern(pattern, where);
  try {
    return new RegExp(source, "gu");
  } catch (e) {
    throw new QwenrtError(where, `unsupported regex ${JSON.stringify(pattern)} (${(e as Error).message})`);
  }
}

/** The JavaScript `u`-mode source equivalent to an Oniguruma pattern (see `compileOnigPattern`). */
export function translateOnigPattern(pattern: string, where: string): string {
  const fail = (i: number, what: string): never => {
    throw new QwenrtError(where, `unsupported regex construct ${what} at offset ${i} in ${JSON.stringify(pattern)}`);
  };
  let out = "";
  const ciStack: boolean[] = []; // case-insensitivity of each open group
  let ci = false;
  let inClass = false;
  let classStart = false; // just after `[` or `[^`
  const chars = Array.from(pattern);
  let i = 0;

  // Emit one literal code point, case-folded when inside (?i:…).
  const literal = (ch: string): void => {
    if (inClass) {
      out += ci ? caseVariants(ch).map(classEscape).join("") : classEscape(ch);
    } else if (ci && caseVariants(ch).length > 1) {
      out += `[${caseVariants(ch).map(classEscape).join("")}]`;
    } else {
      out += SYNTAX_CHARS.includes(ch) ? `\\${ch}` : ch;
    }
  };

  while (i < chars.length) {
    const ch = chars[i];
    const wasClassStart = classStart;
    classStart = false;
    if (ch === "\\") {
      const e = chars[i + 1];
      if (e === undefined) fail(i, "trailing backslash");
      i += 2;
      if (e === "p" || e === "P") {
        if (chars[i] === "{") {
          const close = chars.indexOf("}", i);
          if (close < 0) fail(i, "unterminated \\p{");
          out += `\\${e}{${chars.slice(i + 1, close).join("")}}`;
          i = close + 1;
        } else {
          out += `\\${e}{${chars[i] ?? fail(i, "\\p")}}`;
          i++;
        }
        continue;
      }
      if (e === "x" && chars[i] === "{") {
        const close = chars.indexOf("}", i);
        if (close < 0) fail(i, "unterminated \\x{");
        literal(String.fromCodePoint(parseInt(chars.slice(i + 1, close).join(""), 16)));
        i = close + 1;
        continue;
      }
      if (e === "x" || e === "u") {
        const n = e === "x" ? 2 : 4;
        const hex = chars.slice(i, i + n).join("");
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail(i, `\\${e}`);
        literal(String.fromCodePoint(parseInt(hex, 16)));
        i += n;
        continue;
      }
      switch (e) {
        case "s":
          out += SPACE;
          continue;
        case "S":
          out += NOT_SPACE;
          continue;
        case "d":
          out += "\\p{Nd}";
          continue;
        case "D":
          out += "\\P{Nd}";
          continue;
        case "w":
          out += inClass ? WORD_IN_CLASS : `[${WORD_IN_CLASS}]`;
          continue;
        case "W":
          if (inClass) fail(i - 2, "\\W inside a character class");
          out += `[^${WORD_IN_CLASS}]`;
          continue;
        case "n":
        case "r":
        case "t":
        case "f":
        case "v":
          out += `\\${e}`;
          continue;
        case "a":
          out += "\\x07";
          continue;
        case "e":
          out += "\\x1b";
          continue;
      }
      if (!inClass) {
        if (e === "A") {
          out += "(?<![\\s\\S])";
          continue;
        }
        if (e === "z") {
          out += "(?![\\s\\S])";
          continue;
        }
        if (e === "Z") {
          out += "(?=\\n?(?![\\s\\S]))";
          continue;
        }
        if (e === "b" || e === "B") {
          const w = `[${WORD_IN_CLASS}]`;
          out +=
            e === "b"
              ? `(?:(?<!${w})(?=${w})|(?<=${w})(?!${w}))`
              : `(?:(?<!${w})(?!${w})|(?<=${w})(?=${w}))`;
          continue;
        }
        if (e >= "1" && e <= "9") {
          out += `\\${e}`;
          continue;
        }
      }
      if (/^[\p{L}\p{N}]$/u.test(e)) fail(i - 2, `\\${e}`);
      literal(e); // identity escape of punctuation: `\'`, `\-`, `\.` …
      continue;
    }
    if (inClass) {
      if (ch === "]" && !wasClassStart) {
        inClass = false;
        out += "]";
        i++;
        continue;
      }
      if (ch === "[") fail(i, "nested character class");
      if (ch === "&" && chars[i + 1] === "&") fail(i, "class intersection &&");
      if (ch === "-" && !wasClassStart && chars[i + 1] !== "]") {
        // A range. Under (?i:…) add the case variants of every member.
        const lo = chars[i - 1];
        const hi = chars[i + 1];
        if (hi === "\\" || hi === "[") fail(i, "range with an escaped or set endpoint");
        out += `-${classEscape(hi)}`;
        if (ci) {
          const a = lo.codePointAt(0) ?? 0;
          const b = hi.codePointAt(0) ?? 0;
          if (b - a > 4096) fail(i, "case-insensitive range wider than 4096 code points");
          for (let c = a; c <= b; c++) out += caseVariants(String.fromCodePoint(c)).map(classEscape).join("");
        }
        i += 2;
        continue;
      }
      literal(ch);
      i++;
      continue;
    }
    switch (ch) {
      case "[":
        inClass = true;
        classStart = true;
        out += "[";
        i++;
        if (chars[i] === "^") {
          out += "^";
          i++;
        }
        continue;
      case "(": {
        ciStack.push(ci);
        const rest = chars.slice(i, i + 4).join("");
        const flags = /^\(\?([imx-]*)([:)])/.exec(chars.slice(i, i + 12).join(""));
        if (flags !== null && flags[1] !== "") {
          if (/[mx]/.test(flags[1])) fail(i, `inline flags (?${flags[1]})`);
          const on = !flags[1].startsWith("-");
          if (flags[2] === ":") {
            ci = on;
            out += "(?:";
          } else {
            // `(?i)` applies to the rest of the enclosing group.
            ciStack.pop();
            ci = on;
          }
          i += flags[0].length;
          continue;
        }
        if (rest.startsWith("(?>")) fail(i, "atomic group (?>");
        if (rest.startsWith("(?#")) fail(i, "comment group (?#");
        if (rest.startsWith("(?") && !/^\(\?(?::|=|!|<=|<!|<[A-Za-z_])/.test(rest)) fail(i, rest);
        out += "(";
        i++;
        continue;
      }
      case ")":
        if (ciStack.length === 0) fail(i, "unbalanced )");
        ci = ciStack.pop() ?? false;
        out += ")";
        i++;
        continue;
      case ".":
        out += "[^\\n]";
        i++;
        continue;
      case "^":
        out += LINE_START;
        i++;
        continue;
      case "$":
        out += LINE_END;
        i++;
        continue;
      case "*":
      case "+":
      case "?":
      case "|":
      case "{":
      case "}":
        out += ch;
        i++;
        continue;
      default:
        literal(ch);
        i++;
    }
  }
  if (inClass) fail(pattern.length, "unterminated character class");
  return out;
}

function classEscape(ch: string): string {
  return "\\]^-[".includes(ch) ? `\\${ch}` : ch;
}

let allCodePoints: string | undefined;
const variantCache = new Map<string, string[]>();

/**
 * Every code point that matches `ch` case-insensitively under Unicode simple case folding (what
 * Oniguruma's `(?i)` does for single characters): `s` → `s S ſ`, `k` → `k K K`.
 */
export function caseVariants(ch: string): string[] {
  const cached = variantCache.get(ch);
  if (cached !== undefined) return cached;
  let found = [ch];
  if (ch.toLowerCase() !== ch.toUpperCase() || /\p{L}/u.test(ch)) {
    // Cased letters all sit below U+1F000; scan them once with the engine's own case folding.
    allCodePoints ??= Array.from({ length: 0x1f000 }, (_, c) =>
      c >= 0xd800 && c <= 0xdfff ? "" : String.fromCodePoint(c),
    ).join("");
    const re = new RegExp(ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"), "giu");
    found = Array.from(new Set([ch, ...Array.from(allCodePoints.matchAll(re), (m) => m[0])]));
  }
  variantCache.set(ch, found);
  return found;
}
