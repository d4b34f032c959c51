// The pattern compiler against JavaScript's own RegExp (the `u` dialect validators run): on every
// probe string the automaton over the JSON-encoded body accepts exactly what RegExp.test accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dfaMatches } from "./dfa.js";
import { formatDfa, FORMAT_PATTERNS } from "./formats.js";
import { compilePattern, RegexUnsupported } from "./regex.js";
import { rng } from "../../../test/helpers/rng.js";

const enc = new TextEncoder();
/** The bytes between the quotes of JSON.stringify(s). */
const body = (s: string): Uint8Array => enc.encode(JSON.stringify(s).slice(1, -1));

const PATTERNS: Record<string, string[]> = {
  "^[A-Z]{3}-\\d+$": ["ABC-1", "XYZ-123", "AB-1", "ABC-", "abc-1", "ABC-1x"],
  "abc": ["abc", "xxabcxx", "ab", "acb", ""],
  "^a|b$": ["a", "axx", "b", "xxb", "xa", "bx"],
  "^(?:a|b)+c?$": ["ab", "abc", "c", "", "aabbc", "abcc"],
  "^(?!\\.)(?!.*\\.\\.)[A-Za-z0-9.]+@[a-z]+\\.[a-z]{2,}$": ["a.b@x.com", "a@b.co", ".a@x.com", "a..b@x.com", "a@x"],
  "^P(?!$)(?:(?:\\d+Y)?(?:\\d+M)?(?:\\d+D)?(?:T(?=\\d)(?:\\d+H)?(?:\\d+M)?(?:\\d+S)?)?|\\d+W)$": ["P3W", "P1Y2M", "PT5H", "P1DT2H3M4S", "P", "PT", "P1W2D", "P1YT"],
  '^[^"\\\\]*"\\n\\u00e9.$': ['x"\né😀', '"\né"', 'x\\"\né😀', 'x"\né'],
  "^$|^(?:[0-9a-zA-Z+/]{4})*(?:[0-9a-zA-Z+/]{2}==|[0-9a-zA-Z+/]{3}=)?$": ["", "QUJD", "QUI=", "QUJ", "Q==="],
  "^[\\s\\S]{2,3}$": ["ab", 'a"c', "\tx", "a", "abcd", "😀😀"],
  "^\\p{L}?x$": [],
  "^[^a-z]\\w\\W\\S\\s.$": ["Aa-b x", "aa-b x", "A_ b\tx", "Aa-b x\n"],
  "^\\u{1F600}[\\x41-\\x43]\\/\\.$": ["😀B/.", "😀D/.", "😀B/x"],
  "^(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d+)?)?$": ["12:30", "23:59:59.5", "24:00", "12:3"],
};

test("patterns accept exactly what RegExp(pattern, 'u') accepts, on listed and random strings", () => {
  const r = rng(7);
  const alphabet = [..."aAbBcxyzXYZ019-.@/\"\\\n\t é😀PTWYMDHS:=+_"];
  for (const [p, probes] of Object.entries(PATTERNS)) {
    let d;
    try {
      d = compilePattern(p);
    } catch (e) {
      assert.ok(e instanceof RegexUnsupported && p.includes("\\p{"), `${p}: ${String(e)}`);
      continue;
    }
    const re = new RegExp(p, "u");
    const randoms = Array.from({ length: 300 }, () => Array.from({ length: Math.floor(r() * 9) }, () => alphabet[Math.floor(r() * alphabet.length)]).join(""));
    for (const s of [...probes, ...randoms]) assert.equal(dfaMatches(d, body(s)), re.test(s), `${p} on ${JSON.stringify(s)}`);
  }
});

test("strings are written one canonical way: raw UTF-8, short escapes, no \\u for printable text", () => {
  const d = compilePattern("^.*$");
  assert.equal(dfaMatches(d, body('say "hi"\t😀')), true);
  assert.equal(dfaMatches(d, enc.encode("\\u0041")), false); // A must be written as A
  assert.equal(dfaMatches(d, enc.encode("\\/")), false); // and / as /
  assert.equal(dfaMatches(d, enc.encode('"')), false); // an unescaped quote would end the string
  assert.equal(dfaMatches(compilePattern("^\\x01$"), enc.encode("\\u0001")), true); // controls alone keep their escape
});

test("unsupported features are named: backreferences, lookbehind, word boundaries, property escapes", () => {
  for (const p of ["^(a)\\1$", "(?<=a)b", "\\bword", "^\\p{Lu}$", "^(?:a(?=b))+b$"]) {
    assert.throws(() => compilePattern(p), RegexUnsupported, p);
  }
  assert.throws(() => compilePattern("(unclosed"), SyntaxError);
});

test("length bounds per state: fewest and most characters to a match", () => {
  const d = compilePattern("^[a-z]{2,4}$");
  assert.equal(d.minChars[0], 2);
  assert.equal(d.maxChars[0], 4);
  assert.equal(compilePattern("^a+$").maxChars[0], Infinity);
});

test("format automata agree with their own patterns and reject near misses", () => {
  const samples: Record<string, [string[], string[]]> = {
    date: [["2024-02-29", "1999-12-31"], ["2023-02-29", "2024-13-01", "2024-1-01"]],
    time: [["12:30:00Z", "23:59:59.123+05:30"], ["24:00:00Z", "12:30:00", "12:30Z"]],
    "date-time": [["2024-01-02T03:04:05Z"], ["2024-01-02 03:04:05Z", "2024-01-02T03:04:05"]],
    uuid: [["123e4567-e89b-42d3-a456-426614174000"], ["123e4567-e89b-02d3-a456-426614174000", "123E4567-e89b-42d3-a456-426614174000"]],
    email: [["a.b+c@example.co"], ["a..b@example.com", "a@b", "@x.io"]],
    uri: [["https://example.com/a/b?x=1#f", "http://a.io"], ["example.com", "https://exa mple.com"]],
    ipv4: [["192.168.0.1"], ["256.1.1.1", "1.2.3"]],
    duration: [["P1Y2M3DT4H5M6S", "P2W"], ["P", "PT", "P1H"]],
  };
  for (const [name, [ok, bad]] of Object.entries(samples)) {
    const d = formatDfa(name);
    assert.ok(d !== undefined, name);
    const re = new RegExp(FORMAT_PATTERNS[name], "u");
    for (const s of ok) assert.ok(dfaMatches(d, body(s)) && re.test(s), `${name} accepts ${s}`);
    for (const s of bad) assert.ok(!dfaMatches(d, body(s)) && !re.test(s), `${name} rejects ${s}`);
  }
  assert.equal(formatDfa("color"), undefined);
});
