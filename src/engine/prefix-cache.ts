/**
 * Prefix reuse across requests (multi-turn chat, shared system prompts): finished sequences are kept
 * with the token ids their KV cache holds; a new prompt starts from the entry sharing its longest
 * prefix and prefills only the rest. Bounded by total cached tokens, least recently used out first.
 * A hybrid model's recurrent state cannot go back to any length: it resumes from the nearest
 * checkpoint at or below the shared prefix (taken every N tokens, at each prompt's end and, here,
 * at each turn's end), so a new turn re-reads at most one checkpoint interval of history.
 */
import type { SequenceLike } from "./types.js";

/** What the cache needs from a model: copy and shorten a sequence's KV cache, and (optionally)
 * give back the memory of a sequence the cache drops. */
export interface ForkableModel<S extends SequenceLike> {
  newSequence(): S;
  fork(seq: S): S;
  truncate(seq: S, length: number): void;
  /** Free `seq`'s KV cache; the cache never touches `seq` again. */
  release?(seq: S): void;
  /** The greatest length `<= len` that `seq` can be truncated to (default: `len`). */
  restorableLength?(seq: S, len: number): number;
  /** Keep a restorable snapshot of `seq` at its current length (hybrid models). */
  checkpoint?(seq: S): void;
}

interface Entry<S> {
  seq: S;
  ids: Int32Array; // [seq.length] the tokens the cache holds
  lastUsed: number;
}

/** A sequence to start from: its cache holds the prompt's first `cached` tokens. */
export interface Reused<S> {
  readonly seq: S;
  readonly cached: number;
}

function commonPrefix(a: Int32Array, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * @example
 * const cache = new PrefixCache(model, { maxTokens: 8192 });
 * const { seq, cached } = cache.acquire(promptIds); // prefill promptIds.slice(cached) into seq
 * // ... generate ...
 * cache.release(seq, heldIds);
 */
export class PrefixCache<S extends SequenceLike> {
  private entries: Entry<S>[] = [];
  private clock = 0;
  /** Prompt tokens served from the cache / looked up, for `/metrics`. */
  readonly stats = { hitTokens: 0, promptTokens: 0 };

  constructor(
    private readonly model: ForkableModel<S>,
    private readonly opts: { maxTokens: number },
  ) {}

  /** Total tokens held by cached sequences. */
  get size(): number {
    return this.entries.reduce((a, e) => a + e.ids.length, 0);
  }

  /**
   * A sequence for `prompt`: the cached one with the longest common prefix, or a new one. The entry
   * is taken over (no copy) when the prompt shares at least half of it — the next turn of the same
   * conversation — and copied otherwise, so a longer history (another conversation that shares only
   * a system prompt) stays cached.
   * At least one prompt token is always left to compute, so the caller gets fresh logits.
   */
  acquire(prompt: ArrayLike<number>): Reused<S> {
    this.stats.promptTokens += prompt.length;
    let best: Entry<S> | undefined;
    let bestLen = 0;
    for (const e of this.entries) {
      // At least one prompt token is left to compute; a recurrent state resumes from a checkpoint.
      const shared = Math.min(commonPrefix(e.ids, prompt), prompt.length - 1);
      const len = shared <= 0 ? 0 : (this.model.restorableLength?.(e.seq, shared) ?? shared);
      if (len > bestLen) {
        best = e;
        bestLen = len;
      }
    }
    const cached = bestLen;
    if (best === undefined || cached <= 0) return { seq: this.model.newSequence(), cached: 0 };
    let seq: S;
    if (cached * 2 >= best.ids.length) {
      this.entries = this.entries.filter((e) => e !== best);
      seq = best.seq;
    } else {
      best.lastUsed = ++this.clock;
      seq = this.model.fork(best.seq);
    }
    this.model.truncate(seq, cached);
    this.stats.hitTokens += cached;
    return { seq, cached };
  }

  /**
   * The entry sharing the longest prefix with `prompt` and that length, without taking it (no
   * stats, no LRU touch): for reading a held sequence (a KV snapshot) synchronously, never to keep.
   */
  peek(prompt: ArrayLike<number>): { readonly seq: S; readonly ids: Int32Array; readonly common: number } | undefined {
    let best: Entry<S> | undefined;
    let bestLen = 0;
    for (const e of this.entries) {
      const len = commonPrefix(e.ids, prompt);
      if (len > bestLen) {
        best = e;
        bestLen = len;
      }
    }
    return best === undefined ? undefined : { seq: best.seq, ids: best.ids, common: bestLen };
  }

  /**
   * Keep `seq` for later requests; `ids` are the tokens its cache holds (`ids.length === seq.length`).
   * The cache owns `seq` from here on: a sequence it does not keep, replaces or evicts is freed
   * through the model's `release`.
   */
  release(seq: S, ids: ArrayLike<number>): void {
    if (this.entries.some((e) => e.seq === seq)) return; // already held (released twice)
    if (ids.length !== seq.length || ids.length === 0 || ids.length > this.opts.maxTokens) {
      this.drop(seq);
      return;
    }
    this.model.checkpoint?.(seq); // the end of a turn: the next one resumes here or at its prompt's end
    const held = Int32Array.from(ids);
    // An entry that is a prefix of the new one is now redundant.
    const kept: Entry<S>[] = [];
    for (const e of this.entries) {
      if (commonPrefix(e.ids, held) < e.ids.length) kept.push(e);
      else this.drop(e.seq);
    }
    this.entries = kept;
    this.entries.push({ seq, ids: held, lastUsed: ++this.clock });
    let total = this.size;
    while (total > this.opts.maxTokens && this.entries.length > 0) {
      let oldest = 0;
      for (let i = 1; i < this.entries.length; i++) if (this.entries[i]!.lastUsed < this.entries[oldest]!.lastUsed) oldest = i;
      total -= this.entries[oldest]!.ids.length;
      this.drop(this.entries[oldest]!.seq);
      this.entries.splice(oldest, 1);
    }
  }

  /** Drop everything (freeing the held sequences). */
  clear(): void {
    for (const e of this.entries) this.drop(e.seq);
    this.entries = [];
  }

  private drop(seq: S): void {
    this.model.release?.(seq);
  }
}
