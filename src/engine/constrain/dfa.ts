// Byte-level automata for the parts of a grammar that are regular: string patterns and formats,
// bounded numbers. Built from a Thompson NFA by subset construction; intersection and difference by
// product construction; trimmed so every live state can still reach acceptance (a constrained
// generation can never walk into a dead end). Transitions are stored per byte class.

/** A deterministic automaton over bytes; state 0 is the start, -1 is dead. */
export interface Dfa {
  /** Unique per automaton (keys mask caches shared across grammars). */
  readonly id: number;
  readonly states: number;
  /** Byte → class index. */
  readonly classOf: Uint8Array; // [256]
  readonly classes: number;
  /** Next state, or -1. */
  readonly trans: Int32Array; // [states * classes]
  readonly accept: Uint8Array; // [states]
  /** Whether a state lies between characters (not inside a UTF-8 sequence or an escape). */
  readonly boundary: Uint8Array; // [states]
  /** Fewest characters still to start before acceptance is possible. */
  readonly minChars: Int32Array; // [states]
  /** Most characters that can still follow (Infinity past a loop). */
  readonly maxChars: Float64Array; // [states]
  /** The largest `minChars` of any state. */
  readonly maxMinChars: number;
}

/** Step one byte; -1 when the byte is not allowed. */
export function dfaNext(d: Dfa, q: number, b: number): number {
  return d.trans[q * d.classes + d.classOf[b]];
}

/** Whether a whole byte string is accepted. */
export function dfaMatches(d: Dfa, bytes: Uint8Array): boolean {
  let q = 0;
  for (const b of bytes) {
    q = dfaNext(d, q, b);
    if (q < 0) return false;
  }
  return d.accept[q] === 1;
}

/** Thrown when an automaton would exceed its state budget (the caller falls back to checking later). */
export class AutomatonTooLarge extends Error {
  constructor(what: string) {
    super(`${what} exceeds the automaton size limit`);
    this.name = "AutomatonTooLarge";
  }
}

/** Most DFA states one automaton may have. */
export const MAX_DFA_STATES = 6000;
/** Most NFA states one pattern may expand to. */
export const MAX_NFA_STATES = 200000;

/** A Thompson NFA under construction: epsilon edges and byte-range edges. */
export class Nfa {
  readonly eps: number[][] = [];
  readonly edges: number[][] = []; // flattened [lo, hi, to, lo, hi, to, …]
  readonly boundary: boolean[] = [];

  state(boundary = true): number {
    if (this.eps.length >= MAX_NFA_STATES) throw new AutomatonTooLarge("pattern");
    this.eps.push([]);
    this.edges.push([]);
    this.boundary.push(boundary);
    return this.eps.length - 1;
  }
  epsilon(from: number, to: number): void {
    this.eps[from].push(to);
  }
  range(from: number, lo: number, hi: number, to: number): void {
    this.edges[from].push(lo, hi, to);
  }
  /** A chain `from` → … → `to` reading one byte range per step (one encoded character). */
  chain(from: number, ranges: readonly (readonly [number, number])[], to: number): void {
    let s = from;
    ranges.forEach(([lo, hi], i) => {
      const next = i === ranges.length - 1 ? to : this.state(false);
      this.range(s, lo, hi, next);
      s = next;
    });
  }
  /** Copy a DFA in as a fragment from `from` to `to` (accepting states get an epsilon to `to`). */
  embed(d: Dfa, from: number, to: number): void {
    const ids = Array.from({ length: d.states }, (_, q) => this.state(d.boundary[q] === 1));
    this.epsilon(from, ids[0]);
    for (let q = 0; q < d.states; q++) {
      if (d.accept[q] === 1) this.epsilon(ids[q], to);
      let runStart = 0;
      for (let b = 1; b <= 256; b++) {
        const prev = dfaNext(d, q, runStart);
        if (b < 256 && dfaNext(d, q, b) === prev) continue;
        if (prev >= 0) this.range(ids[q], runStart, b - 1, ids[prev]);
        runStart = b;
      }
    }
  }
}

let nextDfaId = 1;

