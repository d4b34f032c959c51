// Byte-level pushdown matcher over a grammar (grammar.ts). A state is a set of alternative stacks
// (anyOf / optional properties make the grammar nondeterministic); each stack is an immutable linked
// list of frames, so advancing shares the untouched tail and forking a state is free.
// Symbols 0..255 are bytes; SYM_BASE + id is a special token. Whitespace: at most one space, and only
// right after `:` and `,`, so a model cannot loop on whitespace.
import { type Dfa, dfaNext } from "./dfa.js";
import { ANY, type ArrNode, type GNode, type LitNode, type ObjNode, type StrNode, type UntilNode } from "./grammar.js";
import { UTF8, utf8Lead } from "./utf8.js";

/** Frame tags. */
export const F_VALUE = 0;
export const F_LIT = 1;
export const F_STR = 2;
export const F_NUM = 3;
export const F_OBJ = 4;
export const F_ARR = 5;
export const F_SPACE = 6;
export const F_DFA = 7;
export const F_UNTIL = 8;

/** One pending piece of work on a stack. */
export type Frame =
  | { readonly t: typeof F_VALUE; readonly node: GNode }
  | { readonly t: typeof F_LIT; readonly node: LitNode; readonly pos: number }
  | StrFrame
  | { readonly t: typeof F_NUM; readonly integer: boolean; readonly ph: number; readonly d: number }
  | { readonly t: typeof F_OBJ; readonly node: ObjNode; readonly i: number; readonly ph: number }
  | { readonly t: typeof F_ARR; readonly node: ArrNode; readonly c: number; readonly ph: number; readonly used: number }
  | { readonly t: typeof F_SPACE }
  | { readonly t: typeof F_DFA; readonly node: DfaNode; readonly q: number }
  | { readonly t: typeof F_UNTIL; readonly node: UntilNode; readonly m: number };

/** Inside a JSON string: code points so far, escape progress, pending UTF-8 continuation state. */
export interface StrFrame {
  readonly t: typeof F_STR;
  readonly node: StrNode;
  readonly len: number;
  readonly esc: number; // 0 none, 1 after `\`, 2..5 / 6: inside `\uXXXX`
  readonly u8: number; // 0 = at a character boundary, else a UTF8_* state below
  readonly acc: string | null; // raw key bytes (latin1) when the key must avoid declared names
  readonly q: number; // state of the node's pattern automaton (0 without one)
}

type DfaNode = Extract<GNode, { k: "dfa" }>;

/** An immutable stack cell; `k` memoizes the key of the whole stack below and including it. */
export interface Stack {
  readonly f: Frame;
  readonly n: Stack | null;
  k?: string;
}

/** One alternative of a matcher state; `null` is a finished match (only end-of-text may follow). */
export type Alt = Stack | null;

const SPACE: Frame = { t: F_SPACE };
const cell = (f: Frame, n: Stack | null): Stack => ({ f, n });
const vcell = (node: GNode, n: Stack | null): Stack => ({ f: { t: F_VALUE, node }, n });

// Number phases; ZERO, INT, FRAC and EXPD are complete numbers.
const N_MINUS = 0, N_ZERO = 1, N_INT = 2, N_DOT = 3, N_FRAC = 4, N_EXP = 5, N_EXPSIGN = 6, N_EXPD = 7;
/** Digit caps keep numbers finite and exactly representable enough: 16 integer, 16 fraction, 2 exponent
 * digits (at most 10^16 · 10^99: always a finite double). */
export const MAX_INT_DIGITS = 16;
export const MAX_FRAC_DIGITS = 16;
export const MAX_EXP_DIGITS = 2;
/** Whether a number phase is a complete number. */
export const numComplete = (ph: number): boolean => ph === N_ZERO || ph === N_INT || ph === N_FRAC || ph === N_EXPD;

// Object phases.
const O_OPEN = 0, O_KEY = 1, O_AFTER = 2, O_COLON = 3, O_COLONX = 4;
// Array phases.
const A_OPEN = 0, A_AFTER = 1;

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isHex = (b: number): boolean => isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46);
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const utf8Dec = new TextDecoder("utf-8", { fatal: true });

/** The start state of a grammar. */
export function initialState(root: GNode): Alt[] {
  return [vcell(root, null)];
}

