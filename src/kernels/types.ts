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

/** Element type of a KV cache: float32, or IEEE half (as llama.cpp's default `-ctk f16 -ctv f16`). */
export type KvType = "f32" | "f16";

/** A KV cache buffer from `allocKv`: float32 values, or IEEE half bit patterns for kvType "f16". */
export type KvBuffer = Float32Array | Uint16Array;

export interface KernelBackend {
  readonly name: string;
  readonly threads: number;
  /** What `allocKv` hands out: "f32" (Float32Array) or "f16" (Uint16Array of half bits). */
  readonly kvType: KvType;

  /** Allocate a zeroed float32 buffer the backend can use without copying (activations, scratch). */
  allocF32(length: number): Float32Array;

  /** Return a buffer `allocF32` handed out (the whole buffer, not a subarray) for reuse. The buffer
   * must not be used afterwards. A no-op where memory is garbage-collected (`ref`). */
  freeF32(buf: Float32Array): void;

  /** Allocate a KV cache buffer of `length` values of `kvType` (a position's values are defined once
   * `writeKv` wrote them). */
  allocKv(length: number): KvBuffer;

  /** Return a buffer `allocKv` handed out (the whole buffer) for reuse; it must not be used afterwards. */
  freeKv(buf: KvBuffer): void;

  /** Append new k or v rows to a cache: `src` [rows, kvHeads, headDim] float32 → `dst`
   * [kvHeads, capacity, headDim] at positions `start .. start + rows - 1`, converted to `dst`'s
   * element type (f32 → f16 rounds to nearest even, as ggml's `GGML_FP32_TO_FP16`). */
  writeKv(src: Float32Array, rows: number, kvHeads: number, headDim: number, dst: KvBuffer, capacity: number, start: number): void;

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
   * query `i` (position `start + i`) attends to keys `0 .. start + i`. `out`: [n, heads, headDim].
   * `k` and `v` are of one element type; the ref backend takes only float32. */
  attention(
    q: Float32Array,
    k: KvBuffer,
    v: KvBuffer,
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
