// Allowed-token bitsets for matcher states: walk the vocabulary trie together with the matcher,
// skipping a whole subtree as soon as its prefix is rejected. Inside a JSON string, tokens without a
// quote come from a vocabulary-wide cache keyed by the string's local state (for a string with a
// pattern, a per-grammar cache keyed by its automaton state too); only tokens containing `"` (which
// may end the string) are walked with the full stack.
// Bitsets are cached per alternative key (a state's mask is the union of its alternatives' masks).
import type { Dfa } from "./dfa.js";
import { SYM_BASE, type StrNode } from "./grammar.js";
import { altKey as altKeyOf, canEnd } from "./alts.js";
import { type Alt, F_STR, type Stack, type StrFrame, step } from "./matcher.js";
import type { PreparedVocab, Trie } from "./vocab.js";

/** Default number of cached per-alternative bitsets (each is vocabSize / 8 bytes: 19 KB for Qwen3). */
export const DEFAULT_MASK_CACHE = 512;
/** Vocabulary-wide string-interior masks kept (keyed by escape state, UTF-8 state and room). */
const INTERIOR_CACHE = 256;

/**
 * Computes and caches allowed-token bitsets for one grammar over one vocabulary.
 *
 * @example
 * const masks = new MaskComputer(vocab);
 * const bits = masks.allowed(state); // bit i of bits[i >>> 5] set ⇔ token i allowed
 */
export class MaskComputer {
  private readonly cache = new Map<string, Uint32Array>();
  /** Quote-free token masks of pattern strings by automaton state (a quarter of the alternatives' budget). */
  private readonly patternCache = new Map<string, Uint32Array>();
  private depthQ = new Int32Array(0);
  private depthN = new Int32Array(0);
  private readonly depthStates: Alt[][] = [];
  /** Cache statistics, for benchmarks. */
  hits = 0;
  misses = 0;

  constructor(
    readonly vocab: PreparedVocab,
    private readonly cacheSize = DEFAULT_MASK_CACHE,
  ) {}

  /** Bitset of every token allowed after `state` (byte tokens, special tokens, and EOS when complete). */
  allowed(state: readonly Alt[]): Uint32Array {
    const v = this.vocab;
    const bits = new Uint32Array(v.words);
    for (const a of state) {
      if (a === null) continue;
      const m = this.altBits(a);
      for (let w = 0; w < bits.length; w++) bits[w] |= m[w];
    }
    const scratch: Alt[] = [];
    for (const id of v.specialIds) {
      scratch.length = 0;
      for (const a of state) {
        step(a, SYM_BASE + id, scratch);
        if (scratch.length > 0) break;
      }
      if (scratch.length > 0) bits[id >>> 5] |= 1 << (id & 31);
    }
    if (state.some(canEnd)) for (const id of v.eosIds) bits[id >>> 5] |= 1 << (id & 31);
    return bits;
  }

