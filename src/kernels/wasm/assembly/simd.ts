// Shared SIMD helpers for the kernels. Compiled twice: with `--enable relaxed-simd` the float
// multiply-add becomes `f32x4.relaxed_madd` (fused on FMA hardware), otherwise `mul` + `add`.

/** `a * b + c` on four f32 lanes. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the four f32 lanes in a fixed order: (l0 + l1) + (l2 + l3). */
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Sum of the four i32 lanes. */
@inline export function hsumI(v: v128): i32 {
  return (i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1)) + (i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

/** Dot product of two f32 vectors of `len` values (any length; SIMD body, scalar tail). */
@inline export function dotF32(a: usize, b: usize, len: i32): f32 {
  let acc = f32x4.splat(0);
  const body = len & ~3;
  let i = 0;
  for (; i < body; i += 4) acc = madd(v128.load(a + (<usize>i << 2)), v128.load(b + (<usize>i << 2)), acc);
  let s = hsum(acc);
  for (; i < len; i++) s += load<f32>(a + (<usize>i << 2)) * load<f32>(b + (<usize>i << 2));
  return s;
}
