/**
 * A loaded model and its forward pass with a per-sequence KV cache. `forward` takes a batch of
 * segments from possibly different sequences (continuous batching): all rows share the matmuls,
 * attention runs per segment over its own cache, positions continue from each sequence's length.
 */
import { kvElementBytes } from "../kernels/kv.js";
import type { KernelBackend, KvBuffer, Matrix } from "../kernels/types.js";
import { Scratch, type BatchContext, type SegmentView } from "../layers/context.js";
import { createRopeTable, type RopeTable } from "../layers/rope.js";
import { QwenrtError } from "../util/errors.js";
import type { DecoderLayer } from "./architecture.js";
import type { ModelConfig } from "./config.js";
import type { GenerationConfig } from "./generation_config.js";

/** One sequence's state: its KV cache and how many positions it holds. Created by `Model.newSequence`. */
export class Sequence {
  /** Positions cached so far; the next token is at position `length`. */
  length = 0;
  /** Positions the cache can hold before it grows. */
  capacity: number;
  /** Per layer [kvHeads, capacity, headDim] of the backend's `kvType`: one head's positions are contiguous. */
  keys: KvBuffer[];
  /** Per layer [kvHeads, capacity, headDim]. */
  values: KvBuffer[];
  /** Set by `Model.release`: the cache went back to the backend and the sequence is unusable. */
  released = false;

  /** @internal use `Model.newSequence` */
  constructor(
    readonly model: Model,
    capacity: number,
  ) {
    this.capacity = capacity;
    const size = capacity * model.kvWidth;
    this.keys = Array.from({ length: model.config.numLayers }, () => model.backend.allocKv(size));
    this.values = Array.from({ length: model.config.numLayers }, () => model.backend.allocKv(size));
  }
}

/** New tokens for one sequence. */
export interface Segment {
  readonly seq: Sequence;
  readonly ids: Int32Array; // [tokens]
}

/** Which rows' logits `forward` returns. */
export type LogitRows = "last" | "all" | "none";

/** Options of `Model.forward`. */
export interface ForwardOptions {
  /** "last" (default): the last row of each segment; "all": every row; "none": only fill the cache. */
  readonly logits?: LogitRows;
  /** Split longer segments into chunks of at most this many tokens (same logits as whole prefill). */
  readonly maxChunk?: number;
}

/** Rows per forward step when the caller does not say (bounds activation scratch). */
export const DEFAULT_MAX_CHUNK = 512;

/** The parts of a model the architecture builder produced. */
export interface ModelParts {
  readonly config: ModelConfig;
  readonly generation: GenerationConfig;
  readonly backend: KernelBackend;
  readonly embed: Matrix; // [vocab, hidden]
  readonly finalNorm: Float32Array; // [hidden]
  readonly lmHead: Matrix; // [vocab, hidden] (the embedding when tied)
  readonly layers: readonly DecoderLayer[];
}

/** A loaded decoder-only model. Create with `loadModel` (models/load.ts). */
export class Model {
  readonly config: ModelConfig;
  readonly generation: GenerationConfig;
  readonly backend: KernelBackend;
  /** kvHeads * headDim: values per cached position per layer (keys or values). */
  readonly kvWidth: number;
  /** Bytes of KV cache one token takes: all layers, keys and values, in the backend's `kvType`. */
  readonly kvBytesPerToken: number;
  private readonly parts: ModelParts;
  private readonly rope: RopeTable;
  private readonly scratch: Scratch;

  constructor(parts: ModelParts) {
    this.parts = parts;
    this.config = parts.config;
    this.generation = parts.generation;
    this.backend = parts.backend;
    this.kvWidth = parts.config.numKvHeads * parts.config.headDim;
    this.kvBytesPerToken = parts.config.numLayers * 2 * this.kvWidth * kvElementBytes(parts.backend.kvType);
    this.rope = createRopeTable(parts.config.ropeTheta, parts.config.headDim, parts.config.ropeScaling);
    this.scratch = new Scratch(parts.backend);
  }

  /** A new empty sequence whose cache starts with room for `capacity` positions (it grows as needed). */
  newSequence(capacity = 256): Sequence {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new QwenrtError("capacity", `must be a positive integer, got ${capacity}`);
    return new Sequence(this, capacity);
  }

