/**
 * What a layer's forward call gets: the backend, the batch's rows and positions, and grow-only
 * scratch buffers (allocated through the backend so a WASM backend can use them without copying).
 */
import type { KernelBackend, KvBuffer, Matrix } from "../kernels/types.js";

/** Named grow-only float32 buffers, reused across forward calls (no per-call allocation). A buffer
 * that grows returns the old one to the backend: views from `get` are valid until the next `get`
 * of the same name with a larger length. */
export class Scratch {
  private readonly buffers = new Map<string, Float32Array>();
  constructor(private readonly backend: KernelBackend) {}

  /** A buffer of at least `length` floats, returned as a view of exactly `length`; contents undefined. */
  get(name: string, length: number): Float32Array {
    let b = this.buffers.get(name);
    if (b === undefined || b.length < length) {
      const old = b;
      b = this.backend.allocF32(Math.max(length, old === undefined ? 0 : Math.ceil(old.length * 1.5)));
      if (old !== undefined) this.backend.freeF32(old); // views of it from earlier steps are dead
      this.buffers.set(name, b);
    }
    return b.subarray(0, length);
  }
}

/** One segment's slice of the batch and its KV cache. */
export interface SegmentView {
  readonly rowStart: number; // first row of this segment in the batch
  readonly rows: number; // number of new tokens
  readonly start: number; // position of the first new token (= cached length)
  readonly capacity: number; // positions each cache buffer holds
  readonly keys: readonly KvBuffer[]; // per layer [kvHeads, capacity, headDim]
  readonly values: readonly KvBuffer[]; // per layer [kvHeads, capacity, headDim]
}

/** Everything a layer needs about the batch being run. */
export interface BatchContext {
  readonly backend: KernelBackend;
  readonly scratch: Scratch;
  readonly rows: number; // total rows n
  readonly cos: Float32Array; // [n, headDim/2]
  readonly sin: Float32Array; // [n, headDim/2]
  readonly segments: readonly SegmentView[];
}

/** A feed-forward block: `out[n, hidden] = f(x[n, hidden])`. `out` never aliases `x`. */
export interface FeedForward {
  forward(ctx: BatchContext, x: Float32Array, n: number, out: Float32Array): void;
}

/** Loaded weights by checkpoint name; asking for a name the table did not declare is a bug. */
export interface Weights {
  matrix(name: string): Matrix;
  vector(name: string): Float32Array;
}

/** One declared tensor: checkpoint name, expected shape, and how it is held. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[]; // [rows, cols] for matrices, [length] for vectors
  readonly kind: "matrix" | "vector"; // matrix → backend.loadMatrix; vector → Float32Array
}
