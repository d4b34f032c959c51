/**
 * Byte-level BPE model: a pre-token's UTF-8 bytes start as one symbol each and adjacent pairs merge
 * by rank (lowest first, leftmost on ties) until no ranked pair remains — the order Hugging Face
 * `tokenizers` uses. Works on int arrays; results are cached per pre-token string.
 */
import { QwenrtError } from "../util/errors.js";
import { BYTE_TO_CHAR, writeUtf8 } from "./bytelevel.js";

const ID_SPACE = 1 << 22; // ids must be below this
const MAX_CACHED_LENGTH = 256;
const CACHE_CAPACITY = 50_000;
const SCAN_LIMIT = 48; // words up to this many symbols use the quadratic scan; longer ones a heap

/** What the BPE model needs from a `TokenizerSpec`. */
export interface BpeSpec {
  readonly vocab: ReadonlyMap<string, number>;
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly ignoreMerges: boolean;
  readonly unkId?: number;
}

/**
 * Encodes pre-tokens (plain text, before byte mapping) into ids.
 *
 * @example
 * const bpe = new BytePairModel(spec, "tokenizer.json");
 * bpe.encodeTo("hello", out); // out gains [14990]
 */
export class BytePairModel {
  /** Id of each byte's single-symbol token, -1 when the vocabulary lacks it. */
  private readonly byteIds: Int32Array; // [256]
  /** (left, right) → merge rank and merged id. */
  private readonly pairs: PairTable;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly ignoreMerges: boolean;
  private readonly cache = new Map<string, number[]>();
  private scratch = new Uint8Array(1024); // UTF-8 of the current pre-token
  private rankScratch = new Int32Array(SCAN_LIMIT); // pair ranks for the quadratic scan

