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

/** acc + a half's sub-block sums (dot-add: i32 lanes; else i16 pair sums, added pairwise to the
 * same i32 lanes) × its f32 scales `sw` (k4W) × the x scale `dv` (splat). */
@inline export function k4Half(da: bool, acc: v128, c: v128, sw: v128, dv: v128): v128 {
  const lanes = da ? c : i32x4.extadd_pairwise_i16x8_s(c);
  return madd(f32x4.convert_i32x4_s(lanes), f32x4.mul(sw, dv), acc);
}

/** acc + the mins term of the Q4_K super-block at blk: Σ m[j]·(Σq over sub-block j) (x sums at
 * s32k) × −dmin·dx, in vector lanes. */
@inline export function k4Mins(blk: usize, dx: f32, s32k: usize, acc: v128): v128 {
  const m = i32x4.dot_i16x8_s(v128.load8x8_u(blk + 16), v128.load(s32k));
  return madd(f32x4.convert_i32x4_s(m), f32x4.splat(-load<f32>(blk + 4) * dx), acc);
}

/** The f32 sum in slot p += a half's sub-block sums (k4Half). */
@inline export function halfTo(p: usize, da: bool, c: v128, sw: v128, dv: v128): void {
  v128.store(p, k4Half(da, v128.load(p), c, sw, dv));
}

/** The f32 sum in slot p += the super-block's mins term (k4Mins). */
@inline export function minsTo(p: usize, blk: usize, dx: f32, s32k: usize): void {
  v128.store(p, k4Mins(blk, dx, s32k, v128.load(p)));
}
