/**
 * What the wasm backend stores a loaded matrix as, and the conversion into it, a slab of rows at a
 * time: the source is decoded through a small reusable scratch and repacked straight into wasm
 * memory, so a converted matrix never exists whole (as float32 or as ggml bytes) outside it.
 *   - native types: repacked as they are
 *   - `dtype` (f32 / f16 / bf16 → q8_0, q4_0, q4_k): the SIMD quantizers on the worker pool
 *     (quantize_rows.ts) when the backend gives them, else the format's own quantizer (same bytes)
 *   - q3_k → q6_k: exact (same sub-blocks of 16, levels −4..3 and 6-bit scales fit Q6_K's)
 *   - q4_1, q5_1, q2_k → q8_0: no native type holds their values exactly (per-block minimum, or
 *     scales per 16 with minimums); Q8_0 keeps ~8 bits per value, far above the source's 2.6–6
 */
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import type { WeightType } from "../../formats/quant/types.js";
import type { HostMatrix } from "../types.js";
import { isFloatType, isWasmQuantType, type PoolQuantizer } from "./quantize_rows.js";
import { nativeBlock } from "./repack.js";
import type { RowSink } from "./repack_pool.js";

/** Types without a kernel, and what loading stores them as. */
export const CONVERTED: Readonly<Partial<Record<WeightType, { readonly to: WeightType; readonly exact: boolean }>>> = {
  q3_k: { to: "q6_k", exact: true },
  q4_1: { to: "q8_0", exact: false },
  q5_1: { to: "q8_0", exact: false },
  q2_k: { to: "q8_0", exact: false },
};

/** Rows converted per slab (the f32 scratch is SLAB_ROWS × cols values). */
export const SLAB_ROWS = 256;

/** Hand `m`, stored as `to`, to `put` as ggml rows of `to` (which writes them into the matrix's
 * repacked layout, see repack_pool.ts), SLAB_ROWS rows at a time. `to` is `m.type` (passed through
 * whole), CONVERTED[m.type].to, or a quantized dtype for floats (encoded by `quantizer` when given).
 * `m` may be rows `r0 ..` of a bigger matrix. */
export function convertInto(m: HostMatrix, to: WeightType, put: RowSink, r0 = 0, quantizer?: PoolQuantizer): void {
  const { rows, cols, type } = m;
  if (to === type) {
    put(m.bytes, rows, r0);
    return;
  }
  const srcRow = rowBytes(type, cols), dstRow = rowBytes(to, cols);
  const slab = Math.min(rows, SLAB_ROWS);
  const enc = new Uint8Array(slab * dstRow); // [slab, cols] in `to`'s ggml layout
  const simd = quantizer !== undefined && isFloatType(type) && isWasmQuantType(to) ? { q: quantizer, from: type, to } : undefined;
  const vals = type === "q3_k" || simd !== undefined ? undefined : new Float32Array(slab * cols); // [slab, cols]
  const quantize = getFormat(to).quantize;
  if (vals !== undefined && quantize === undefined) throw new Error(`internal: no quantizer for ${to}`);
  for (let r = 0; r < rows; r += slab) {
    const n = Math.min(slab, rows - r);
    const src = m.bytes.subarray(r * srcRow, (r + n) * srcRow);
    const out = enc.subarray(0, n * dstRow);
    if (simd !== undefined) {
      simd.q.quantize(simd.from, src, simd.to, n, cols, out);
    } else if (vals === undefined) {
      q3kToQ6k(src, out, (n * cols) / 256);
    } else {
      const v = vals.subarray(0, n * cols);
      getFormat(type).dequantize(src, v, v.length);
      quantize!(v, out, v.length);
    }
    put(out, n, r0 + r);
  }
}

/** The type a matrix is stored as: `dtype` for float matrices whose width fits its blocks, the
 * CONVERTED target for types without a kernel, else its own type. */
export function storedType(type: WeightType, cols: number, dtype: WeightType | undefined): WeightType {
  const isFloat = type === "f32" || type === "f16" || type === "bf16";
  if (dtype !== undefined && isFloat && cols % nativeBlock(dtype) === 0) return dtype;
  return CONVERTED[type]?.to ?? type;
}

/** Q3_K's signed 6-bit scale of sub-block `j` (0..15) from the 12 bytes at `q[o..o+12)`. */
function scaleQ3(j: number, q: Uint8Array, o: number): number {
  const lo = j < 8 ? q[o + j]! & 0x0f : q[o + j - 8]! >> 4;
  const hi = (q[o + 8 + (j % 4)]! >> (2 * (j >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

/** Re-encode `nb` Q3_K blocks (110 B) as Q6_K (210 B) with the same values bit for bit: value v of
 * Q3_K is d·sc[v >> 4]·(q − 4), q ∈ 0..7, sc ∈ −32..31; Q6_K's is d·sc[v >> 4]·(q6 − 32) with q6 = q + 28. */
export function q3kToQ6k(src: Uint8Array, dst: Uint8Array, nb: number): void {
  const q6 = new Uint8Array(256); // [256] 6-bit levels of one block
  for (let i = 0; i < nb; i++) {
    const o = i * 110, p = i * 210;
    for (let h = 0; h < 2; h++) {
      for (let j = 0; j < 4; j++) {
        const m = 1 << (4 * h + j);
        for (let k = 0; k < 32; k++) {
          const lv = ((src[o + 32 + 32 * h + k]! >> (2 * j)) & 3) - (src[o + k]! & m ? 0 : 4);
          q6[128 * h + 32 * j + k] = lv + 32;
        }
      }
    }
    for (let j = 0; j < 16; j++) dst[p + 192 + j] = scaleQ3(j, src, o + 96) & 0xff; // i8 scales
    dst[p + 208] = src[o + 108]!;
    dst[p + 209] = src[o + 109]!;
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const y = 128 * h + l;
        const a = q6[y]!, b = q6[y + 32]!, c = q6[y + 64]!, d = q6[y + 96]!;
        dst[p + 64 * h + l] = (a & 15) | ((c & 15) << 4);
        dst[p + 64 * h + l + 32] = (b & 15) | ((d & 15) << 4);
        dst[p + 128 + 32 * h + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6);
      }
    }
  }
}