/** Subset construction from `start` (accepting `end`), then trimmed. */
export function nfaToDfa(n: Nfa, start: number, end: number, what: string): Dfa {
  // Byte classes: bytes no edge distinguishes share a class.
  const cut = new Uint8Array(257);
  cut[0] = 1;
  for (const e of n.edges) for (let i = 0; i < e.length; i += 3) { cut[e[i]] = 1; cut[e[i + 1] + 1] = 1; }
  const classOf = new Uint8Array(256);
  const reps: number[] = [];
  for (let b = 0, c = -1; b < 256; b++) {
    if (cut[b] === 1) { c++; reps.push(b); }
    classOf[b] = c;
  }
  const closure = (set: number[]): number[] => {
    const seen = new Set(set);
    const stack = [...set];
    while (stack.length > 0) for (const t of n.eps[stack.pop() as number]) if (!seen.has(t)) { seen.add(t); stack.push(t); }
    return [...seen].sort((a, b) => a - b);
  };
  const sets: number[][] = [];
  const index = new Map<string, number>();
  const trans: number[] = [];
  const add = (set: number[]): number => {
    const key = set.join(",");
    let id = index.get(key);
    if (id === undefined) {
      if (sets.length >= MAX_DFA_STATES) throw new AutomatonTooLarge(what);
      id = sets.length;
      index.set(key, id);
      sets.push(set);
    }
    return id;
  };
  add(closure([start]));
  for (let q = 0; q < sets.length; q++) {
    for (const rep of reps) {
      const move: number[] = [];
      for (const s of sets[q]) {
        const e = n.edges[s];
        for (let i = 0; i < e.length; i += 3) if (rep >= e[i] && rep <= e[i + 1]) move.push(e[i + 2]);
      }
      trans.push(move.length === 0 ? -1 : add(closure(move)));
    }
  }
  const accept = sets.map((s) => (s.includes(end) ? 1 : 0));
  const boundary = sets.map((s) => (s.some((x) => n.boundary[x]) ? 1 : 0));
  return finish(sets.length, classOf, reps.length, trans, accept, boundary);
}

/**
 * Product of two automata: `and` accepts what both accept; `andNot` what `a` accepts and `b` does not.
 *
 * @example
 * const digitsButZero = product(digits, zero, "andNot");
 */
export function product(a: Dfa, b: Dfa, mode: "and" | "andNot", what = "pattern"): Dfa {
  const pairClass = new Map<number, number>();
  const classOf = new Uint8Array(256);
  const reps: number[] = [];
  for (let x = 0; x < 256; x++) {
    const k = a.classOf[x] * 256 + b.classOf[x];
    let c = pairClass.get(k);
    if (c === undefined) { c = reps.length; pairClass.set(k, c); reps.push(x); }
    classOf[x] = c;
  }
  const pairs: [number, number][] = [];
  const index = new Map<number, number>();
  const add = (p: number, q: number): number => {
    const key = p * (b.states + 1) + (q + 1);
    let id = index.get(key);
    if (id === undefined) {
      if (pairs.length >= MAX_DFA_STATES) throw new AutomatonTooLarge(what);
      id = pairs.length;
      index.set(key, id);
      pairs.push([p, q]);
    }
    return id;
  };
  add(0, 0);
  const trans: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const [p, q] = pairs[i];
    for (const x of reps) {
      const p2 = dfaNext(a, p, x);
      const q2 = q < 0 ? -1 : dfaNext(b, q, x);
      trans.push(p2 < 0 || (mode === "and" && q2 < 0) ? -1 : add(p2, q2));
    }
  }
  const accept = pairs.map(([p, q]) => {
    const bAcc = q >= 0 && b.accept[q] === 1;
    return a.accept[p] === 1 && (mode === "and" ? bAcc : !bAcc) ? 1 : 0;
  });
  const boundary = pairs.map(([p]) => a.boundary[p]);
  return finish(pairs.length, classOf, reps.length, trans, accept, boundary);
}

