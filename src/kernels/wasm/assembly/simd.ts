// Shared SIMD helpers for the kernels. Compiled twice: with `--enable relaxed-simd` the float
// multiply-add becomes `f32x4.relaxed_madd` (fused on FMA hardware), otherwise `mul` + `add`.
import { cExpMin, cHalf, cLn2Hi, cLn2Lo, cLog2e, cOne, cP3, cP4, cP5, cP6 } from "./features";

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

/** e^x on four lanes for x ≤ 0 (softmax arguments): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a
 * degree-6 polynomial (relative error ~2e-7), 2^n added into the exponent; x < −87 gives 0. The
 * constants are features.ts globals (V8 13 rebuilds inline vector constants at every use). */
@inline export function expNeg(x: v128): v128 {
  const lo = cExpMin, one = cOne;
  const xc = f32x4.max(x, lo);
  const n = f32x4.nearest(f32x4.mul(xc, cLog2e));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, cLn2Hi)), f32x4.mul(n, cLn2Lo));
  let p = cP6;
  p = f32x4.add(f32x4.mul(p, r), cP5);
  p = f32x4.add(f32x4.mul(p, r), cP4);
  p = f32x4.add(f32x4.mul(p, r), cP3);
  p = f32x4.add(f32x4.mul(p, r), cHalf);
  p = f32x4.add(f32x4.mul(p, r), one);
  p = f32x4.add(f32x4.mul(p, r), one);
  const scaled = i32x4.add(p, i32x4.shl(i32x4.trunc_sat_f32x4_s(n), 23));
  return v128.andnot(scaled, f32x4.lt(x, lo));
}

/** silu(g) · u on four lanes: g / (1 + e^−g), with e = e^−|g| from `expNeg` and one divide
 * (g ≥ 0: g / (1 + e); g < 0: g·e / (1 + e)). Plain mul / add only, so both builds give the same
 * bits; every caller (fused SwiGLU, siluMul) runs this for every value, scalar tails included. */
@inline export function siluMulX4(g: v128, u: v128): v128 {
  const e = expNeg(f32x4.neg(f32x4.abs(g)));
  const num = f32x4.mul(g, v128.bitselect(e, cOne, f32x4.lt(g, f32x4.splat(0))));
  return f32x4.mul(f32x4.div(num, f32x4.add(cOne, e)), u);
}

/** out[i] = silu(gate[i]) · up[i] for i < len (out may alias gate). */
@inline export function siluMulRow(gate: usize, up: usize, out: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, siluMulX4(v128.load(gate + o), v128.load(up + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(siluMulX4(f32x4.splat(load<f32>(gate + o)), f32x4.splat(load<f32>(up + o))), 0));
  }
}

/** hsum(a0 .. a3) (+ bias) at y, y + ys, y + 2·ys, y + 3·ys (biases `ys` apart too; 0: none). */
@inline export function store4(y: usize, ys: usize, bias: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  const b = bias != 0;
  store<f32>(y, hsum(a0) + (b ? load<f32>(bias) : 0));
  store<f32>(y + ys, hsum(a1) + (b ? load<f32>(bias + ys) : 0));
  store<f32>(y + 2 * ys, hsum(a2) + (b ? load<f32>(bias + 2 * ys) : 0));
  store<f32>(y + 3 * ys, hsum(a3) + (b ? load<f32>(bias + 3 * ys) : 0));
}