  /**
   * Give `seq`'s KV cache back to the backend (a long-running server creates sequences without
   * end; the wasm heap is bounded). The sequence must not be used afterwards; releasing twice is
   * a no-op.
   *
   * @example
   * const seq = model.newSequence();
   * model.forward([{ seq, ids }]);
   * model.release(seq);
   */
  release(seq: Sequence): void {
    if (seq.model !== this) throw new QwenrtError("sequence", "belongs to another model");
    if (seq.released) return;
    for (const b of seq.keys) this.backend.freeKv(b);
    for (const b of seq.values) this.backend.freeKv(b);
    seq.keys = [];
    seq.values = [];
    seq.capacity = 0;
    seq.length = 0;
    seq.released = true;
  }

  /** Forget positions `len ..` of `seq` (keeps the first `len`). */
  truncate(seq: Sequence, len: number): void {
    this.own(seq);
    if (!Number.isSafeInteger(len) || len < 0 || len > seq.length) {
      throw new QwenrtError("truncate", `length must be in [0, ${seq.length}], got ${len}`);
    }
    seq.length = len;
  }

  /** A new sequence holding a copy of `seq`'s cached prefix (the two then evolve independently). */
  fork(seq: Sequence): Sequence {
    this.own(seq);
    const copy = new Sequence(this, Math.max(seq.capacity, 1));
    for (let l = 0; l < this.config.numLayers; l++) {
      this.copyCache(seq.keys[l]!, seq.capacity, copy.keys[l]!, copy.capacity, seq.length);
      this.copyCache(seq.values[l]!, seq.capacity, copy.values[l]!, copy.capacity, seq.length);
    }
    copy.length = seq.length;
    return copy;
  }

  /**
   * Run new tokens through the model, appending them to each segment's sequence. Returns, per
   * segment, the logits `[rows, vocab]` that `opts.logits` asks for (`[1, vocab]` for "last").
   *
   * @example
   * const seq = model.newSequence();
   * const [logits] = model.forward([{ seq, ids: Int32Array.from(promptIds) }]); // [1, vocab]
   */
  forward(batch: readonly Segment[], opts: ForwardOptions = {}): Float32Array[] {
    const mode = opts.logits ?? "last";
    const maxChunk = opts.maxChunk ?? DEFAULT_MAX_CHUNK;
    if (!Number.isSafeInteger(maxChunk) || maxChunk < 1) throw new QwenrtError("maxChunk", `must be a positive integer, got ${maxChunk}`);
    this.validate(batch);
    const vocab = this.config.vocabSize;
    const results = batch.map((s) => new Float32Array((mode === "all" ? s.ids.length : mode === "last" ? 1 : 0) * vocab));
    // Rounds: every segment contributes its next chunk; a segment with nothing left drops out.
    const longest = Math.max(0, ...batch.map((s) => s.ids.length));
    for (let from = 0; from < longest; from += maxChunk) {
      const parts: { index: number; ids: Int32Array; rowsOut: number; outOffset: number }[] = [];
      batch.forEach((s, index) => {
        if (from >= s.ids.length) return;
        const ids = s.ids.subarray(from, Math.min(from + maxChunk, s.ids.length));
        const isLast = from + ids.length === s.ids.length;
        const rowsOut = mode === "all" ? ids.length : mode === "last" && isLast ? 1 : 0;
        parts.push({ index, ids, rowsOut, outOffset: mode === "all" ? from * vocab : 0 });
      });
      const logits = this.step(parts.map((p) => ({ seq: batch[p.index]!.seq, ids: p.ids, rowsOut: p.rowsOut })));
      let at = 0;
      for (const p of parts) {
        const n = p.rowsOut * vocab;
        results[p.index]!.set(logits.subarray(at, at + n), p.outOffset);
        at += n;
      }
    }
    return results;
  }

  private own(seq: Sequence): void {
    if (seq.model !== this) throw new QwenrtError("sequence", "belongs to another model");
    if (seq.released) throw new QwenrtError("sequence", "was released (Model.release) and cannot be used");
  }

  private validate(batch: readonly Segment[]): void {
    const seen = new Set<Sequence>();
    batch.forEach((s, i) => {
      this.own(s.seq);
      if (seen.has(s.seq)) throw new QwenrtError("batch", `segment ${i} repeats a sequence already in this batch`);
      seen.add(s.seq);
      const vocab = this.config.vocabSize;
      for (let j = 0; j < s.ids.length; j++) {
        const id = s.ids[j]!;
        if (id < 0 || id >= vocab) throw new QwenrtError("ids", `segment ${i} index ${j}: token id ${id} is out of range [0, ${vocab})`);
      }
    });
  }

