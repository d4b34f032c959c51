// Byte-level pushdown matcher over a grammar (grammar.ts). A state is a set of alternative stacks
// (anyOf / optional properties make the grammar nondeterministic); each stack is an immutable linked
// list of frames, so advancing shares the untouched tail and forking a state is free.
// Symbols 0..255 are bytes; SYM_BASE + id is a special token. Whitespace: at most one space, and only
// right after `:` and `,`, so a model cannot loop on whitespace.
import { ANY, type GNode, type LitNode, type ObjNode, type StrNode, type UntilNode, nullable } from "./grammar.js";

/** Frame tags. */
export const F_VALUE = 0;
export const F_LIT = 1;
export const F_STR = 2;
export const F_NUM = 3;
export const F_OBJ = 4;
export const F_ARR = 5;
export const F_SPACE = 6;
export const F_UNTIL = 7;

/** One pending piece of work on a stack. */
export type Frame =
  | { readonly t: typeof F_VALUE; readonly node: GNode }
  | { readonly t: typeof F_LIT; readonly node: LitNode; readonly pos: number }
  | StrFrame
  | { readonly t: typeof F_NUM; readonly integer: boolean; readonly ph: number; readonly d: number }
  | { readonly t: typeof F_OBJ; readonly node: ObjNode; readonly i: number; readonly ph: number }
  | { readonly t: typeof F_ARR; readonly node: ArrNode; readonly c: number; readonly ph: number }
  | { readonly t: typeof F_SPACE }
  | { readonly t: typeof F_UNTIL; readonly node: UntilNode; readonly m: number };

/** Inside a JSON string: code points so far, escape progress, pending UTF-8 continuation state. */
export interface StrFrame {
  readonly t: typeof F_STR;
  readonly node: StrNode;
  readonly len: number;
  readonly esc: number; // 0 none, 1 after `\`, 2..5 / 6: inside `\uXXXX`
  readonly u8: number; // 0 = at a character boundary, else a UTF8_* state below
  readonly acc: string | null; // raw key bytes (latin1) when the key must avoid declared names
}

type ArrNode = Extract<GNode, { k: "arr" }>;

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
/** Digit caps keep numbers finite and exactly representable enough: 16 integer, 16 fraction, 3 exponent. */
export const MAX_INT_DIGITS = 16;
export const MAX_FRAC_DIGITS = 16;
export const MAX_EXP_DIGITS = 3;
const numComplete = (ph: number): boolean => ph === N_ZERO || ph === N_INT || ph === N_FRAC || ph === N_EXPD;

// Object phases.
const O_OPEN = 0, O_KEY = 1, O_AFTER = 2, O_COLON = 3, O_COLONX = 4;
// Array phases.
const A_OPEN = 0, A_AFTER = 1;

// UTF-8 continuation states: [low, high, next state].
const UTF8: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [0x80, 0xbf, 0], // 1: last continuation byte
  [0x80, 0xbf, 1], // 2: two to go
  [0xa0, 0xbf, 1], // 3: after E0 (no overlongs)
  [0x80, 0x9f, 1], // 4: after ED (no surrogates)
  [0x80, 0xbf, 2], // 5: three to go
  [0x90, 0xbf, 2], // 6: after F0 (no overlongs)
  [0x80, 0x8f, 2], // 7: after F4 (<= U+10FFFF)
];

/** UTF-8 state after a lead byte, or -1 if `b` cannot start a multi-byte character. */
export function utf8Lead(b: number): number {
  if (b >= 0xc2 && b <= 0xdf) return 1;
  if (b === 0xe0) return 3;
  if (b === 0xed) return 4;
  if (b >= 0xe1 && b <= 0xef) return 2;
  if (b === 0xf0) return 6;
  if (b >= 0xf1 && b <= 0xf3) return 5;
  if (b === 0xf4) return 7;
  return -1;
}

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
        if (maxItems === undefined || maxItems > 0) stepValue(f.node.items, cell(arrFrame(f.node, 1), rest), b, out);
      } else {
        if (b === 0x2c && (maxItems === undefined || f.c < maxItems)) {
          out.push(cell(SPACE, vcell(f.node.items, cell(arrFrame(f.node, f.c + 1), rest))));
        }
        if (b === 0x5d && f.c >= minItems) out.push(rest);
      }
      return;
    }
    case F_SPACE:
      if (b === 0x20) out.push(rest);
      else step(rest, b, out);
      return;
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

