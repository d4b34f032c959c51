// Q4_K and Q6_K weights × int8 activations quantized per 256-block (Q8_K-style: one f32 scale per
// 256 values, i16-widened quants, and Σq per 16 for the weights' offsets).
// Repacked super-blocks (per 256 values, made at load from ggml's layout):
//   Q4_K (152 B): f32 d, f32 dmin, u8 sc[8], u8 m[8], qs[128] (ggml order: 32 bytes per 64 values,
//                 low nibbles = sub-block 2k, high nibbles = 2k + 1); value = d·sc·q − dmin·m
//   Q6_K (212 B): assembly/matmul_k6.ts
// Sub-block scales multiply the integer sums; one float multiply per super-block.
import { cNib, cW15, cW255, dotAdd, q8Gather } from "./features";
import { Q6K_BYTES, q6kRow4, q6kTile } from "./matmul_k6";
import { matmulQ5KRows } from "./matmul_q5";
import { hsum, hsumI, madd, store4 } from "./simd";
import { streamGap } from "./streams";

export const K_Q4_K: i32 = 0;
export const K_Q6_K: i32 = 1;
/** Q5_K (assembly/matmul_q5.ts; x sums per 32 like Q4_K). */
export const K_Q5_K: i32 = 2;
export const Q4K_BYTES: i32 = 152;

/** Σq over each `group` (16 or 32) values. xq: [count] i16 (count a multiple of group).
 * out: [count / group] i16 (|Σ| ≤ 32·127 fits). */
export function blockSums(xq: usize, out: usize, count: i32, group: i32): void {
  const ng = count / group;
  for (let g = 0; g < ng; g++) {
    const p = xq + ((<usize>g * group) << 1);
    let s = i32x4.add(i32x4.extadd_pairwise_i16x8_s(v128.load(p)), i32x4.extadd_pairwise_i16x8_s(v128.load(p + 16)));
    if (group == 32) s = i32x4.add(s, i32x4.add(i32x4.extadd_pairwise_i16x8_s(v128.load(p + 32)), i32x4.extadd_pairwise_i16x8_s(v128.load(p + 48))));
    store<i16>(out + (<usize>g << 1), <i16>hsumI(s));
  }
}

@inline function d4(a0: v128, a1: v128, a2: v128, a3: v128, xp: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(a0, v128.load(xp)), i32x4.dot_i16x8_s(a1, v128.load(xp + 16))),
    i32x4.add(i32x4.dot_i16x8_s(a2, v128.load(xp + 32)), i32x4.dot_i16x8_s(a3, v128.load(xp + 48))),
  );
}

/** acc + one Q4_K super-block's share: its integer sums `i` × d·dx, and the mins term
 * Σ m[j]·(Σq over sub-block j) (its x sums at s32k) × −dmin·dx, both in vector lanes. */
@inline function q4kFold(blk: usize, i: v128, dx: f32, s32k: usize, acc: v128): v128 {
  const d = load<f32>(blk), dmin = load<f32>(blk + 4);
  acc = madd(f32x4.convert_i32x4_s(i), f32x4.splat(d * dx), acc);
  return madd(f32x4.convert_i32x4_s(i32x4.dot_i16x8_s(v128.load8x8_u(blk + 16), v128.load(s32k))), f32x4.splat(-dmin * dx), acc);
}

/** Relaxed build: pair p of a Q4_K super-block (sub-blocks 2p, 2p + 1) × 64 i8 activations given
 * as four vectors, scaled: q4kPairR's sums. Both 6-bit scales come from one 16-bit splat load
 * (lanes sc[2p] | sc[2p + 1] << 8, split by a mask and a shift: three instructions where two scalar
 * splats take six). m: cNib; m8: cW255; g: q8Gather (`da`: q4kPairD instead). */
