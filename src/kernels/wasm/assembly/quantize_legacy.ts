// Q8_0 and Q4_0 blocks (32 values) from f32, bit for bit as formats/quant/legacy.ts (ggml's
// `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`).
//   q8_0 (34 B): d:f16 | qs:i8[32]
//   q4_0 (18 B): d:f16 | qs:u8[16] (low nibble j, high nibble j + 16)
import { packBytes, storeHalf, toInt32X4 } from "./quantize_util";

/** C's `roundf` on four lanes: halves away from zero (exact: v − trunc(v) is exact in f32). */
@inline function roundAwayX4(v: v128): v128 {
  const t = f32x4.trunc(v);
  const one = v128.or(v128.and(v, i32x4.splat(<i32>0x80000000)), f32x4.splat(1));
  return f32x4.add(t, v128.and(one, f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5))));
}

/** The largest |x| of a block holding a NaN, by wasm's NaN-propagating `max` (the NaN it makes is
 * the one the reference's Math.max makes on the same machine). */
function maxAbsNaN(x: usize): f32 {
  let m = f32x4.splat(0);
  for (let c = 0; c < 8; c++) m = f32x4.max(m, f32x4.abs(v128.load(x + (<usize>c << 4))));
  return max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/** One Q8_0 block: x [32] f32 → dst [34] bytes. The largest |x| by `pmax` (one instruction; wasm's
 * `max` is seven on x64, for NaN and signed zeros), with NaNs tracked apart: a block holding one
 * takes `maxAbsNaN`; the levels (|q| ≤ 127, or NaN → 0) need no range mask. */
export function q8_0Block(x: usize, dst: usize): void {
  let m = f32x4.splat(0), nan = m;
  for (let c = 0; c < 8; c++) {
    const v = f32x4.abs(v128.load(x + (<usize>c << 4)));
    m = f32x4.pmax(v, m);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
  m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
  const amax = v128.any_true(nan) ? maxAbsNaN(x) : f32x4.extract_lane(m, 0);
  const d: f32 = amax / 127;
  const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
  storeHalf(dst, d);
  for (let c = 0; c < 2; c++) {
    const p = x + (<usize>c << 6);
    const a = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(p), id)));
    const b = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(p + 16), id)));
    const e = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(p + 32), id)));
    const g = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(p + 48), id)));
    // |q| ≤ 127: the saturating narrows keep every value
    v128.store(dst + 2 + (<usize>c << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(e, g)));
  }
}

/** (int8)trunc(v) as C casts it (ToInt32, then the low 8 bits sign-extended), capped at 15, low byte. */
@inline function q4Level(v: v128): v128 {
  const t = toInt32X4(v);
  return v128.and(i32x4.min_s(i32x4.shr_s(i32x4.shl(t, 24), 24), i32x4.splat(15)), i32x4.splat(0xff));
}

/** Bytes of four nibble pairs: values at p (low nibbles) and p + 64 bytes (16 values on, high). */
@inline function q4Pair(p: usize, id: v128): v128 {
  const off = f32x4.splat(8.5);
  const lo = q4Level(f32x4.add(f32x4.mul(v128.load(p), id), off));
  const hi = q4Level(f32x4.add(f32x4.mul(v128.load(p + 64), id), off));
  return v128.and(v128.or(lo, i32x4.shl(hi, 4)), i32x4.splat(0xff));
}

/** One Q4_0 block: x [32] f32 → dst [18] bytes. */
export function q4_0Block(x: usize, dst: usize): void {
  // The signed value of largest magnitude, the first one on ties (ggml's strict `<`).
  let amax: f32 = 0, mx: f32 = 0;
  for (let j = 0; j < 32; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    if (amax < abs(v)) {
      amax = abs(v);
      mx = v;
    }
  }
  const d: f32 = mx / -8;
  const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
  storeHalf(dst, d);
  const q0 = q4Pair(x, id), q1 = q4Pair(x + 16, id), q2 = q4Pair(x + 32, id), q3 = q4Pair(x + 48, id);
  v128.store(dst + 2, packBytes(q0, q1, q2, q3));
}
