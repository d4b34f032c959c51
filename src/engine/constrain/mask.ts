// Allowed-token bitsets for matcher states: walk the vocabulary trie together with the matcher,
// skipping a whole subtree as soon as its prefix is rejected. Inside a JSON string, tokens without a
// quote come from a vocabulary-wide cache keyed by the string's local state; only tokens containing
// `"` (which may end the string) are walked with the full stack.
// Bitsets are cached per alternative key (a state's mask is the union of its alternatives' masks).
import { SYM_BASE, type StrNode } from "./grammar.js";
import { type Alt, F_STR, type Stack, altKey as altKeyOf, canEnd, step } from "./matcher.js";
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
      const bits = this.interior(f.esc, f.u8, room).slice();
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
    const node: StrNode = { k: "str", id: -1000, minLength: 0, maxLength: r === Infinity ? undefined : r, exclude: null, excludeLimit: 0 };
    const bare: Stack = { f: { t: F_STR, node, len: 0, esc, u8, acc: null }, n: null };
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
