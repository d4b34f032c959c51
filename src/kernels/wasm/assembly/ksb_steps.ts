// Per-super-block steps of the sub-block-lane Q4_K / Q6_K kernels (matmul_ksb.ts): the scale
// gathers and the folds of a half's or a part's integer sums into f32 sums (in registers, or in this
// thread's slot: slots.ts).
import { madd } from "./simd";

export const Q4K_BYTES: i32 = 152;

/** acc + one Q4_K super-block's share: its integer sums `i` × d·dx, and the mins term
 * Σ m[j]·(Σq over sub-block j) (its x sums at s32k) × −dmin·dx, both in vector lanes. */
@inline export function q4kFold(blk: usize, i: v128, dx: f32, s32k: usize, acc: v128): v128 {
  const d = load<f32>(blk), dmin = load<f32>(blk + 4);
  acc = madd(f32x4.convert_i32x4_s(i), f32x4.splat(d * dx), acc);
  return madd(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(v128.load8x8_u(blk + 16), v128.load(s32k))), f32x4.splat(-dmin * dx), acc);
}

// Byte gathers of the sub-block scales (index 255: a zero byte, on x86 and Arm alike). In memory, not
// v128 constants, which V8 rebuilds at every use (features.ts).
// Q4_K, from sc[0..7] (u8): per half h, lane b = sc[4h + b] as i32.
const K4SC = memory.data<u8>([
  0, 255, 255, 255, 1, 255, 255, 255, 2, 255, 255, 255, 3, 255, 255, 255,
  4, 255, 255, 255, 5, 255, 255, 255, 6, 255, 255, 255, 7, 255, 255, 255,
], 16);
// Q6_K, from sc[0..15] (i8): per part hm = 2h + m, lane b = sc[8h + 2b + m] in the top byte of its
// i32 (dot-add; an arithmetic shift by 24 extends it), then in both i16 halves (a shift by 8).
const K6SC = memory.data<u8>([
  255, 255, 255, 0, 255, 255, 255, 2, 255, 255, 255, 4, 255, 255, 255, 6,
  255, 255, 255, 1, 255, 255, 255, 3, 255, 255, 255, 5, 255, 255, 255, 7,
  255, 255, 255, 8, 255, 255, 255, 10, 255, 255, 255, 12, 255, 255, 255, 14,
  255, 255, 255, 9, 255, 255, 255, 11, 255, 255, 255, 13, 255, 255, 255, 15,
  255, 0, 255, 0, 255, 2, 255, 2, 255, 4, 255, 4, 255, 6, 255, 6,
  255, 1, 255, 1, 255, 3, 255, 3, 255, 5, 255, 5, 255, 7, 255, 7,
  255, 8, 255, 8, 255, 10, 255, 10, 255, 12, 255, 12, 255, 14, 255, 14,
  255, 9, 255, 9, 255, 11, 255, 11, 255, 13, 255, 13, 255, 15, 255, 15,
], 16);

/** Part hm (= 2h + m) sub-block scales of the Q6_K super-block at blk: i32 lanes (`da`) or i16
 * pairs [sc, sc], sign-extended. */
@inline export function k6Sc(da: bool, blk: usize, hm: i32): v128 {
  const g = i8x16.relaxed_swizzle(v128.load(blk + 4), v128.load(K6SC + (da ? 0 : 64) + (<usize>hm << 4)));
  return da ? i32x4.shr_s(g, 24) : i16x8.shr_s(g, 8);
}

/** Half h's sub-block scales of the Q4_K super-block at blk as f32 lanes, × its d. */
@inline export function k4W(blk: usize, h: i32): v128 {
  const sc = i8x16.relaxed_swizzle(v128.load64_zero(blk + 8), v128.load(K4SC + (<usize>h << 4)));
  return f32x4.mul(f32x4.convert_i32x4_s(sc), f32x4.splat(load<f32>(blk)));
}

/** A half's sub-block sums as f32 lanes (dot-add: i32 lanes; else i16 pair sums, added pairwise to
 * the same i32 lanes): exact, |sum| ≤ 60960. */
@inline function k4Lanes(da: bool, c: v128): v128 {
  return f32x4.convert_i32x4_s(da ? c : i32x4.extadd_pairwise_i16x8_s(c));
}

// A Q4_K super-block's share of one output, in four steps per (row, x row) pair: t = half 0's lanes
// × its f32 scales `sw` (k4W: sc·d); t += half 1's the same way; t += the mins term's lanes
// (Σ m[j]·(Σq over sub-block j), pairwise in i32) × −dmin; acc += t × dx. One multiply by the x
// scale per super-block instead of one per half and one for the mins. The decode and prefill kernels
// run these steps in this order, so every value is independent of tiling and threading.

/** t for half 0: its lanes × sw. */
@inline export function k4First(da: bool, c: v128, sw: v128): v128 {
  return f32x4.mul(k4Lanes(da, c), sw);
}

/** acc + the super-block's t, given t for half 0 (`t0`), half 1's sums `c` and scales `sw`, the
 * block's mins as i16 (`mins`: load8x8_u of blk + 16) and −dmin (`nmin`, splat), x's sums at s32k and
 * its scale dx (splat). */
@inline export function k4Close(da: bool, t0: v128, c: v128, sw: v128, mins: v128, nmin: v128, s32k: usize, dx: v128, acc: v128): v128 {
  let t = madd(k4Lanes(da, c), sw, t0);
  t = madd(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(mins, v128.load(s32k))), nmin, t);
  return madd(t, dx, acc);
}

/** The block's mins as i16 lanes (k4Close's `mins`) and −dmin as a splat (its `nmin`). */
@inline export function k4M(blk: usize): v128 {
  return v128.load8x8_u(blk + 16);
}
@inline export function k4NegDmin(blk: usize): v128 {
  return f32x4.splat(-load<f32>(blk + 4));
}

/** k4Close for one row: its half-1 scales, mins and −dmin read from the block at blk. */
@inline export function k4CloseRow(da: bool, t0: v128, c: v128, blk: usize, s32k: usize, dx: v128, acc: v128): v128 {
  return k4Close(da, t0, c, k4W(blk, 1), k4M(blk), k4NegDmin(blk), s32k, dx, acc);
}

/** The t in slot p = half 0's (k4First). */
@inline export function firstTo(p: usize, da: bool, c: v128, sw: v128): void {
  v128.store(p, k4First(da, c, sw));
}

/** The f32 sum in slot pa += the super-block's t (k4Close), half 0's t in slot pt. */
@inline export function closeTo(pa: usize, pt: usize, da: bool, c: v128, sw: v128, mins: v128, nmin: v128, s32k: usize, dx: v128): void {
  v128.store(pa, k4Close(da, v128.load(pt), c, sw, mins, nmin, s32k, dx, v128.load(pa)));
}
