/**
 * What a block's forward call gets: the backend, the batch's rows and positions, each segment's
 * per-layer cache slots, and grow-only scratch tensors. Everything here is a backend tensor: layer
 * code passes them from kernel to kernel and never reads them on the host.
 */
import type { KernelBackend, Matrix, Tensor } from "../kernels/types.js";

/** Named grow-only tensors, reused across forward calls (no per-call allocation). A tensor that
 * grows returns the old one to the backend: views from `get` are valid until the next `get` of the
 * same name with a larger length. */
export class Scratch {
  private readonly buffers = new Map<string, Tensor>();
  constructor(private readonly backend: KernelBackend) {}

  /** A tensor of at least `length` floats, returned as a view of exactly `length`; contents undefined. */
  get(name: string, length: number): Tensor {
    let b = this.buffers.get(name);
    if (b === undefined || b.length < length) {
      const old = b;
      b = this.backend.allocF32(Math.max(length, 1, old === undefined ? 0 : Math.ceil(old.length * 1.5)));
      if (old !== undefined) this.backend.freeF32(old); // views of it from earlier steps are dead
      this.buffers.set(name, b);
    }
    return b.length === length ? b : this.backend.view(b, 0, length);
  }

  /** Give every tensor back to the backend (the model is being dropped). */
  clear(): void {
    for (const b of this.buffers.values()) this.backend.freeF32(b);
    this.buffers.clear();
  }
}

/**
 * One layer's state in one sequence: a KV cache for attention, a fixed-size recurrent state for a
 * linear-attention layer. Positions are counted by the sequence; a slot keeps what its layer needs
 * for positions `0 .. used - 1`.
 */
export interface CacheSlot {
  /** Make room for `need` positions, keeping the first `used`. */
  reserve(need: number, used: number): void;
  /** A copy holding the first `used` positions (the two then evolve independently); `used` must be
   * restorable (`restorable(used) === used`). */
  fork(used: number): CacheSlot;
  /** Forget positions `len ..`; throws when the slot cannot go back (a recurrent state without a
   * checkpoint at `len`). */
  truncate(len: number): void;
  /** The greatest length `<= len` this slot can truncate to (a KV cache: `len`; a recurrent state:
   * its length, a checkpoint, or 0). `len` is at most the slot's length. */
  restorable(len: number): number;
  /** Keep a snapshot of the state at the current length so a later `truncate` or `fork` can return
   * to it (recurrent states; a KV cache needs none). */
  checkpoint(): void;
  /** Give the slot's buffers back to the backend; the slot must not be used afterwards. */
  release(): void;
  /** The first `used` positions as bytes (KV snapshots on disk); absent where a slot cannot say. */
  save?(used: number): Uint8Array;
  /** Take back what `save(used)` gave (of a slot of the same shape) as positions `0 .. used - 1`. */
  load?(bytes: Uint8Array, used: number): void;
}

/** How a sequence's recurrent-state slots keep checkpoints (see `DeltaNetSlot`). */
export interface SlotOptions {
  /** Snapshot every this many positions (0: only on demand). */
  readonly checkpointInterval?: number;
  /** Snapshots kept per slot at most (oldest interval snapshots go first). */
  readonly maxCheckpoints?: number;
}

/** One segment's slice of the batch and its sequence's cache slots. */
export interface SegmentView {
  readonly rowStart: number; // first row of this segment in the batch
  readonly rows: number; // number of new tokens
  readonly start: number; // position of the first new token (= cached length)
  readonly slots: readonly (CacheSlot | undefined)[]; // [layers] this sequence's per-layer state
}

/** Everything a block needs about the batch being run. */
export interface BatchContext {
  readonly backend: KernelBackend;
  readonly scratch: Scratch;
  readonly rows: number; // total rows n
  readonly cos: Tensor; // [n, ropeDim/2]
  readonly sin: Tensor; // [n, ropeDim/2]
  readonly segments: readonly SegmentView[];
}

/** A token mixer (attention, linear attention): `out[n, hidden] = f(x[n, hidden])`, reading and
 * extending layer `layer`'s cache slot of each segment. `out` never aliases `x`. */
export interface Mixer {
  /** This layer's slot for a new sequence with room for `capacity` positions (none if stateless). */
  newSlot(capacity: number, opts?: SlotOptions): CacheSlot | undefined;
  /** Bytes of cache one more position costs (0 for fixed-size states). */
  readonly bytesPerToken: number;
  forward(ctx: BatchContext, x: Tensor, out: Tensor): void;
}

/** A feed-forward block: `out[n, hidden] = f(x[n, hidden])`. `out` never aliases `x`. */
export interface FeedForward {
  forward(ctx: BatchContext, x: Tensor, n: number, out: Tensor): void;
}

/** One decoder block as the model runs it: updates the residual stream `h[n, hidden]` in place. */
export interface Block {
  readonly mixer: Mixer;
  forward(ctx: BatchContext, h: Tensor): void;
}

/** Loaded weights by checkpoint name; asking for a name the table did not declare is a bug. */
export interface Weights {
  matrix(name: string): Matrix;
  vector(name: string): Tensor;
}

/** One declared tensor: checkpoint name, expected shape, and how it is held. */
export interface WeightSpec {
  readonly name: string;
  /** Matrices: [rows, cols], or [..., cols] when split into `parts`; vectors: any shape, held flat. */
  readonly shape: readonly number[];
  readonly kind: "matrix" | "vector"; // matrix → backend.loadMatrix; vector → backend.loadVector
  /** Matrices: instead of the whole tensor, these selections of its rows (of `shape`'s last
   * dimension) are loaded as matrices under their own names — a fused projection split, or rows
   * brought into the order the model computes in. Rows move as bytes, so any weight type splits. */
  readonly parts?: readonly MatrixPart[];
  /** Vectors: applied to the float32 values when loaded (the checkpoint's form → the model's). */
  readonly transform?: VectorTransform;
}

/** Rows of a declared matrix loaded as a matrix of their own. */
export interface MatrixPart {
  readonly name: string;
  readonly rows: readonly number[]; // row indices into the tensor viewed as [rows, cols]
}

/** Vector transforms on load: `onePlus` (a zero-centred RMSNorm weight `w` scales by `1 + w`) and
 * `negExp` (`A_log` → `A = −exp(A_log)`), as llama.cpp's converter applies them to write a GGUF. */
export type VectorTransform = "onePlus" | "negExp";