/** Append to `out` every successor of `st` after symbol `b` (a byte, or SYM_BASE + special id). */
export function step(st: Alt, b: number, out: Alt[]): void {
  if (st === null) return;
  const f = st.f;
  const rest = st.n;
  switch (f.t) {
    case F_VALUE:
      return stepValue(f.node, rest, b, out);
    case F_LIT: {
      if (f.node.bytes[f.pos] !== b) return;
      const pos = f.pos + 1;
      out.push(pos === f.node.bytes.length ? rest : cell({ t: F_LIT, node: f.node, pos }, rest));
      return;
    }
    case F_STR:
      return stepStr(f, rest, b, out);
    case F_NUM:
      return stepNum(f.integer, f.ph, f.d, rest, b, out);
    case F_OBJ:
      return stepObj(f.node, f.i, f.ph, rest, b, out);
    case F_ARR: {
      const { minItems, maxItems } = f.node;
      if (f.ph === A_OPEN) {
        if (b === 0x5d && minItems === 0) out.push(rest);
        if (maxItems === undefined || maxItems > 0) for (const s of itemStacks(f.node, 0, 0, rest)) step(s, b, out);
      } else {
        if (b === 0x2c && (maxItems === undefined || f.c < maxItems)) {
          for (const s of itemStacks(f.node, f.c, f.used, rest)) out.push(cell(SPACE, s));
        }
        if (b === 0x5d && f.c >= minItems) out.push(rest);
      }
      return;
    }
    case F_SPACE:
      if (b === 0x20) out.push(rest);
      else step(rest, b, out);
      return;
    case F_DFA:
      return stepDfa(f.node, f.q, rest, b, out);
    case F_UNTIL:
      return stepUntil(f.node, f.m, rest, b, out);
  }
}

/** Free text until its terminator: any byte (no special token); done when `end` is complete. */
function stepUntil(node: UntilNode, m: number, rest: Stack | null, b: number, out: Alt[]): void {
  if (b > 0xff) return;
  const k = node.next[m * 256 + b]!;
  out.push(k === node.end.length ? rest : cell({ t: F_UNTIL, node, m: k }, rest));
}

/** Stacks that start item `c` (a tuple's prefix first; with unique literals, one per unused value). */
function itemStacks(node: ArrNode, c: number, used: number, rest: Stack | null): Stack[] {
  if (node.unique === null) return [vcell(c < node.prefix.length ? node.prefix[c] : node.items, cell(arrFrame(node, c + 1, 0), rest))];
  const out: Stack[] = [];
  node.unique.forEach((lit, i) => {
    if ((used & (1 << i)) === 0) out.push(vcell(lit, cell(arrFrame(node, c + 1, used | (1 << i)), rest)));
  });
  return out;
}

/** An array frame after `c` items; without maxItems the count only matters up to minItems and the prefix. */
function arrFrame(node: ArrNode, c: number, used: number): Frame {
  const cap = Math.max(node.minItems, node.prefix.length);
  return { t: F_ARR, node, c: node.maxItems === undefined ? Math.min(c, cap) : c, ph: A_AFTER, used };
}

/** Inside a bounded number: go on with the automaton, or (in an accepting state) end and hand `b` on. */
function stepDfa(node: DfaNode, q: number, rest: Stack | null, b: number, out: Alt[]): void {
  const q2 = dfaNext(node.dfa, q, b);
  if (q2 >= 0) out.push(cell({ t: F_DFA, node, q: q2 }, rest));
  if (node.dfa.accept[q] === 1) step(rest, b, out);
}

