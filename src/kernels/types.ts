/**
 * The one kernel interface. `ref` (plain TypeScript, float32) is the oracle; every faster backend
 * (`wasm`, later `webgpu`) implements the same calls and passes the same case suite against `ref`.
 *
 * Calls are synchronous: a threaded backend blocks the calling thread (Atomics.wait) while its worker
 * pool runs, so the model code stays a plain sequence of calls.
 */
import type { WeightType } from "../formats/quant/types.js";

export type { WeightType };

/** A weight matrix in host memory, as read from a file: row-major `[rows, cols]`, raw little-endian
 * bytes in `type`'s layout (block-quantized types pack each row as `cols / blockSize` blocks). */
export interface HostMatrix {
  readonly type: WeightType;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array; // [rows, rowBytes(type, cols)]
}

/** A backend-owned weight matrix. Opaque outside the backend that made it. */
export interface Matrix {
  readonly type: WeightType;
  readonly rows: number;
  readonly cols: number;
}

export interface KernelBackend {
  readonly name: string;
  readonly threads: number;

  /** Allocate a zeroed float32 buffer the backend can use without copying (activations, KV cache). */
  allocF32(length: number): Float32Array;

  /** Return a buffer `allocF32` handed out (the whole buffer, not a subarray) for reuse. The buffer
   * must not be used afterwards. A no-op where memory is garbage-collected (`ref`). */
  freeF32(buf: Float32Array): void;

  /** Take a weight matrix. The backend may convert it (ref → f32) or copy it into its own memory;
   * the caller may drop `m.bytes` afterwards. */
  loadMatrix(m: HostMatrix): Matrix;

  /** `y[n, rows] = x[n, cols] · Wᵀ (+ bias[rows])`. */
  matmul(w: Matrix, x: Float32Array, n: number, y: Float32Array, bias?: Float32Array): void;

  /** `ys[j][n, ws[j].rows] = x[n, cols] · ws[j]ᵀ (+ biases[j])` for matrices of one width `cols`
   * (q/k/v projections): the same values as `ws.length` `matmul` calls, with `x` read (and
   * quantized) once and one dispatch. */
  matmulMany(ws: readonly Matrix[], x: Float32Array, n: number, ys: readonly Float32Array[], biases?: readonly (Float32Array | undefined)[]): void;

  /** SwiGLU's first half: `out[n, inter] = silu(x · gateᵀ) * (x · upᵀ)` (gate, up: [inter, cols]);
   * the same values as two `matmul` calls and `siluMul`. `out` must not alias `x`. */
  swiGlu(gate: Matrix, up: Matrix, x: Float32Array, n: number, out: Float32Array): void;

  /** Copy row `row` of `w`, dequantized, into `out[cols]` (embedding lookup). */
  embedRow(w: Matrix, row: number, out: Float32Array): void;

  /** RMSNorm over each of `rows` rows of length `dim`: `out = x / sqrt(mean(x²) + eps) * weight`.
   * `out` may alias `x`. */
  rmsNorm(x: Float32Array, weight: Float32Array, eps: number, rows: number, dim: number, out: Float32Array): void;

  /** Rotary embedding in place, Hugging Face "rotate_half" layout (pairs `i` and `i + headDim/2`).
   * `x`: [n, heads, headDim]; `cos`, `sin`: [n, headDim/2] for each row's position. */
  rope(x: Float32Array, n: number, heads: number, headDim: number, cos: Float32Array, sin: Float32Array): void;

  /** `out[i] = silu(gate[i]) * up[i]` for `i < length`. `out` may alias `gate`. */
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array, length: number): void;

  /** Causal grouped-query attention of `n` new queries over a sequence's KV cache.
   * `q`: [n, heads, headDim]; `k`, `v`: [kvHeads, capacity, headDim] (head-major, so one head's
   * positions are contiguous) holding positions `0 .. start + n - 1`, `capacity ≥ start + n`;
   * query `i` (position `start + i`) attends to keys `0 .. start + i`. `out`: [n, heads, headDim]. */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    n: number,
    start: number,
    capacity: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
    out: Float32Array,
  ): void;

  /** Release threads and memory. */
  dispose(): void;
}
