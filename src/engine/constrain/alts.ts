// A matcher state is a list of alternative stacks: keys that identify equal futures, advancing
// by one symbol without duplicates, whether the text so far can end, and matching a whole text.
import { type GNode, nullable } from "./grammar.js";
import { type Alt, F_DFA, F_LIT, F_NUM, F_OBJ, F_ARR, F_SPACE, F_STR, F_UNTIL, F_VALUE, type Frame, initialState, numComplete, step } from "./matcher.js";

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
    if (f.t === F_DFA && f.node.dfa.accept[f.q] === 1) continue;
    if (f.t === F_VALUE && isNullable(f.node)) continue;
    return false;
  }
}

function frameKey(f: Frame): string {
  switch (f.t) {
    case F_VALUE: return `v${f.node.id}`;
    case F_LIT: return `l${f.node.id}.${f.pos}`;
    case F_STR: return `s${f.node.id}.${f.len}.${f.esc}.${f.u8}.${f.q}${f.acc === null ? "" : JSON.stringify(f.acc)}`;
    case F_NUM: return `n${f.integer ? 1 : 0}.${f.ph}.${f.d}`;
    case F_OBJ: return `o${f.node.id}.${f.i}.${f.ph}`;
    case F_ARR: return `a${f.node.id}.${f.c}.${f.ph}.${f.used}`;
    case F_SPACE: return "w";
    case F_DFA: return `d${f.node.id}.${f.q}`;
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