@inline function q4kPairW(da: bool, blk: usize, p: i32, x0: v128, x1: v128, x2: v128, x3: v128, m: v128, m8: v128, g: v128): v128 {
  const q = blk + 24 + (<usize>p << 5);
  const wA = v128.load(q), wB = v128.load(q + 16);
  const loA = v128.and(wA, m), loB = v128.and(wB, m), hiA = v128.and(i16x8.shr_u(wA, 4), m), hiB = v128.and(i16x8.shr_u(wB, 4), m);
  if (da) return q4kPairD(x0, x1, x2, x3, loA, loB, hiA, hiB, q4kScD(blk, p), g);
  const sc = v128.load16_splat(blk + 8 + (<usize>p << 1));
  const lo = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, loA), i16x8.relaxed_dot_i8x16_i7x16_s(x1, loB));
  const hi = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x2, hiA), i16x8.relaxed_dot_i8x16_i7x16_s(x3, hiB));
  return i32x4.add(i32x4.dot_i16x8_s(lo, v128.and(sc, m8)), i32x4.dot_i16x8_s(hi, i16x8.shr_u(sc, 8)));
}

/** dotAdd: q4kPairR's sums, lane for lane, with four dot-adds instead of four i16 dots and two
 * adds: lane k of the low chunks' dot-adds is lane k of q4kPairR's `lo` pair sums (8 products,
 * |Σ| ≤ 8·127·15 = 15240: exact in i16), likewise `hi`; narrowed to i16, lanes interleaved
 * (lo_k, hi_k) by the q8Gather byte order (sel), one i16 dot with [sc_A, sc_B, …] (sc) gives
 * sc_A·lo_k + sc_B·hi_k — q4kPairR's lane k, so the float steps after it are unchanged. */
@inline function q4kPairD(x0: v128, x1: v128, x2: v128, x3: v128, loA: v128, loB: v128, hiA: v128, hiB: v128, sc: v128, sel: v128): v128 {
  const z = i32x4.splat(0);
  const lo = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, loB, i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, loA, z));
  const hi = i32x4.relaxed_dot_i8x16_i7x16_add_s(x3, hiB, i32x4.relaxed_dot_i8x16_i7x16_add_s(x2, hiA, z));
  return i32x4.dot_i16x8_s(i8x16.relaxed_swizzle(i16x8.narrow_i32x4_s(lo, hi), sel), sc);
}

/** Pair p's two sub-block scales as i16 lanes [sc_A, sc_B, sc_A, sc_B, …] (q4kPairD's sc): the
 * 16-bit splat of the byte pair, zero-extended byte by byte. */
@inline function q4kScD(blk: usize, p: i32): v128 {
  return i16x8.extend_low_i8x16_u(v128.load16_splat(blk + 8 + (<usize>p << 1)));
}

/** One Q4_K super-block × one x row's 256 widened i16 values at xk (the plain path; the relaxed
 * one runs in q4kRow4): the sums with the sub-block scales, in i32 lanes (q4kTile's for one x row). */
@inline function q4kSums(blk: usize, xk: usize): v128 {
  let i0 = i32x4.splat(0);
  const mask = cW15;
  for (let p = 0; p < 4; p++) {
    const q = blk + 24 + (<usize>p << 5);
    const l0 = v128.load8x8_u(q), l1 = v128.load8x8_u(q + 8), l2 = v128.load8x8_u(q + 16), l3 = v128.load8x8_u(q + 24);
    const scA = i32x4.splat(<i32>load<u8>(blk + 8 + (p << 1))), scB = i32x4.splat(<i32>load<u8>(blk + 9 + (p << 1)));
    const xp = xk + (<usize>p << 7);
    const lo = d4(v128.and(l0, mask), v128.and(l1, mask), v128.and(l2, mask), v128.and(l3, mask), xp);
    const hi = d4(i16x8.shr_u(l0, 4), i16x8.shr_u(l1, 4), i16x8.shr_u(l2, 4), i16x8.shr_u(l3, 4), xp + 64);
    i0 = i32x4.add(i0, i32x4.add(i32x4.mul(lo, scA), i32x4.mul(hi, scB)));
  }
  return i0;
}

/** Four Q4_K rows `ws` bytes apart × one x row (decode), a super-block of each in turn: four
 * streams in flight (assembly/streams.ts). Outputs (and biases) `ys` bytes apart; each value is
 * q4kTile's for one x row. */