function stepValue(node: GNode, rest: Stack | null, b: number, out: Alt[]): void {
  switch (node.k) {
    case "ref":
      if (node.target === null) throw new Error(`unresolved grammar reference ${node.where}`);
      return stepValue(node.target, rest, b, out);
    case "alt":
      for (const o of node.options) stepValue(o, rest, b, out);
      return;
    case "seq": {
      if (node.items.length === 0) return step(rest, b, out);
      let s = rest;
      for (let i = node.items.length - 1; i >= 1; i--) s = vcell(node.items[i], s);
      return stepValue(node.items[0], s, b, out);
    }
    case "lit":
      if (node.bytes.length === 0) return step(rest, b, out);
      if (node.bytes[0] === b) out.push(node.bytes.length === 1 ? rest : cell({ t: F_LIT, node, pos: 1 }, rest));
      return;
    case "sym":
      if (node.sym === b) out.push(rest);
      return;
    case "until":
      return stepUntil(node, 0, rest, b, out);
    case "str":
      if (b === 0x22) out.push(cell(strStart(node), rest));
      return;
    case "dfa":
      return stepDfa(node, 0, rest, b, out);
    case "num":
      if (b === 0x2d) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_MINUS, d: 0 }, rest));
      else if (b === 0x30) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_ZERO, d: 1 }, rest));
      else if (isDigit(b)) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_INT, d: 1 }, rest));
      return;
    case "obj":
      if (b === 0x7b) out.push(cell({ t: F_OBJ, node, i: 0, ph: O_OPEN }, rest));
      return;
    case "arr":
      if (b === 0x5b) out.push(cell({ t: F_ARR, node, c: 0, ph: A_OPEN, used: 0 }, rest));
      return;
    case "any":
      switch (b) {
        case 0x7b: return stepValue(ANY.obj, rest, b, out);
        case 0x5b: return stepValue(ANY.arr, rest, b, out);
        case 0x22: return stepValue(ANY.str, rest, b, out);
        case 0x74: return stepValue(ANY.trueLit, rest, b, out);
        case 0x66: return stepValue(ANY.falseLit, rest, b, out);
        case 0x6e: return stepValue(ANY.nullLit, rest, b, out);
        default: return stepValue(ANY.num, rest, b, out);
      }
  }
}

/** The frame right after a string's opening quote. */
export function strStart(node: StrNode): StrFrame {
  return { t: F_STR, node, len: 0, esc: 0, u8: 0, acc: node.exclude === null ? null : "", q: 0 };
}

/** Whether a string in automaton state `q2` with `len2` characters can still end within its length bounds. */
function strFeasible(d: Dfa, node: StrNode, q2: number, len2: number): boolean {
  if (node.maxLength !== undefined && len2 + d.minChars[q2] > node.maxLength) return false;
  return len2 + d.maxChars[q2] >= node.minLength;
}

function stepStr(f: StrFrame, rest: Stack | null, b: number, out: Alt[]): void {
  const { node, len, esc, u8, acc, q } = f;
  const d = node.dfa;
  const nextAcc = acc === null || acc === ACC_OVERFLOW ? acc : acc.length >= node.excludeLimit ? ACC_OVERFLOW : acc + String.fromCharCode(b);
  const next = (len2: number, esc2: number, u82: number): void => {
    let q2 = 0;
    if (d !== null) {
      q2 = dfaNext(d, q, b);
      if (q2 < 0 || !strFeasible(d, node, q2, len2)) return;
    }
    out.push(cell({ t: F_STR, node, len: len2, esc: esc2, u8: u82, acc: nextAcc, q: q2 }, rest));
  };
  if (u8 !== 0) {
    const [lo, hi, nx] = UTF8[u8];
    if (b >= lo && b <= hi) next(len, 0, nx);
    return;
  }
  if (esc !== 0) {
    if (esc === 1) {
      if (SIMPLE_ESCAPES.has(b)) next(len, 0, 0);
      else if (b === 0x75) next(len, 2, 0);
    } else if (esc === 2) {
      // First hex digit of \uXXXX; `d`/`D` may start a surrogate, which the next digit must rule out.
      if (b === 0x64 || b === 0x44) next(len, 6, 0);
      else if (isHex(b)) next(len, 3, 0);
    } else if (esc === 6) {
      if (b >= 0x30 && b <= 0x37) next(len, 4, 0);
    } else if (isHex(b)) {
      next(len, esc === 5 ? 0 : esc + 1, 0);
    }
    return;
  }
  if (b === 0x22) {
    if (len < node.minLength || (d !== null && d.accept[q] !== 1)) return;
    if (acc !== null && acc !== ACC_OVERFLOW && node.exclude !== null && node.exclude.has(decodeKey(acc))) return;
    out.push(rest);
    return;
  }
  if (node.maxLength !== undefined && len >= node.maxLength) return;
  const len2 = node.maxLength === undefined ? Math.min(len + 1, node.minLength) : len + 1;
  if (b === 0x5c) next(len2, 1, 0);
  else if (b >= 0x20 && b < 0x80) next(len2, 0, 0);
  else if (b >= 0x80 && b < 0x100) {
    const st = utf8Lead(b);
    if (st > 0) next(len2, 0, st);
  }
}

