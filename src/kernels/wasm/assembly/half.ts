// IEEE half ↔ f32 for the f16 KV cache, with integer bit operations only (plus, reading, one exact
// multiply by 2^112 that attention folds into its weights and scale).

/** 2^112: rebiases a half's exponent (bias 15) sitting in the low bits of an f32 exponent (bias 127). */
export const HALF_REBIAS: f32 = reinterpret<f32>(0x77800000);

/** Four halves at `p` as f32 bit patterns scaled by 2^-112 (multiply by `HALF_REBIAS` for the value).
 * The halves load sign-extended; `<< 13` puts the 5 exponent bits at the bottom of f32's 8 and the
 * 10 mantissa bits at the top of its 23, and the mask drops the sign's copies above the exponent.
 * A half subnormal becomes an f32 subnormal of the same mantissa, so every finite half maps exactly
 * (wasm keeps subnormals); inf / NaN map to finite values (the cache never holds them for finite
 * activations below 65504). */
@inline export function halfBitsX4(p: usize, mask: v128): v128 {
  return v128.and(i32x4.shl(v128.load16x4_s(p), 13), mask); // mask: features.ts cHalfMask (0x8fffe000)
}

/** f32 → half bits on four lanes (in the low 16 bits of each i32 lane), round to nearest even as
 * ggml's `GGML_FP32_TO_FP16`: overflow (≥ 65520) → ±inf, subnormal results rounded, NaN → ±0x7e00.
 * Both branches are computed and selected (F. Giesen's float_to_half_fast3_rtne): below 2^-14 an f32
 * add of 0.5 lands the half's 10 mantissa bits at the bottom of the sum with the FPU's own
 * round-to-nearest-even; otherwise the exponent is rebiased and the mantissa rounded by adding
 * 0xfff + (the kept mantissa's lowest bit) before dropping 13 bits (a carry bumps the exponent). */
@inline function toHalfX4(x: v128): v128 {
  const sign = v128.and(x, i32x4.splat(<i32>0x80000000));
  const a = v128.xor(x, sign); // |x| bits
  const sub = i32x4.sub(f32x4.add(a, f32x4.splat(0.5)), i32x4.splat(126 << 23));
  const odd = v128.and(i32x4.shr_u(a, 13), i32x4.splat(1));
  const nrm = i32x4.shr_u(i32x4.add(i32x4.add(a, i32x4.splat(<i32>(-112 << 23) + 0xfff)), odd), 13);
  let h = v128.bitselect(sub, nrm, i32x4.lt_s(a, i32x4.splat(113 << 23)));
  h = v128.bitselect(i32x4.splat(0x7c00), h, i32x4.ge_s(a, i32x4.splat(143 << 23)));
  h = v128.bitselect(i32x4.splat(0x7e00), h, i32x4.gt_s(a, i32x4.splat(0x7f800000)));
  return v128.or(h, i32x4.shr_u(sign, 16));
}

/** Scatter new k or v rows into a head-major f16 cache: src [rows, kvHeads, hd] f32 → dst
 * [kvHeads, capacity, hd] halves at positions start .. start + rows - 1. Runs on the calling thread:
 * a 512-row prefill of 8 heads × 128 dims is half a million conversions, a fraction of a millisecond. */
export function writeKvF16(src: usize, dst: usize, rows: i32, kvHeads: i32, hd: i32, capacity: i32, start: i32): void {
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < kvHeads; h++) {
      const s = src + (<usize>(r * kvHeads + h) * <usize>hd << 2);
      const d = dst + ((<usize>h * <usize>capacity + <usize>(start + r)) * <usize>hd << 1);
      let c = 0;
      for (; c + 8 <= hd; c += 8) {
        const lo = toHalfX4(v128.load(s + (<usize>c << 2))), hi = toHalfX4(v128.load(s + (<usize>c << 2) + 16));
        v128.store(d + (<usize>c << 1), i16x8.narrow_i32x4_u(lo, hi)); // lanes hold 0 .. 0xfe00: no saturation
      }
      for (; c < hd; c++) store<u16>(d + (<usize>c << 1), <u16>i32x4.extract_lane(toHalfX4(i32x4.splat(load<i32>(s + (<usize>c << 2)))), 0));
    }
  }
}