@inline function q4kRow4(relaxed: bool, da: bool, w: usize, ws: usize, x: usize, xd: usize, s32: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const m = cNib, m8 = cW255, g = q8Gather;
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q4K_BYTES, xk = x + (relaxed ? <usize>k << 8 : <usize>k << 9), sk = s32 + (<usize>k << 4);
    const dx = load<f32>(xd + (<usize>k << 2));
    if (ASC_FEATURE_RELAXED_SIMD && relaxed) {
      // Each 64-value x chunk loaded once for the four rows.
      let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
      for (let p = 0; p < 4; p++) {
        const xp = xk + (<usize>p << 6);
        const x0 = v128.load(xp), x1 = v128.load(xp + 16), x2 = v128.load(xp + 32), x3 = v128.load(xp + 48);
        i0 = i32x4.add(i0, q4kPairW(da, b, p, x0, x1, x2, x3, m, m8, g));
        i1 = i32x4.add(i1, q4kPairW(da, b + ws, p, x0, x1, x2, x3, m, m8, g));
        i2 = i32x4.add(i2, q4kPairW(da, b + 2 * ws, p, x0, x1, x2, x3, m, m8, g));
        i3 = i32x4.add(i3, q4kPairW(da, b + 3 * ws, p, x0, x1, x2, x3, m, m8, g));
      }
      a0 = q4kFold(b, i0, dx, sk, a0);
      a1 = q4kFold(b + ws, i1, dx, sk, a1);
      a2 = q4kFold(b + 2 * ws, i2, dx, sk, a2);
      a3 = q4kFold(b + 3 * ws, i3, dx, sk, a3);
      continue;
    }
    a0 = q4kFold(b, q4kSums(b, xk), dx, sk, a0);
    a1 = q4kFold(b + ws, q4kSums(b + ws, xk), dx, sk, a1);
    a2 = q4kFold(b + 2 * ws, q4kSums(b + 2 * ws, xk), dx, sk, a2);
    a3 = q4kFold(b + 3 * ws, q4kSums(b + 3 * ws, xk), dx, sk, a3);
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** One Q4_K row × `nx` (1 or 4) x rows. x: the widened i16 quants, or (`relaxed`, relaxed build) their
 * i8 copy for the i8 × i7 nibble dot (`q4kPairR`). Either way the same integer sums per super-block
 * (lanes hold different partial sums), then the same float steps. */
@inline function q4kTile(nx: i32, relaxed: bool, da: bool, w: usize, x: usize, xd: usize, s32: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = relaxed ? <usize>cols : <usize>cols << 1;
  const drow = <usize>nb << 2;
  const srow = <usize>(cols >> 5) << 1; // i16 sums per 32
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q4K_BYTES;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    if (ASC_FEATURE_RELAXED_SIMD && relaxed) {
      const mask = cNib, m8 = cW255, g = q8Gather; // features.ts: not inline constants
      for (let p = 0; p < 4; p++) {
        const q = blk + 24 + (<usize>p << 5);
        const wA = v128.load(q), wB = v128.load(q + 16);
        const loA = v128.and(wA, mask), loB = v128.and(wB, mask);
        const hiA = v128.and(i16x8.shr_u(wA, 4), mask), hiB = v128.and(i16x8.shr_u(wB, 4), mask);
        const xp = x + (<usize>k << 8) + (<usize>p << 6); // 256 values per block, 64 per pair
        if (da) {
          const scD = q4kScD(blk, p);
          i0 = i32x4.add(i0, q4kPairD(v128.load(xp), v128.load(xp + 16), v128.load(xp + 32), v128.load(xp + 48), loA, loB, hiA, hiB, scD, g));
          if (nx == 4) {
            let xr = xp + xrow;
            i1 = i32x4.add(i1, q4kPairD(v128.load(xr), v128.load(xr + 16), v128.load(xr + 32), v128.load(xr + 48), loA, loB, hiA, hiB, scD, g));
            xr += xrow;
            i2 = i32x4.add(i2, q4kPairD(v128.load(xr), v128.load(xr + 16), v128.load(xr + 32), v128.load(xr + 48), loA, loB, hiA, hiB, scD, g));
            xr += xrow;
            i3 = i32x4.add(i3, q4kPairD(v128.load(xr), v128.load(xr + 16), v128.load(xr + 32), v128.load(xr + 48), loA, loB, hiA, hiB, scD, g));
          }
          continue;
        }
        const sc = v128.load16_splat(blk + 8 + (<usize>p << 1)); // as q4kPairW
        const scA = v128.and(sc, m8), scB = i16x8.shr_u(sc, 8);
        i0 = i32x4.add(i0, q4kPairR(xp, loA, loB, hiA, hiB, scA, scB));
        if (nx == 4) {
          i1 = i32x4.add(i1, q4kPairR(xp + xrow, loA, loB, hiA, hiB, scA, scB));
          i2 = i32x4.add(i2, q4kPairR(xp + 2 * xrow, loA, loB, hiA, hiB, scA, scB));
          i3 = i32x4.add(i3, q4kPairR(xp + 3 * xrow, loA, loB, hiA, hiB, scA, scB));
        }
      }
    } else {
      const mask = cW15;
      const xo = <usize>k << 9; // 256 values × 2 bytes
      for (let p = 0; p < 4; p++) {
        const q = blk + 24 + (<usize>p << 5);
        const l0 = v128.load8x8_u(q), l1 = v128.load8x8_u(q + 8), l2 = v128.load8x8_u(q + 16), l3 = v128.load8x8_u(q + 24);
        const lo0 = v128.and(l0, mask), lo1 = v128.and(l1, mask), lo2 = v128.and(l2, mask), lo3 = v128.and(l3, mask);
        const hi0 = i16x8.shr_u(l0, 4), hi1 = i16x8.shr_u(l1, 4), hi2 = i16x8.shr_u(l2, 4), hi3 = i16x8.shr_u(l3, 4);
        const scA = i32x4.splat(<i32>load<u8>(blk + 8 + (p << 1)));
        const scB = i32x4.splat(<i32>load<u8>(blk + 9 + (p << 1)));
        const po = xo + (<usize>p << 7); // 64 values × 2 bytes
        i0 = i32x4.add(i0, i32x4.add(i32x4.mul(d4(lo0, lo1, lo2, lo3, x + po), scA), i32x4.mul(d4(hi0, hi1, hi2, hi3, x + po + 64), scB)));
        if (nx == 4) {
          i1 = i32x4.add(i1, i32x4.add(i32x4.mul(d4(lo0, lo1, lo2, lo3, x + xrow + po), scA), i32x4.mul(d4(hi0, hi1, hi2, hi3, x + xrow + po + 64), scB)));
          i2 = i32x4.add(i2, i32x4.add(i32x4.mul(d4(lo0, lo1, lo2, lo3, x + 2 * xrow + po), scA), i32x4.mul(d4(hi0, hi1, hi2, hi3, x + 2 * xrow + po + 64), scB)));
          i3 = i32x4.add(i3, i32x4.add(i32x4.mul(d4(lo0, lo1, lo2, lo3, x + 3 * xrow + po), scA), i32x4.mul(d4(hi0, hi1, hi2, hi3, x + 3 * xrow + po + 64), scB)));
        }
      }
    }
    // The mins term stays in vector lanes, folded into the same accumulators (q4kFold).
    const ko = <usize>k << 2, so = <usize>k << 4; // 8 sums × 2 bytes
    a0 = q4kFold(blk, i0, load<f32>(xd + ko), s32 + so, a0);
    if (nx == 4) {
      a1 = q4kFold(blk, i1, load<f32>(xd + drow + ko), s32 + srow + so, a1);
      a2 = q4kFold(blk, i2, load<f32>(xd + 2 * drow + ko), s32 + 2 * srow + so, a2);
      a3 = q4kFold(blk, i3, load<f32>(xd + 3 * drow + ko), s32 + 3 * srow + so, a3);
    }
  }
  store<f32>(y, hsum(a0) + b);
  if (nx == 4) {
    store<f32>(y + ys, hsum(a1) + b);
    store<f32>(y + 2 * ys, hsum(a2) + b);
    store<f32>(y + 3 * ys, hsum(a3) + b);
  }
}