  constructor(spec: BpeSpec, where: string) {
    this.vocab = spec.vocab;
    this.ignoreMerges = spec.ignoreMerges;
    for (const [token, id] of spec.vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= ID_SPACE) {
        throw new QwenrtError(where, `vocabulary id for ${JSON.stringify(token)} must be an integer in [0, ${ID_SPACE}), got ${id}`);
      }
    }
    const unk = spec.unkId ?? -1;
    this.byteIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) this.byteIds[b] = spec.vocab.get(BYTE_TO_CHAR[b]) ?? unk;
    this.pairs = new PairTable(spec.merges.length);
    spec.merges.forEach(([a, b], rank) => {
      const left = spec.vocab.get(a);
      const right = spec.vocab.get(b);
      const merged = spec.vocab.get(a + b);
      if (left === undefined || right === undefined || merged === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : a + b;
        throw new QwenrtError(where, `merge #${rank} "${a} ${b}": ${JSON.stringify(missing)} is not in the vocabulary`);
      }
      this.pairs.insert(left, right, rank, merged); // a repeated pair keeps its first (best) rank
    });
  }

  /** Append the ids of one pre-token to `out`. */
  encodeTo(piece: string, out: number[]): void {
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) out.push(cached[i]);
      return;
    }
    const ids = this.encodeUncached(piece);
    if (piece.length <= MAX_CACHED_LENGTH) {
      if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
      this.cache.set(piece, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  /** Ids of one pre-token without consulting the cache (exported for differential tests). */
  encodeUncached(piece: string, forceHeap = false): number[] {
    if (this.scratch.length < piece.length * 3) this.scratch = new Uint8Array(piece.length * 3);
    const n = writeUtf8(piece, this.scratch);
    if (this.ignoreMerges) {
      let mapped = "";
      for (let i = 0; i < n; i++) mapped += BYTE_TO_CHAR[this.scratch[i]];
      const whole = this.vocab.get(mapped);
      if (whole !== undefined) return [whole];
    }
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.byteIds[this.scratch[i]];
      if (id >= 0) ids.push(id); // a byte missing from the vocabulary (and no unk) is dropped
    }
    if (ids.length < 2) return ids;
    return ids.length <= SCAN_LIMIT && !forceHeap ? this.mergeScan(ids) : this.mergeHeap(ids);
  }

  /** Repeatedly merge the lowest-ranked adjacent pair (leftmost on ties) in place. */
  private mergeScan(ids: number[]): number[] {
    const pairs = this.pairs;
    let len = ids.length;
    if (this.rankScratch.length < len) this.rankScratch = new Int32Array(len * 2);
    const ranks = this.rankScratch; // [len] rank of the pair (i, i+1); NO_MERGE when none
    for (let i = 0; i + 1 < len; i++) ranks[i] = pairs.find(ids[i], ids[i + 1]);
    ranks[len - 1] = NO_MERGE;
    for (;;) {
      let best = NO_MERGE;
      let at = -1;
      for (let i = 0; i + 1 < len; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) break;
      ids[at] = pairs.mergedAt(pairs.slotOf(ids[at], ids[at + 1]));
      for (let i = at + 1; i + 1 < len; i++) {
        ids[i] = ids[i + 1];
        ranks[i] = ranks[i + 1];
      }
      len--;
      ranks[len - 1] = NO_MERGE;
      if (at + 1 < len) ranks[at] = pairs.find(ids[at], ids[at + 1]);
      if (at > 0) ranks[at - 1] = pairs.find(ids[at - 1], ids[at]);
    }
    ids.length = len;
    return ids;
  }

  /** The same merge order with a binary heap of (rank, position) over a linked list of symbols. */
  private mergeHeap(initial: number[]): number[] {
    const n = initial.length;
    const pairs = this.pairs;
    const sym = Int32Array.from(initial); // [n] current token id at each live position
    const next = new Int32Array(n); // [n] next live position, n at the end
    const prev = new Int32Array(n); // [n] previous live position, -1 at the start
    const live = new Uint8Array(n).fill(1); // [n]
    for (let i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new MergeHeap(n);
    for (let i = 0; i + 1 < n; i++) {
      const r = pairs.find(sym[i], sym[i + 1]);
      if (r !== NO_MERGE) heap.push(r, i);
    }
    while (heap.size > 0) {
      const rank = heap.topRank();
      const pos = heap.pop();
      if (live[pos] === 0) continue;
      const right = next[pos];
      if (right >= n) continue;
      const slot = pairs.slotOf(sym[pos], sym[right]);
      if (slot < 0 || pairs.rankAt(slot) !== rank) continue; // stale entry
      sym[pos] = pairs.mergedAt(slot);
      live[right] = 0;
      next[pos] = next[right];
      if (next[right] < n) prev[next[right]] = pos;
      const before = prev[pos];
      if (before >= 0) {
        const r = pairs.find(sym[before], sym[pos]);
        if (r !== NO_MERGE) heap.push(r, before);
      }
      if (next[pos] < n) {
        const r = pairs.find(sym[pos], sym[next[pos]]);
        if (r !== NO_MERGE) heap.push(r, pos);
      }
    }
    const out: number[] = [];
    for (let i = 0; i < n; i = next[i]) out.push(sym[i]);
    return out;
  }
}

/** Min-heap of (rank, position) ordered by rank, then position. */
class MergeHeap {
  private ranks: Float64Array; // [capacity]
  private positions: Int32Array; // [capacity]
  size = 0;

  constructor(capacity: number) {
    this.ranks = new Float64Array(Math.max(16, capacity));
    this.positions = new Int32Array(Math.max(16, capacity));
  }

  private less(a: number, b: number): boolean {
    const ra = this.ranks[a];
    const rb = this.ranks[b];
    return ra < rb || (ra === rb && this.positions[a] < this.positions[b]);
  }

  private swap(a: number, b: number): void {
    const r = this.ranks[a];
    this.ranks[a] = this.ranks[b];
    this.ranks[b] = r;
    const p = this.positions[a];
    this.positions[a] = this.positions[b];
    this.positions[b] = p;
  }

  push(rank: number, pos: number): void {
    if (this.size === this.ranks.length) {
      const ranks = new Float64Array(this.size * 2);
      ranks.set(this.ranks);
      this.ranks = ranks;
      const positions = new Int32Array(this.size * 2);
      positions.set(this.positions);
      this.positions = positions;
    }
    let i = this.size++;
    this.ranks[i] = rank;
    this.positions[i] = pos;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  topRank(): number {
    return this.ranks[0];
  }

  /** Remove the top entry and return its position. */
  pop(): number {
    const top = this.positions[0];
    this.size--;
    if (this.size > 0) {
      this.ranks[0] = this.ranks[this.size];
      this.positions[0] = this.positions[this.size];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

const NO_MERGE = 0x7fffffff;

/** Open-addressing hash table from an id pair to (rank, merged id), in typed arrays. */
class PairTable {
  private readonly mask: number;
  private readonly lefts: Int32Array; // [capacity] -1 = empty slot
  private readonly rights: Int32Array; // [capacity]
  private readonly ranks: Int32Array; // [capacity]
  private readonly merged: Int32Array; // [capacity]

  constructor(count: number) {
    let capacity = 16;
    while (capacity < count * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity).fill(-1);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity);
    this.merged = new Int32Array(capacity);
  }

  private hash(left: number, right: number): number {
    return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca6b)) & this.mask;
  }

  /** Add a pair unless present. */
  insert(left: number, right: number, rank: number, merged: number): void {
    let i = this.hash(left, right);
    while (this.lefts[i] !== -1) {
      if (this.lefts[i] === left && this.rights[i] === right) return;
      i = (i + 1) & this.mask;
    }
    this.lefts[i] = left;
    this.rights[i] = right;
    this.ranks[i] = rank;
    this.merged[i] = merged;
  }

  /** Slot of a pair, or -1. */
  slotOf(left: number, right: number): number {
    let i = this.hash(left, right);
    for (;;) {
      const l = this.lefts[i];
      if (l === -1) return -1;
      if (l === left && this.rights[i] === right) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Rank of a pair, or NO_MERGE. */
  find(left: number, right: number): number {
    const slot = this.slotOf(left, right);
    return slot < 0 ? NO_MERGE : this.ranks[slot];
  }

  rankAt(slot: number): number {
    return this.ranks[slot];
  }

  mergedAt(slot: number): number {
    return this.merged[slot];
  }
}
