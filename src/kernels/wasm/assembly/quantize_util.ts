// Helpers of the weight quantizers (quantize_legacy.ts, quantize_k4.ts, quantize_k6.ts), written to
// give the same bits as formats/quant/*.ts (and so ggml's reference quantizers): every f32 operation
// rounds once, as a C float operation does (no fused multiply-add anywhere in the quantizers).

/** Source element types of `quantizeRows` (assembly/quantize.ts). */
export const SRC_F32: i32 = 0;
export const SRC_F16: i32 = 1;
export const SRC_BF16: i32 = 2;

/** ggml's `nearest_int`: add 1.5·2^23 and read the mantissa bits (round half to even in range;
 * outside it the bit trick's own result, as block_util.ts reproduces). */
@inline export function nearestInt(v: f32): i32 {
  return (reinterpret<i32>(v + <f32>12582912) & 0x7fffff) - 0x400000;
}

/** `nearestInt` on four lanes. */
@inline export function nearestX4(v: v128): v128 {
  return i32x4.sub(v128.and(f32x4.add(v, f32x4.splat(12582912)), i32x4.splat(0x7fffff)), i32x4.splat(0x400000));
}

/** JavaScript's ToInt32 of four integral-or-not f32 lanes where finite values lie within ±2^31:
 * truncation, and 0 for ±inf and NaN (block_util.ts feeds `Math.trunc` results to `<<` and `&`). */
@inline export function toInt32X4(v: v128): v128 {
  return v128.and(i32x4.trunc_sat_f32x4_s(v), f32x4.lt(f32x4.abs(v), f32x4.splat(2147483648)));
}

/** f32 → IEEE half bits, round to nearest even (float.ts `f32ToF16`, bit for bit). */
export function f32ToHalf(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >>> 16) & 0x8000;
  const exp = <i32>((x >>> 23) & 0xff);
  let mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    const half: u32 = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((<u32>1 << shift) - 1);
    if (rem > half || (rem == half && (r & 1) == 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1)) {
    r++;
    if (r == 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (<u32>e << 10) | r;
}

/** IEEE half bits → f32, exact for every input (float.ts `f16ToF32`). */
export function halfToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0) {
    const v = <f32>m * reinterpret<f32>(0x33800000); // m · 2^-24, exact
    return sign != 0 ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

/** Store `v` as a little-endian half at `p` (ggml's `GGML_FP32_TO_FP16`). */
@inline export function storeHalf(p: usize, v: f32): void {
  store<u16>(p, <u16>f32ToHalf(v));
}

/** Four halves (zero-extended in i32 lanes) → f32 lanes, exact for every input: finite halves by
 * rebiasing the exponent in an f32 with one exact multiply by 2^112 (subnormals included), inf/NaN
 * by setting the f32 exponent to all ones. */
@inline function halvesToF32X4(h: v128): v128 {
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const em = v128.and(h, i32x4.splat(0x7fff));
  const finite = f32x4.mul(i32x4.shl(em, 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  const special = v128.or(i32x4.shl(em, 13), i32x4.splat(0x7f800000));
  return v128.or(v128.bitselect(special, finite, i32x4.ge_s(em, i32x4.splat(0x7c00))), sign);
}

/** Convert `n` (a multiple of 8) source values at `src` to f32 at `dst`. */
export function loadF32(srcType: i32, src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 8) {
    const o = <usize>i << 2;
    if (srcType == SRC_F32) {
      v128.store(dst + o, v128.load(src + o));
      v128.store(dst + o + 16, v128.load(src + o + 16));
    } else {
      const h = v128.load(src + (<usize>i << 1));
      const lo = i32x4.extend_low_i16x8_u(h), hi = i32x4.extend_high_i16x8_u(h);
      if (srcType == SRC_BF16) {
        v128.store(dst + o, i32x4.shl(lo, 16));
        v128.store(dst + o + 16, i32x4.shl(hi, 16));
      } else {
        v128.store(dst + o, halvesToF32X4(lo));
        v128.store(dst + o + 16, halvesToF32X4(hi));
      }
    }
  }
}

/** Bytes of one source value. */
@inline export function srcBytes(srcType: i32): i32 {
  return srcType == SRC_F32 ? 4 : 2;
}

/** Pack the low bytes of four i32x4 (values 0..255) into one v128 of 16 bytes. */
@inline export function packBytes(a: v128, b: v128, c: v128, d: v128): v128 {
  return i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(a, b), i16x8.narrow_i32x4_u(c, d));
}

/** Transpose: `groups` of four runs of `n` f32 (run k of group g at src + ((4g + k)·n)·4) into
 * dst, where dst + (g·n + i)·16 holds value i of the group's four runs in lanes 0..3. `n` is a
 * multiple of 4. The searches then fit four runs at once, one per lane, each lane in its own
 * sequential order. */
export function transposeRuns(src: usize, dst: usize, groups: i32, n: i32): void {
  const run = <usize>n << 2;
  for (let g = 0; g < groups; g++) {
    const s = src + <usize>(4 * g) * run, d = dst + <usize>g * (run << 2);
    for (let i = 0; i < n; i += 4) {
      const o = <usize>i << 2;
      const a = v128.load(s + o), b = v128.load(s + run + o), c = v128.load(s + 2 * run + o), e = v128.load(s + 3 * run + o);
      const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<i32>(c, e, 0, 4, 1, 5);
      const t2 = v128.shuffle<i32>(a, b, 2, 6, 3, 7), t3 = v128.shuffle<i32>(c, e, 2, 6, 3, 7);
      const q = d + (<usize>i << 4);
      v128.store(q, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
      v128.store(q + 16, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
      v128.store(q + 32, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
      v128.store(q + 48, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
    }
  }
}

/** `if (a < b) b = a` on four lanes (keeps b's zero sign where a == b, as the scalar compare does). */
@inline export function minSel(a: v128, b: v128): v128 {
  return v128.bitselect(a, b, f32x4.lt(a, b));
}

/** `if (a > b) b = a` on four lanes. */
@inline export function maxSel(a: v128, b: v128): v128 {
  return v128.bitselect(a, b, f32x4.gt(a, b));
}