/** Relaxed build: one Q4_K 64-value pair of sub-blocks × 64 i8 activations at `xp`, scaled:
 * sc_A · Σ(low nibbles · x) + sc_B · Σ(high nibbles · x) in i32 lanes. The i8 × i7 dots (nibbles
 * < 128) give i16 pair sums ≤ 2·127·15; two of them ≤ 7620; × sc (< 64) by the i16 dot: exact. */
@inline function q4kPairR(xp: usize, loA: v128, loB: v128, hiA: v128, hiB: v128, scA: v128, scB: v128): v128 {
  const lo = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp), loA), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp + 16), loB));
  const hi = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp + 32), hiA), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(xp + 48), hiB));
  return i32x4.add(i32x4.dot_i16x8_s(lo, scA), i32x4.dot_i16x8_s(hi, scB));
}

@inline function rowsOf(kind: i32, da: bool, w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 8;
  const wrow = <usize>nb * (kind == K_Q4_K ? Q4K_BYTES : Q6K_BYTES);
  const ys = <usize>rows << 2;
  let r = r0;
  // Decode: four rows a quarter of the range apart at once (assembly/streams.ts).
  const d = streamGap(n, r0, r1, 1);
  if (d != 0) {
    const ws = <usize>d * wrow, yo = <usize>d << 2, relaxed = ASC_FEATURE_RELAXED_SIMD && x8 != 0;
    const x = relaxed ? x8 : xq;
    for (let e = r + d; r < e; r++) {
      const wr = w + <usize>r * wrow, yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      if (kind == K_Q4_K) {
        if (relaxed) q4kRow4(true, da, wr, ws, x, xd, sums, nb, yr, yo, br);
        else q4kRow4(false, false, wr, ws, x, xd, sums, nb, yr, yo, br);
      } else if (relaxed) q6kRow4(true, da, wr, ws, x, xd, sums, nb, yr, yo, br);
      else q6kRow4(false, false, wr, ws, x, xd, sums, nb, yr, yo, br);
    }
    r += 3 * d;
  }
  for (; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wr = w + <usize>r * wrow;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const xo = <usize>i * cols;
      if (ASC_FEATURE_RELAXED_SIMD && kind == K_Q4_K && x8 != 0) q4kTile(4, true, da, wr, x8 + xo, xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else if (kind == K_Q4_K) q4kTile(4, false, false, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else if (ASC_FEATURE_RELAXED_SIMD && x8 != 0) q6kTile(4, true, wr, x8 + xo, xd + ((<usize>i * nb) << 2), sums + ((xo >> 4) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else q6kTile(4, false, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 4) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
    for (; i < n; i++) {
      const xo = <usize>i * cols;
      if (ASC_FEATURE_RELAXED_SIMD && kind == K_Q4_K && x8 != 0) q4kTile(1, true, da, wr, x8 + xo, xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else if (kind == K_Q4_K) q4kTile(1, false, false, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else if (ASC_FEATURE_RELAXED_SIMD && x8 != 0) q6kTile(1, true, wr, x8 + xo, xd + ((<usize>i * nb) << 2), sums + ((xo >> 4) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
      else q6kTile(1, false, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 4) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
  }
}

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for Q4_K / Q5_K / Q6_K weights.
 * w: [rows, cols / 256] repacked super-blocks; xq: [n, cols] i16; x8: the same quants as i8 (read
 * by Q4_K / Q6_K in the relaxed build) or 0; xd: [n, cols / 256] f32;
 * sums: blockSums of xq — Q4_K / Q5_K: [n, cols / 32] i16, Q6_K: [n, cols / 16] i16; y: [n, rows] f32;
 * bias: [rows] f32 or 0. */
export function matmulKRows(kind: i32, w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if (kind == K_Q5_K) matmulQ5KRows(w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
  else if (kind == K_Q4_K) {
    if (ASC_FEATURE_RELAXED_SIMD && dotAdd) rowsQ4KDot(w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
    else rowsQ4K(w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
  } else if (ASC_FEATURE_RELAXED_SIMD && dotAdd) rowsQ6KDot(w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
  else rowsQ6K(w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}

// Q4_K and Q6_K with and without the dot-add as separate functions: in one body Binaryen merges the
// two inlined copies into one testing a runtime flag (see matmul_q4il.ts rowsILDot).
function rowsQ4KDot(w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q4_K, true, w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ4K(w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q4_K, false, w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ6KDot(w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q6_K, true, w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ6K(w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q6_K, false, w, xq, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
