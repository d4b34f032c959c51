/**
 * Weight quantization on the worker pool: rows of f32 / f16 / bf16 values → ggml blocks of Q8_0,
 * Q4_0, Q4_K or Q6_K by the SIMD kernels of assembly/quantize*.ts, bit for bit as the reference
 * quantizers of formats/quant/ (which match ggml's). Source rows are staged into wasm memory a slab
 * at a time, split by rows over the pool, and the blocks copied out, so host memory never holds more
 * than the caller's arrays.
 */
import { rowBytes } from "../../formats/quant/index.js";
import type { WeightType } from "../../formats/quant/types.js";
import { QwenrtError } from "../../util/errors.js";
import type { JobRunner } from "./pool.js";
import { globalValue, type KernelExports } from "./protocol.js";

/** Types the SIMD quantizers write. */
export type WasmQuantType = "q8_0" | "q4_0" | "q4_k" | "q6_k";
/** Source types they read. */
export type FloatType = "f32" | "f16" | "bf16";

export const WASM_QUANT_TYPES: readonly WeightType[] = ["q8_0", "q4_0", "q4_k", "q6_k"];

export function isWasmQuantType(t: WeightType): t is WasmQuantType {
  return WASM_QUANT_TYPES.includes(t);
}

export function isFloatType(t: WeightType): t is FloatType {
  return t === "f32" || t === "f16" || t === "bf16";
}

const SRC_ID: Readonly<Record<FloatType, number>> = { f32: 0, f16: 1, bf16: 2 }; // assembly/quantize_util.ts SRC_*

/** Where the staging buffers live: the allocator of the memory the pool's kernels run on. */
export interface StagingSpace {
  alloc(bytes: number, align?: number): number;
  release(ptr: number): void;
  u8(ptr: number, length: number): Uint8Array;
}

/** Source bytes staged per slab (the pool runs one job per slab). */
const SLAB_BYTES = 8 << 20;

/**
 * Quantize matrices with jobs of `runner` (on the kernels of `space`'s memory).
 *
 * @example
 * const q = new PoolQuantizer(pool.runner(0), kernels, heap);
 * q.quantize("bf16", bytes, "q4_k", rows, cols, out); // out: rows × rowBytes("q4_k", cols)
 */
export class PoolQuantizer {
  private readonly kernel: number;
  private readonly synthKernel: number;
  private readonly scratchPerThread: number;
  private readonly typeIds: Readonly<Record<WasmQuantType | "f32", number>>;

  constructor(
    private readonly pool: JobRunner,
    kernels: KernelExports,
    private readonly space: StagingSpace,
  ) {
    const id = globalValue;
    this.kernel = id(kernels.K_QUANTIZE_ROWS);
    this.synthKernel = id(kernels.K_SYNTH_ROWS);
    this.scratchPerThread = id(kernels.QUANT_SCRATCH);
    this.typeIds = { q8_0: id(kernels.QT_Q8_0), q4_0: id(kernels.QT_Q4_0), q4_k: id(kernels.QT_Q4_K), q6_k: id(kernels.QT_Q6_K), f32: id(kernels.QT_F32) };
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Encode `rows × cols` values (`src`: [rows, cols] in `from`) as `to` into `dst` ([rows, rowBytes(to, cols)]). */
  quantize(from: FloatType, src: Uint8Array, to: WasmQuantType, rows: number, cols: number, dst: Uint8Array): void {
    const srcRow = rowBytes(from, cols), dstRow = rowBytes(to, cols); // rowBytes checks the block size
    if (src.byteLength < rows * srcRow) throw new QwenrtError("quantize", `[${rows}, ${cols}] ${from} needs ${rows * srcRow} bytes, got ${src.byteLength}`);
    if (dst.byteLength < rows * dstRow) throw new QwenrtError("quantize", `[${rows}, ${cols}] ${to} needs ${rows * dstRow} bytes, got ${dst.byteLength}`);
    if (rows === 0) return;
    const slab = Math.max(1, Math.min(rows, Math.floor(SLAB_BYTES / srcRow)));
    const threads = this.pool.threads;
    const sp = this.space.alloc(slab * srcRow), dp = this.space.alloc(slab * dstRow), kp = this.space.alloc(threads * this.scratchPerThread);
    try {
      for (let r0 = 0; r0 < rows; r0 += slab) {
        const n = Math.min(slab, rows - r0);
        this.space.u8(sp, n * srcRow).set(src.subarray(r0 * srcRow, (r0 + n) * srcRow));
        // A few chunks per thread, so a descheduled thread only does less.
        const chunk = Math.max(1, Math.ceil(n / (threads * 4)));
        this.pool.run(this.kernel, n, chunk, [SRC_ID[from], sp, this.typeIds[to], dp, cols, kp]);
        dst.set(this.space.u8(dp, n * dstRow), r0 * dstRow);
      }
    } finally {
      this.space.release(kp);
      this.space.release(dp);
      this.space.release(sp);
    }
  }

  /**
   * Random rows `rowBase .. rowBase + rows` of a tensor with `cols` values per row: value j is
   * mean + std · z(key, j), rounded to bf16 (assembly/synth.ts), encoded as `to` into `dst`.
   */
  random(key: bigint, mean: number, std: number, rowBase: number, rows: number, cols: number, to: WasmQuantType | "f32", dst: Uint8Array): void {
    if (cols % 4 !== 0) throw new QwenrtError("synth", `rows of ${cols} values: random rows need a multiple of 4`);
    const dstRow = rowBytes(to, cols);
    if (dst.byteLength < rows * dstRow) throw new QwenrtError("synth", `[${rows}, ${cols}] ${to} needs ${rows * dstRow} bytes, got ${dst.byteLength}`);
    if ((rowBase + rows) * cols > 2 ** 32) throw new QwenrtError("synth", `a tensor of ${(rowBase + rows) * cols} values: random tensors hold at most 2^32`);
    if (rows === 0) return;
    const slab = Math.max(1, Math.min(rows, Math.floor(SLAB_BYTES / dstRow)));
    const threads = this.pool.threads;
    const dp = this.space.alloc(slab * dstRow), kp = this.space.alloc(threads * this.scratchPerThread);
    const k0 = Number(key & 0xffffffffn), k1 = Number((key >> 32n) & 0xffffffffn);
    try {
      for (let r0 = 0; r0 < rows; r0 += slab) {
        const n = Math.min(slab, rows - r0);
        const chunk = Math.max(1, Math.ceil(n / (threads * 4)));
        this.pool.run(this.synthKernel, n, chunk, [k0, k1, { f32: mean }, { f32: std }, rowBase + r0, this.typeIds[to], dp, cols, kp]);
        dst.set(this.space.u8(dp, n * dstRow), r0 * dstRow);
      }
    } finally {
      this.space.release(kp);
      this.space.release(dp);
    }
  }
}