  private ensureCapacity(seq: Sequence, need: number): void {
    if (need <= seq.capacity) return;
    const capacity = Math.max(need, seq.capacity * 2);
    const grow = (old: KvBuffer): KvBuffer => {
      const b = this.backend.allocKv(capacity * this.kvWidth);
      this.copyCache(old, seq.capacity, b, capacity, seq.length);
      this.backend.freeKv(old);
      return b;
    };
    seq.keys = seq.keys.map(grow);
    seq.values = seq.values.map(grow);
    seq.capacity = capacity;
  }

  /** Copy positions `0 .. used` of each head between caches of capacities `fromCap` and `toCap`
   * (`from`, `to`: [kvHeads, capacity, headDim], both from this backend's `allocKv`). Raw element
   * copies: f16 half bits move unchanged. */
  private copyCache(from: KvBuffer, fromCap: number, to: KvBuffer, toCap: number, used: number): void {
    if (from.constructor !== to.constructor) throw new Error("unreachable: KV caches of two element types");
    const hd = this.config.headDim;
    for (let h = 0; h < this.config.numKvHeads; h++) {
      to.set(from.subarray(h * fromCap * hd, (h * fromCap + used) * hd), h * toCap * hd);
    }
  }

  /** One pass over the concatenated rows; returns the requested rows' logits back to back. */
  private step(parts: readonly { seq: Sequence; ids: Int32Array; rowsOut: number }[]): Float32Array {
    const { config: c, backend: be, scratch } = this;
    const { embed, finalNorm, lmHead, layers } = this.parts;
    const hidden = c.hiddenSize;
    const n = parts.reduce((a, p) => a + p.ids.length, 0);
    const positions = new Int32Array(n); // [n]
    const segments: SegmentView[] = [];
    let row = 0;
    for (const p of parts) {
      this.ensureCapacity(p.seq, p.seq.length + p.ids.length);
      for (let j = 0; j < p.ids.length; j++) positions[row + j] = p.seq.length + j;
      segments.push({ rowStart: row, rows: p.ids.length, start: p.seq.length, capacity: p.seq.capacity, keys: p.seq.keys, values: p.seq.values });
      row += p.ids.length;
    }
    const half = c.headDim / 2;
    const cos = scratch.get("rope.cos", n * half); // [n, headDim/2]
    const sin = scratch.get("rope.sin", n * half); // [n, headDim/2]
    this.rope.fill(positions, n, cos, sin);
    const ctx: BatchContext = { backend: be, scratch, rows: n, cos, sin, segments };

    const h = scratch.get("h", n * hidden); // [n, hidden] residual stream
    const xn = scratch.get("xn", n * hidden); // [n, hidden] normed input of a block
    const tmp = scratch.get("blockOut", n * hidden); // [n, hidden] output of a block
    row = 0;
    for (const p of parts) {
      for (let j = 0; j < p.ids.length; j++, row++) be.embedRow(embed, p.ids[j]!, h.subarray(row * hidden, (row + 1) * hidden));
    }
    for (const layer of layers) {
      be.rmsNorm(h, layer.inputNorm, c.rmsNormEps, n, hidden, xn);
      layer.attention.forward(ctx, xn, tmp);
      for (let i = 0; i < n * hidden; i++) h[i] += tmp[i]!;
      be.rmsNorm(h, layer.postAttentionNorm, c.rmsNormEps, n, hidden, xn);
      layer.ffn.forward(ctx, xn, n, tmp);
      for (let i = 0; i < n * hidden; i++) h[i] += tmp[i]!;
    }
    for (const p of parts) p.seq.length += p.ids.length;

    // Only the requested rows go through the final norm and the LM head.
    const m = parts.reduce((a, p) => a + p.rowsOut, 0);
    const sel = scratch.get("selected", m * hidden); // [m, hidden]
    let src = 0;
    let dst = 0;
    for (const p of parts) {
      const first = src + p.ids.length - p.rowsOut;
      sel.set(h.subarray(first * hidden, (first + p.rowsOut) * hidden), dst * hidden);
      src += p.ids.length;
      dst += p.rowsOut;
    }
    const logits = scratch.get("logits", m * c.vocabSize); // [m, vocab]
    if (m > 0) {
      be.rmsNorm(sel, finalNorm, c.rmsNormEps, m, hidden, sel);
      be.matmul(lmHead, sel, m, logits);
    }
    return logits;
  }
}
