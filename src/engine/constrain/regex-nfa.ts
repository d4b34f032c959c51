// Regex syntax trees (regex.ts parses them) compiled to byte automata over the JSON-encoded body
// of a string: each character written one canonical way — raw UTF-8; `\"`, `\\`, `\b \f \n \r \t`;
// other controls as `\u00xx`, and those only where a class holds nothing printable.
import { type Dfa, Nfa, nfaToDfa, product } from "./dfa.js";

/** A pattern uses a feature with no automaton (named in `message`). */
export class RegexUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegexUnsupported";
  }
}

export type Range = readonly [number, number];
/** Regex syntax tree; `set` ranges are code points (surrogates excluded), sorted and disjoint. */
export type Re =
  | { readonly t: "set"; readonly ranges: readonly Range[] }
  | { readonly t: "seq"; readonly items: readonly Re[] }
  | { readonly t: "alt"; readonly items: readonly Re[] }
  | { readonly t: "rep"; readonly item: Re; readonly min: number; readonly max: number }
  | { readonly t: "bol" }
  | { readonly t: "eol" }
  | { readonly t: "look"; readonly neg: boolean; readonly item: Re }
  | { readonly t: "and"; readonly a: Re; readonly b: Re; readonly neg: boolean };

export const MAX_CP = 0x10ffff;
export const ALL: readonly Range[] = [[0, 0xd7ff], [0xe000, MAX_CP]];
export const DIGIT: readonly Range[] = [[0x30, 0x39]];
export const WORD: readonly Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
export const SPACE: readonly Range[] = [
  [0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff],
];
export const LINE_END: readonly Range[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];
export const ANY_STAR: Re = { t: "rep", item: { t: "set", ranges: ALL }, min: 0, max: Infinity };


const SHORT_ESCAPES: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" };
const enc = new TextEncoder();

/** Canonical JSON-string bytes of a code point that must be escaped, or undefined. */
function escapedBytes(cp: number): Uint8Array | undefined {
  if (cp in SHORT_ESCAPES) return enc.encode(SHORT_ESCAPES[cp]);
  if (cp < 0x20) return enc.encode(`\\u${cp.toString(16).padStart(4, "0")}`);
  return undefined;
}

/** UTF-8 byte-range sequences covering code points lo..hi (no surrogates in the range). */
export function utf8Ranges(lo: number, hi: number, out: Range[][]): void {
  const limits = [0x7f, 0x7ff, 0xffff, MAX_CP];
  for (let k = 0; k < limits.length; k++) {
    const bandLo = k === 0 ? 0 : limits[k - 1] + 1;
    const a = Math.max(lo, bandLo);
    const b = Math.min(hi, limits[k]);
    if (a <= b) splitSameLength(a, b, k + 1, out);
  }
}

function splitSameLength(lo: number, hi: number, len: number, out: Range[][]): void {
  for (let i = 1; i < len; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        splitSameLength(lo, lo | m, len, out);
        splitSameLength((lo | m) + 1, hi, len, out);
        return;
      }
      if ((hi & m) !== m) {
        splitSameLength(lo, (hi & ~m) - 1, len, out);
        splitSameLength(hi & ~m, hi, len, out);
        return;
      }
    }
  }
  const a = enc.encode(String.fromCodePoint(lo));
  const b = enc.encode(String.fromCodePoint(hi));
  out.push(Array.from(a, (x, i) => [x, b[i]] as Range));
}

function compileSet(nfa: Nfa, ranges: readonly Range[], from: number, to: number): void {
  // A set with printable members never needs the rare controls written as \u00xx (a generated
  // string may leave them out); they stay for sets of controls only.
  const printable = ranges.some(([, hi]) => hi >= 0x20);
  for (const [lo, hi] of ranges) {
    // Characters JSON must escape are written one by one; the rest as raw UTF-8 ranges.
    let start = lo;
    for (let cp = lo; cp <= Math.min(hi, 0x5c); cp++) {
      const esc = escapedBytes(cp);
      if (esc === undefined) continue;
      if (cp > start) compileRaw(nfa, start, cp - 1, from, to);
      if (!printable || esc.length === 2) nfa.chain(from, Array.from(esc, (x) => [x, x] as Range), to);
      start = cp + 1;
    }
    if (start <= hi) compileRaw(nfa, start, hi, from, to);
  }
}

function compileRaw(nfa: Nfa, lo: number, hi: number, from: number, to: number): void {
  const seqs: Range[][] = [];
  utf8Ranges(lo, hi, seqs);
  for (const s of seqs) nfa.chain(from, s, to);
}

function compile(nfa: Nfa, n: Re, from: number, to: number): void {
  switch (n.t) {
    case "set":
      return compileSet(nfa, n.ranges, from, to);
    case "seq": {
      let cur = from;
      n.items.forEach((x, i) => {
        const next = i === n.items.length - 1 ? to : nfa.state();
        compile(nfa, x, cur, next);
        cur = next;
      });
      if (n.items.length === 0) nfa.epsilon(from, to);
      return;
    }
    case "alt":
      for (const x of n.items) compile(nfa, x, from, to);
      return;
    case "rep": {
      let cur = from;
      for (let k = 0; k < n.min; k++) {
        const next = nfa.state();
        compile(nfa, n.item, cur, next);
        cur = next;
      }
      if (n.max === Infinity) {
        const loop = nfa.state();
        nfa.epsilon(cur, loop);
        compile(nfa, n.item, loop, loop);
        nfa.epsilon(loop, to);
        return;
      }
      for (let k = n.min; k < n.max; k++) {
        nfa.epsilon(cur, to);
        const next = nfa.state();
        compile(nfa, n.item, cur, next);
        cur = next;
      }
      nfa.epsilon(cur, to);
      return;
    }
    case "and":
      // (?=B)A: what A and B both accept; (?!B)A: what A accepts and B does not.
      return nfa.embed(product(toDfa(n.a), toDfa(n.b), n.neg ? "andNot" : "and"), from, to);
    default:
      throw new RegexUnsupported(`${n.t} here`);
  }
}

export function toDfa(n: Re): Dfa {
  const nfa = new Nfa();
  const s = nfa.state();
  const e = nfa.state();
  compile(nfa, n, s, e);
  return nfaToDfa(nfa, s, e, "pattern");
}