/** Drop states that cannot reach acceptance, renumber, and compute the length bounds. */
function finish(n: number, classOf: Uint8Array, classes: number, trans: number[], accept: number[], boundary: number[]): Dfa {
  // Co-reachability (reverse search from the accepting states).
  const rev: number[][] = Array.from({ length: n }, () => []);
  for (let q = 0; q < n; q++) for (let c = 0; c < classes; c++) { const t = trans[q * classes + c]; if (t >= 0) rev[t].push(q); }
  const live = new Uint8Array(n);
  const stack: number[] = [];
  for (let q = 0; q < n; q++) if (accept[q] === 1) { live[q] = 1; stack.push(q); }
  while (stack.length > 0) for (const p of rev[stack.pop() as number]) if (live[p] === 0) { live[p] = 1; stack.push(p); }
  // Keep live states reachable from the start, start first.
  const map = new Int32Array(n).fill(-1);
  const order: number[] = [];
  if (live[0] === 1) {
    map[0] = 0;
    order.push(0);
    for (let i = 0; i < order.length; i++) {
      const q = order[i];
      for (let c = 0; c < classes; c++) {
        const t = trans[q * classes + c];
        if (t >= 0 && live[t] === 1 && map[t] < 0) { map[t] = order.length; order.push(t); }
      }
    }
  }
  const m = order.length;
  const t2 = new Int32Array(Math.max(m, 1) * classes).fill(-1);
  const acc = new Uint8Array(Math.max(m, 1));
  const bnd = new Uint8Array(Math.max(m, 1));
  order.forEach((q, i) => {
    acc[i] = accept[q];
    bnd[i] = boundary[q];
    for (let c = 0; c < classes; c++) { const t = trans[q * classes + c]; t2[i * classes + c] = t >= 0 ? map[t] : -1; }
  });
  const { minChars, maxChars } = lengthBounds(m, classes, t2, acc, bnd);
  const maxMinChars = minChars.reduce((a, b) => Math.max(a, b), 0);
  return { id: nextDfaId++, states: m, classOf, classes, trans: t2, accept: acc, boundary: bnd, minChars, maxChars, maxMinChars };
}

/** Per state: fewest / most characters to acceptance (a transition out of a boundary state starts one). */
function lengthBounds(n: number, classes: number, trans: Int32Array, accept: Uint8Array, boundary: Uint8Array): { minChars: Int32Array; maxChars: Float64Array } {
  const succ: number[][] = Array.from({ length: n }, () => []);
  const pred: number[][] = Array.from({ length: n }, () => []);
  for (let q = 0; q < n; q++) {
    const seen = new Set<number>();
    for (let c = 0; c < classes; c++) {
      const t = trans[q * classes + c];
      if (t >= 0 && !seen.has(t)) { seen.add(t); succ[q].push(t); pred[t].push(q); }
    }
  }
  // Fewest: 0-1 breadth-first search backwards from the accepting states.
  const minChars = new Int32Array(n).fill(UNREACHABLE);
  const deque: number[] = [];
  for (let q = 0; q < n; q++) if (accept[q] === 1) { minChars[q] = 0; deque.push(q); }
  for (let head = 0; head < deque.length; head++) {
    const t = deque[head];
    for (const q of pred[t]) {
      const v = minChars[t] + boundary[q];
      if (v < minChars[q]) { minChars[q] = v; deque.push(q); }
    }
  }
  // Most: longest path over strongly connected components (Tarjan emits sinks first); a cycle is unbounded.
  const maxChars = new Float64Array(n);
  const idx = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const comp: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (idx[root] >= 0) continue;
    const work: [number, number][] = [[root, 0]];
    idx[root] = low[root] = counter++;
    comp.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const top = work[work.length - 1];
      const q = top[0];
      if (top[1] < succ[q].length) {
        const t = succ[q][top[1]++];
        if (idx[t] < 0) {
          idx[t] = low[t] = counter++;
          comp.push(t);
          onStack[t] = 1;
          work.push([t, 0]);
        } else if (onStack[t] === 1) low[q] = Math.min(low[q], idx[t]);
        continue;
      }
      work.pop();
      if (work.length > 0) { const p = work[work.length - 1][0]; low[p] = Math.min(low[p], low[q]); }
      if (low[q] !== idx[q]) continue;
      const members: number[] = [];
      for (;;) { const x = comp.pop() as number; onStack[x] = 0; members.push(x); if (x === q) break; }
      const cyclic = members.length > 1 || succ[q].includes(q);
      for (const x of members) {
        if (cyclic) { maxChars[x] = Infinity; continue; }
        let best = accept[x] === 1 ? 0 : -Infinity;
        for (const t of succ[x]) best = Math.max(best, maxChars[t] + boundary[x]);
        maxChars[x] = best;
      }
    }
  }
  return { minChars, maxChars };
}

/** `minChars` of a state that cannot reach acceptance (never after trimming). */
const UNREACHABLE = 0x3fffffff;

/** Whether an automaton accepts nothing. */
export function isEmpty(d: Dfa): boolean {
  return d.states === 0;
}
