/**
 * A stand-alone quantizer for tools that write weights (GGUF conversion, the quantized-weights
 * cache, `qwenrt synth --out X.gguf`): its own small wasm memory and worker pool running the SIMD
 * quantizers (quantize_rows.ts), with the reference quantizers of formats/quant/ for every other
 * target type. Dispose it when done (its threads never keep the process alive).
 */
import { availableParallelism } from "node:os";
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import type { WeightType } from "../../formats/quant/types.js";
import { QwenrtError } from "../../util/errors.js";
import { WasmHeap } from "./memory.js";
import { loadKernelModule } from "./module.js";
import { Pool } from "./pool.js";
import { JOB, instantiateKernels } from "./protocol.js";
import { PoolQuantizer, isFloatType, isWasmQuantType } from "./quantize_rows.js";
import { wasmApi } from "./wasm_api.js";

/** Encodes matrices from one storage type into another. */
export interface Quantizer {
  readonly threads: number;
  /**
   * Encode `rows × cols` values stored as `from` (`src`: [rows, rowBytes(from, cols)]) as `to` into
   * `dst` ([rows, rowBytes(to, cols)]): a copy when the types agree, the SIMD quantizers for float
   * sources and Q8_0 / Q4_0 / Q4_K / Q6_K, else decode to f32 and the reference encoder (same bytes).
   */
  encode(from: WeightType, src: Uint8Array, to: WeightType, rows: number, cols: number, dst: Uint8Array): void;
  /**
   * Random rows `rowBase .. rowBase + rows` of a tensor (`cols` values per row, a multiple of 4)
   * as `to` (f32, Q8_0, Q4_0, Q4_K or Q6_K) into `dst`: value j is mean + std · z with z ≈ N(0, 1)
   * a function of (`key`, j) only, rounded to bf16 (see assembly/synth.ts).
   */
  random(key: bigint, mean: number, std: number, rowBase: number, rows: number, cols: number, to: WeightType, dst: Uint8Array): void;
  dispose(): void;
}

/** Options of {@link createQuantizer}. */
export interface QuantizerOptions {
  /** Threads including the calling one (default `os.availableParallelism()`). */
  readonly threads?: number;
}

/** Rows decoded to f32 at a time on the reference path. */
const REF_ROWS_BYTES = 16 << 20;

/**
 * Start a quantizer.
 *
 * @example
 * const q = await createQuantizer({ threads: 2 });
 * try { q.encode("bf16", bytes, "q4_k", rows, cols, out); } finally { q.dispose(); }
 */
export async function createQuantizer(options: QuantizerOptions = {}): Promise<Quantizer> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new QwenrtError("threads", `must be an integer in 1..256, got ${threads}`);
  // The plain SIMD build: the quantizers use no relaxed instruction (they must round like C).
  const module = { module: (await loadKernelModule(false)).module, dotAdd: false };
  const memory = new wasmApi.Memory({ initial: 32, maximum: 65536, shared: true });
  const kernels = instantiateKernels(module, memory);
  const heap = new WasmHeap(memory, kernels.heapBase());
  const job = heap.alloc(JOB.bytes, 64);
  const pool = await Pool.create(module, memory, kernels, job, threads);
  const simd = new PoolQuantizer(pool.runner(0), kernels, heap);
  let disposed = false;
  return {
    threads,
    encode(from, src, to, rows, cols, dst) {
      if (disposed) throw new QwenrtError("quantizer", "used after dispose()");
      if (from === to) {
        const n = rows * rowBytes(to, cols);
        dst.set(src.subarray(0, n));
      } else if (isFloatType(from) && isWasmQuantType(to)) {
        simd.quantize(from, src, to, rows, cols, dst);
      } else {
        encodeReference(from, src, to, rows, cols, dst);
      }
    },
    random(key, mean, std, rowBase, rows, cols, to, dst) {
      if (disposed) throw new QwenrtError("quantizer", "used after dispose()");
      if (to !== "f32" && !isWasmQuantType(to)) throw new QwenrtError("synth", `random tensors are written as f32, q8_0, q4_0, q4_k or q6_k, not ${to}`, { code: "unsupported" });
      simd.random(key, mean, std, rowBase, rows, cols, to, dst);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      pool.dispose();
    },
  };
}

/** The reference path: decode a few rows to f32, encode them with the format's own quantizer. */
function encodeReference(from: WeightType, src: Uint8Array, to: WeightType, rows: number, cols: number, dst: Uint8Array): void {
  const quantize = getFormat(to).quantize;
  if (quantize === undefined) throw new QwenrtError("quantize", `no encoder for ${to}`, { code: "unsupported" });
  const srcRow = rowBytes(from, cols), dstRow = rowBytes(to, cols);
  const slab = Math.max(1, Math.min(rows, Math.floor(REF_ROWS_BYTES / (cols * 4))));
  const vals = new Float32Array(slab * cols); // [slab, cols]
  for (let r0 = 0; r0 < rows; r0 += slab) {
    const n = Math.min(slab, rows - r0);
    const v = vals.subarray(0, n * cols);
    getFormat(from).dequantize(src.subarray(r0 * srcRow, (r0 + n) * srcRow), v, v.length);
    quantize(v, dst.subarray(r0 * dstRow, (r0 + n) * dstRow), v.length);
  }
}