/** `acc` once a key is too long to equal any excluded name (not a latin1 byte string). */
const ACC_OVERFLOW = "\u0100";

/** Raw JSON string body bytes (as latin1 chars) → the string value. */
function decodeKey(acc: string): string {
  const bytes = new Uint8Array(acc.length);
  for (let i = 0; i < acc.length; i++) bytes[i] = acc.charCodeAt(i);
  return JSON.parse(`"${utf8Dec.decode(bytes)}"`) as string;
}

function stepNum(integer: boolean, ph: number, d: number, rest: Stack | null, b: number, out: Alt[]): void {
  const go = (ph2: number, d2: number): void => {
    out.push(cell({ t: F_NUM, integer, ph: ph2, d: d2 }, rest));
  };
  const digit = isDigit(b);
  switch (ph) {
    case N_MINUS:
      if (b === 0x30) go(N_ZERO, 1);
      else if (digit) go(N_INT, 1);
      return;
    case N_DOT:
      if (digit) go(N_FRAC, 1);
      return;
    case N_EXP:
      if (b === 0x2b || b === 0x2d) go(N_EXPSIGN, 0);
      else if (digit) go(N_EXPD, 1);
      return;
    case N_EXPSIGN:
      if (digit) go(N_EXPD, 1);
      return;
  }
  // Complete phases: continue the number, or end it and hand `b` to what follows.
  if (digit && ph === N_INT && d < MAX_INT_DIGITS) return go(N_INT, d + 1);
  if (digit && ph === N_FRAC && d < MAX_FRAC_DIGITS) return go(N_FRAC, d + 1);
  if (digit && ph === N_EXPD && d < MAX_EXP_DIGITS) return go(N_EXPD, d + 1);
  if (!integer && b === 0x2e && (ph === N_ZERO || ph === N_INT)) return go(N_DOT, 0);
  if (!integer && (b === 0x65 || b === 0x45) && ph !== N_EXPD) return go(N_EXP, 0);
  if (!digit) step(rest, b, out);
}

function stepObj(node: ObjNode, i: number, ph: number, rest: Stack | null, b: number, out: Alt[]): void {
  const noneRequired = node.firstRequired[i] < 0;
  switch (ph) {
    case O_OPEN:
    case O_KEY:
      if (b === 0x7d && ph === O_OPEN && noneRequired) out.push(rest);
      else if (b === 0x22) keyStart(node, i, rest, out);
      return;
    case O_AFTER:
      if (b === 0x2c && (i < node.props.length || node.additional !== null)) {
        out.push(cell(SPACE, cell({ t: F_OBJ, node, i, ph: O_KEY }, rest)));
      } else if (b === 0x7d && noneRequired) out.push(rest);
      return;
    case O_COLON:
      if (b === 0x3a) out.push(cell(SPACE, vcell(node.props[i].value, cell({ t: F_OBJ, node, i: i + 1, ph: O_AFTER }, rest))));
      return;
    case O_COLONX:
      if (b === 0x3a && node.additional !== null) {
        out.push(cell(SPACE, vcell(node.additional, cell({ t: F_OBJ, node, i: node.props.length, ph: O_AFTER }, rest))));
      }
      return;
  }
}

/** After `"` where a key may start: declared candidates (optional ones skippable), then extras. */
function keyStart(node: ObjNode, i: number, rest: Stack | null, out: Alt[]): void {
  const first = node.firstRequired[i];
  const end = first < 0 ? node.props.length - 1 : first;
  for (let j = i; j <= end; j++) {
    out.push(cell({ t: F_LIT, node: node.props[j].key, pos: 1 }, cell({ t: F_OBJ, node, i: j, ph: O_COLON }, rest)));
  }
  if (first < 0 && node.extraKey !== null) {
    out.push(cell(strStart(node.extraKey), cell({ t: F_OBJ, node, i: node.props.length, ph: O_COLONX }, rest)));
  }
}
