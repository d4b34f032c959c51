// Weight quantization jobs (`K_QUANTIZE_ROWS` in index.ts): rows of f32 / f16 / bf16 values → ggml
// blocks (Q8_0, Q4_0, Q4_K, Q6_K), bit for bit as formats/quant/*.ts. Rows are independent, so the
// pool splits a matrix by rows; each thread converts one block at a time into its own scratch.
import { q4_0Block, q8_0Block } from "./quantize_legacy";
import { K4_SCRATCH, q4kBlock } from "./quantize_k4";
import { K6_SCRATCH, q6kBlock } from "./quantize_k6";
import { loadF32, srcBytes } from "./quantize_util";

export const QT_Q8_0: i32 = 0;
export const QT_Q4_0: i32 = 1;
export const QT_Q4_K: i32 = 2;
export const QT_Q6_K: i32 = 3;
/** Plain f32 (synth.ts only: its norms and biases). */
export const QT_F32: i32 = 4;

/** Scratch bytes each thread needs: one block as f32, then the search's own. */
export const QUANT_SCRATCH: i32 = 1024 + max(K4_SCRATCH, K6_SCRATCH);

@inline export function blockBytes(dstType: i32): i32 {
  return dstType == QT_Q8_0 ? 34 : dstType == QT_Q4_0 ? 18 : dstType == QT_Q4_K ? 144 : 210;
}

/** Rows r0..r1 of src [rows, cols] (srcType, see quantize_util.ts) → dst [rows, cols / block]
 * blocks of `dstType`; `scratch`: QUANT_SCRATCH bytes of this thread's. */
export function quantizeRows(srcType: i32, src: usize, dstType: i32, dst: usize, cols: i32, scratch: usize, r0: i32, r1: i32): void {
  const bs = dstType >= QT_Q4_K ? 256 : 32;
  const nb = cols / bs;
  const sb = <usize>srcBytes(srcType);
  const srow = <usize>cols * sb, drow = <usize>nb * <usize>blockBytes(dstType);
  const bb = <usize>blockBytes(dstType);
  const xf = scratch, ks = scratch + 1024;
  for (let r = r0; r < r1; r++) {
    const s = src + <usize>r * srow, d = dst + <usize>r * drow;
    for (let b = 0; b < nb; b++) {
      loadF32(srcType, s + <usize>(b * bs) * sb, xf, bs);
      const o = d + <usize>b * bb;
      if (dstType == QT_Q8_0) q8_0Block(xf, o);
      else if (dstType == QT_Q4_0) q4_0Block(xf, o);
      else if (dstType == QT_Q4_K) q4kBlock(xf, o, ks);
      else q6kBlock(xf, o, ks);
    }
  }
}