/** An array frame after `c` items; without maxItems the count only matters up to minItems. */
function arrFrame(node: ArrNode, c: number): Frame {
  return { t: F_ARR, node, c: node.maxItems === undefined ? Math.min(c, node.minItems) : c, ph: A_AFTER };
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
      if (b === 0x22) out.push(cell({ t: F_STR, node, len: 0, esc: 0, u8: 0, acc: node.exclude === null ? null : "" }, rest));
      return;
    case "num":
      if (b === 0x2d) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_MINUS, d: 0 }, rest));
      else if (b === 0x30) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_ZERO, d: 1 }, rest));
      else if (isDigit(b)) out.push(cell({ t: F_NUM, integer: node.integer, ph: N_INT, d: 1 }, rest));
      return;
    case "obj":
      if (b === 0x7b) out.push(cell({ t: F_OBJ, node, i: 0, ph: O_OPEN }, rest));
      return;
    case "arr":
      if (b === 0x5b) out.push(cell({ t: F_ARR, node, c: 0, ph: A_OPEN }, rest));
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

function stepStr(f: StrFrame, rest: Stack | null, b: number, out: Alt[]): void {
  const { node, len, esc, u8, acc } = f;
  const nextAcc = acc === null || acc === ACC_OVERFLOW ? acc : acc.length >= node.excludeLimit ? ACC_OVERFLOW : acc + String.fromCharCode(b);
  const next = (len2: number, esc2: number, u82: number): void => {
    out.push(cell({ t: F_STR, node, len: len2, esc: esc2, u8: u82, acc: nextAcc }, rest));
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
    if (len < node.minLength) return;
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
    const extra: Frame = { t: F_STR, node: node.extraKey, len: 0, esc: 0, u8: 0, acc: node.extraKey.exclude === null ? null : "" };
    out.push(cell(extra, cell({ t: F_OBJ, node, i: node.props.length, ph: O_COLONX }, rest)));
  }
}

const nullableMemo = new WeakMap<GNode, boolean>();
function isNullable(node: GNode): boolean {
  let r = nullableMemo.get(node);
  if (r === undefined) {
    r = nullable(node);
    nullableMemo.set(node, r);
  }
  return r;
}

/** Whether the text so far is a complete match (end of text may follow). */
export function canEnd(st: Alt): boolean {
  for (let s = st; ; s = s.n) {
    if (s === null) return true;
    const f = s.f;
    if (f.t === F_SPACE) continue;
    if (f.t === F_NUM && numComplete(f.ph)) continue;
    if (f.t === F_VALUE && isNullable(f.node)) continue;
    return false;
  }
}

function frameKey(f: Frame): string {
  switch (f.t) {
    case F_VALUE: return `v${f.node.id}`;
    case F_LIT: return `l${f.node.id}.${f.pos}`;
    case F_STR: return `s${f.node.id}.${f.len}.${f.esc}.${f.u8}${f.acc === null ? "" : JSON.stringify(f.acc)}`;
    case F_NUM: return `n${f.integer ? 1 : 0}.${f.ph}.${f.d}`;
    case F_OBJ: return `o${f.node.id}.${f.i}.${f.ph}`;
    case F_ARR: return `a${f.node.id}.${f.c}.${f.ph}`;
    case F_SPACE: return "w";
    case F_UNTIL: return `u${f.node.id}.${f.m}`;
  }
}

/** A string equal for two alternatives exactly when they accept the same continuations. */
export function altKey(a: Alt): string {
  if (a === null) return "$";
  if (a.k !== undefined) return a.k;
  const k = a.n === null ? frameKey(a.f) : `${frameKey(a.f)}|${altKey(a.n)}`;
  a.k = k;
  return k;
}

/** Advance every alternative by one symbol, dropping duplicates. */
export function advance(state: readonly Alt[], b: number): Alt[] {
  const out: Alt[] = [];
  for (const a of state) step(a, b, out);
  return dedup(out);
}

/** Remove alternatives with equal keys (same future behaviour). */
export function dedup(alts: Alt[]): Alt[] {
  if (alts.length <= 1) return alts;
  const seen = new Set<string>();
  const out: Alt[] = [];
  for (const a of alts) {
    const k = altKey(a);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(a);
    }
  }
  return out;
}

/**
 * Match a whole text (bytes) from the start state; for tests and for validating forced prefixes.
 *
 * @example
 * matchBytes(root, new TextEncoder().encode('{"a": 1}')) // { alive: true, complete: true }
 */
export function matchBytes(root: GNode, bytes: Uint8Array): { alive: boolean; complete: boolean; state: Alt[] } {
  let state = initialState(root);
  for (const b of bytes) {
    state = advance(state, b);
    if (state.length === 0) return { alive: false, complete: false, state };
  }
  return { alive: true, complete: state.some(canEnd), state };
}