  /** Bitset of byte tokens allowed from one alternative (cached; callers must not modify it). */
  altBits(a: Exclude<Alt, null>): Uint32Array {
    const key = altKeyOf(a);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.hits++;
      this.cache.delete(key); // LRU: re-insert as newest
      this.cache.set(key, hit);
      return hit;
    }
    this.misses++;
    const bits = this.compute(a);
    this.cache.set(key, bits);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return bits;
  }

  private compute(a: Exclude<Alt, null>): Uint32Array {
    const v = this.vocab;
    const f = a.f;
    if (f.t === F_STR) {
      // Tokens without `"` cannot end the string, so the rest of the stack does not matter for
      // them: take the shared interior mask, and walk only the tokens containing `"`.
      const room = f.node.maxLength === undefined ? Infinity : f.node.maxLength - f.len;
      const bits = (f.node.dfa === null ? this.interior(f.esc, f.u8, room) : this.patternInterior(f, room)).slice();
      this.walk(v.quote, a, bits);
      return bits;
    }
    const bits = new Uint32Array(v.words);
    this.walk(v.full, a, bits);
    return bits;
  }

  /** Quote-free tokens allowed inside a string in a given escape / UTF-8 state with `room` code points left. */
  private interior(esc: number, u8: number, room: number): Uint32Array {
    const v = this.vocab;
    const r = room >= v.maxNoQuoteBytes ? Infinity : Math.max(room, 0);
    const key = `${esc}.${u8}.${r}`;
    const hit = v.interiorCache.get(key);
    if (hit !== undefined) return hit;
    const node: StrNode = { k: "str", id: -1000, minLength: 0, maxLength: r === Infinity ? undefined : r, exclude: null, excludeLimit: 0, dfa: null };
    const bare: Stack = { f: { t: F_STR, node, len: 0, esc, u8, acc: null, q: 0 }, n: null };
    let bits: Uint32Array;
    if (esc === 0 && u8 === 0) {
      // At a character boundary: pure tokens fit iff their code points fit; walk only the rest.
      if (r >= v.maxPureLen) bits = v.pureAll.slice();
      else {
        bits = new Uint32Array(v.words);
        for (let j = 0; j < v.pureLenStart[r]; j++) {
          const id = v.pureByLen[j];
          bits[id >>> 5] |= 1 << (id & 31);
        }
      }
      this.walk(v.impureNoQuote, bare, bits);
    } else {
      bits = new Uint32Array(v.words);
      this.walk(v.noQuote, bare, bits);
    }
    v.interiorCache.set(key, bits);
    if (v.interiorCache.size > INTERIOR_CACHE) v.interiorCache.delete(v.interiorCache.keys().next().value as string);
    return bits;
  }

  /** Quote-free tokens allowed inside a string with a pattern, from its automaton state and length room. */
  private patternInterior(f: StrFrame, room: number): Uint32Array {
    const v = this.vocab;
    const d = f.node.dfa as NonNullable<StrFrame["node"]["dfa"]>;
    const need = Math.max(0, f.node.minLength - f.len);
    // With this much room no quote-free token can run into the length limit.
    const r = room >= v.maxNoQuoteBytes + d.maxMinChars ? Infinity : Math.max(room, 0);
    const key = `${d.id}.${f.q}.${f.esc}.${f.u8}.${r}.${need}`;
    const hit = this.patternCache.get(key);
    if (hit !== undefined) return hit;
    const bits = new Uint32Array(v.words);
    this.walkPattern(v.noQuote, d, f.q, r, need, bits);
    this.patternCache.set(key, bits);
    if (this.patternCache.size > this.cacheSize / 4) this.patternCache.delete(this.patternCache.keys().next().value as string);
    return bits;
  }

  /**
   * Preorder walk of `trie` through a string pattern's automaton alone (it admits only valid
   * escapes and UTF-8, so it needs no other string state): tokens that keep the string within
   * `room` characters and can still reach `need` characters. A dead or infeasible prefix skips its
   * subtree (extending it only uses more characters).
   */
  private walkPattern(trie: Trie, d: Dfa, q0: number, room: number, need: number, bits: Uint32Array): void {
    const { byte, depth, end, tokOff, tokIds, count } = trie;
    if (this.depthQ.length < this.vocab.maxTokenBytes + 1) {
      this.depthQ = new Int32Array(this.vocab.maxTokenBytes + 1);
      this.depthN = new Int32Array(this.vocab.maxTokenBytes + 1);
    }
    const qs = this.depthQ;
    const ns = this.depthN;
    const { trans, classOf, classes, boundary, minChars, maxChars } = d;
    qs[0] = q0;
    ns[0] = 0;
    for (let i = 1; i < count; ) {
      const dd = depth[i];
      const q = qs[dd - 1];
      const q2 = trans[q * classes + classOf[byte[i]]];
      const n2 = ns[dd - 1] + boundary[q];
      if (q2 < 0 || n2 + minChars[q2] > room || n2 + maxChars[q2] < need) {
        i = end[i];
        continue;
      }
      qs[dd] = q2;
      ns[dd] = n2;
      for (let t = tokOff[i]; t < tokOff[i + 1]; t++) {
        const id = tokIds[t];
        bits[id >>> 5] |= 1 << (id & 31);
      }
      i++;
    }
  }

  /** Preorder walk of `trie` advancing the matcher; a dead prefix skips its subtree. */
  private walk(trie: Trie, a: Alt, bits: Uint32Array): void {
    const states = this.depthStates;
    if (states.length === 0) states.push([]);
    states[0].length = 0;
    states[0].push(a);
    const { byte, depth, end, tokOff, tokIds, count } = trie;
    for (let i = 1; i < count; ) {
      const d = depth[i];
      if (states.length <= d) states.push([]);
      const cur = states[d];
      cur.length = 0;
      const parent = states[d - 1];
      const b = byte[i];
      for (let k = 0; k < parent.length; k++) step(parent[k], b, cur);
      if (cur.length === 0) {
        i = end[i];
        continue;
      }
      for (let t = tokOff[i]; t < tokOff[i + 1]; t++) {
        const id = tokIds[t];
        bits[id >>> 5] |= 1 << (id & 31);
      }
      i++;
    }
  }
}

/** Set every logit whose bit is clear to -Infinity (ids past the bitset included). */
export function applyMask(bits: Uint32Array, logits: Float32Array): void {
  const n = logits.length;
  for (let w = 0; w * 32 < n; w++) {
    const word = w < bits.length ? bits[w] : 0;
    if (word === 0xffffffff) continue;
    const base = w * 32;
    const top = Math.min(32, n - base);
    for (let j = 0; j < top; j++) if ((word & (1 << j)) === 0) logits[base + j] = -Infinity;
  }
}

/** Whether bit `id` is set. */
export function hasBit(bits: Uint32Array, id: number): boolean {
  return (bits[id >>> 5] & (1 << (id & 31))) !== 0;
}
