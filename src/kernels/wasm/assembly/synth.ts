// Random weights generated in place and encoded at once (`K_SYNTH_ROWS` in index.ts), for
// `qwenrt synth --out X.gguf`: value j of a tensor is a function of the tensor's 64-bit key and j
// only (a counter-based generator), so rows can be split over threads and slabs in any order.
// Value = mean + std · z, z ≈ N(0, 1) as the scaled sum of four uniforms in [-1, 1) (Irwin–Hall:
// bounded at ±3.46, a bell shape; random weights for tests and benchmarks need no more), rounded
// to bf16 (a bf16 checkpoint's values) and then encoded like a checkpoint's rows (quantize.ts).
import { q4_0Block, q8_0Block } from "./quantize_legacy";
import { q4kBlock } from "./quantize_k4";
import { q6kBlock } from "./quantize_k6";
import { QT_F32, QT_Q4_0, QT_Q4_K, QT_Q8_0, blockBytes } from "./quantize";

/** murmur3's 32-bit finalizer on four lanes. */
@inline function fmix(h0: v128): v128 {
  let h = v128.xor(h0, i32x4.shr_u(h0, 16));
  h = i32x4.mul(h, i32x4.splat(<i32>0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(<i32>0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/** Uniforms in [-1, 1) for counters `c` (four lanes) under key (k0, k1): exact multiples of 2^-23. */
@inline function uniform(c: v128, k0: v128, k1: v128): v128 {
  const h = fmix(v128.xor(fmix(v128.xor(i32x4.mul(c, i32x4.splat(<i32>0x9e3779b9)), k0)), k1));
  return f32x4.sub(f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(h, 8)), f32x4.splat(<f32>1.1920928955078125e-7)), f32x4.splat(1));
}

/** f32 lanes rounded to the nearest bf16 (ties to even), kept as f32 (values are finite). */
@inline function toBf16(x: v128): v128 {
  const odd = v128.and(i32x4.shr_u(x, 16), i32x4.splat(1));
  return v128.and(i32x4.add(x, i32x4.add(i32x4.splat(0x7fff), odd)), i32x4.splat(<i32>0xffff0000));
}

/** Values j0 .. j0 + n of a tensor (n a multiple of 4) into `out` as f32. */
function generate(k0: u32, k1: u32, mean: f32, std: f32, j0: u32, n: i32, out: usize): void {
  const K0 = i32x4.splat(<i32>k0), K1 = i32x4.splat(<i32>k1);
  const scale = f32x4.splat(std * <f32>0.8660254037844386); // sqrt(3)/2: four uniforms have variance 4/3
  const m = f32x4.splat(mean);
  const lane = i32x4(0, 4, 8, 12);
  for (let i = 0; i < n; i += 4) {
    const c = i32x4.add(i32x4.splat(<i32>((j0 + <u32>i) << 2)), lane); // counters 4j .. 4j + 3 per value j
    const s = f32x4.add(
      f32x4.add(uniform(c, K0, K1), uniform(i32x4.add(c, i32x4.splat(1)), K0, K1)),
      f32x4.add(uniform(i32x4.add(c, i32x4.splat(2)), K0, K1), uniform(i32x4.add(c, i32x4.splat(3)), K0, K1)),
    );
    v128.store(out + (<usize>i << 2), toBf16(f32x4.add(m, f32x4.mul(s, scale))));
  }
}

/** Rows r0..r1 of a random [*, cols] tensor (key k0, k1; `rowBase` + r is the tensor's row), encoded
 * as `dstType` (QT_*, QT_F32 for plain f32) into dst [rows, …]; scratch: QUANT_SCRATCH bytes. */
export function synthRows(k0: u32, k1: u32, mean: f32, std: f32, rowBase: u32, dstType: i32, dst: usize, cols: i32, scratch: usize, r0: i32, r1: i32): void {
  const bs = dstType == QT_F32 ? cols : dstType >= QT_Q4_K ? 256 : 32;
  const nb = cols / bs;
  const bb = <usize>(dstType == QT_F32 ? cols << 2 : blockBytes(dstType));
  const drow = <usize>nb * bb;
  const xf = scratch, ks = scratch + 1024;
  for (let r = r0; r < r1; r++) {
    const d = dst + <usize>r * drow;
    const jr = (rowBase + <u32>r) * <u32>cols;
    if (dstType == QT_F32) {
      generate(k0, k1, mean, std, jr, cols, d);
      continue;
    }
    for (let b = 0; b < nb; b++) {
      generate(k0, k1, mean, std, jr + <u32>(b * bs), bs, xf);
      const o = d + <usize>b * bb;
      if (dstType == QT_Q8_0) q8_0Block(xf, o);
      else if (dstType == QT_Q4_0) q4_0Block(xf, o);
      else if (dstType == QT_Q4_K) q4kBlock(xf, o, ks);
      else q6kBlock(xf, o, ks);
    }
  }
}
