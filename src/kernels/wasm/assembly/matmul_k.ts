// Q4_K and Q6_K weights × int8 activations quantized per 256-block (Q8_K-style: one f32 scale per
// 256 values, i16-widened quants, and Σq per 16 for the weights' offsets).
// Repacked super-blocks (per 256 values, made at load from ggml's layout):
//   Q4_K (152 B): f32 d, f32 dmin, u8 sc[8], u8 m[8], qs[128] (ggml order: 32 bytes per 64 values,
//                 low nibbles = sub-block 2k, high nibbles = 2k + 1); value = d·sc·q − dmin·m
//   Q6_K (212 B): assembly/matmul_k6.ts
// Sub-block scales multiply the integer sums; one float multiply per super-block.
// This file runs these layouts on the i16 x (the plain build's path); the relaxed build loads Q4_K
// and Q6_K in the sub-block-lane layouts instead (assembly/matmul_ksb.ts: K_Q4_K_SB, K_Q6_K_SB).
import { cW15, dotAdd } from "./features";
import { Q6K_BYTES, q6kRow4, q6kTile } from "./matmul_k6";
import { Q4K_BYTES, q4kFold } from "./ksb_steps";
import { matmulKSBRows } from "./matmul_ksb";
import { matmulQ5KRows } from "./matmul_q5";
import { hsum, hsumI, store4 } from "./simd";
import { streamGap } from "./streams";

export const K_Q4_K: i32 = 0;
export const K_Q6_K: i32 = 1;
/** Q5_K (assembly/matmul_q5.ts; x sums per 32 like Q4_K). */
export const K_Q5_K: i32 = 2;
/** Q4_K and Q6_K in the sub-block-lane layouts (relaxed build; assembly/matmul_ksb.ts). */
export const K_Q4_K_SB: i32 = 3;
export const K_Q6_K_SB: i32 = 4;

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

/** One Q4_K super-block × one x row's 256 widened i16 values at xk: the sums with the sub-block
 * scales, in i32 lanes (q4kTile's for one x row). */
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
@inline function q4kRow4(w: usize, ws: usize, x: usize, xd: usize, s32: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q4K_BYTES, xk = x + (<usize>k << 9), sk = s32 + (<usize>k << 4);
    const dx = load<f32>(xd + (<usize>k << 2));
    a0 = q4kFold(b, q4kSums(b, xk), dx, sk, a0);
    a1 = q4kFold(b + ws, q4kSums(b + ws, xk), dx, sk, a1);
    a2 = q4kFold(b + 2 * ws, q4kSums(b + 2 * ws, xk), dx, sk, a2);
    a3 = q4kFold(b + 3 * ws, q4kSums(b + 3 * ws, xk), dx, sk, a3);
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** One Q4_K row × `nx` (1 or 4) x rows of widened i16 quants: the same integer sums per super-block
 * as q4kSums, then the same float steps. */
@inline function q4kTile(nx: i32, w: usize, x: usize, xd: usize, s32: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = <usize>cols << 1;
  const drow = <usize>nb << 2;
  const srow = <usize>(cols >> 5) << 1; // i16 sums per 32
  const mask = cW15; // features.ts: not an inline constant
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q4K_BYTES;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
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

@inline function rowsOf(kind: i32, w: usize, xq: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 8;
  const wrow = <usize>nb * (kind == K_Q4_K ? Q4K_BYTES : Q6K_BYTES);
  const ys = <usize>rows << 2;
  let r = r0;
  // Decode: four rows a quarter of the range apart at once (assembly/streams.ts).
  const d = streamGap(n, r0, r1, 1);
  if (d != 0) {
    const ws = <usize>d * wrow, yo = <usize>d << 2;
    for (let e = r + d; r < e; r++) {
      const wr = w + <usize>r * wrow, yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      if (kind == K_Q4_K) q4kRow4(wr, ws, xq, xd, sums, nb, yr, yo, br);
      else q6kRow4(wr, ws, xq, xd, sums, nb, yr, yo, br);
    }
    r += 3 * d;
  }
  for (; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wr = w + <usize>r * wrow;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const xo = <usize>i * cols, yo = y + <usize>i * ys + (<usize>r << 2), xdi = xd + ((<usize>i * nb) << 2);
      if (kind == K_Q4_K) q4kTile(4, wr, xq + (xo << 1), xdi, sums + ((xo >> 5) << 1), nb, cols, yo, ys, b);
      else q6kTile(4, wr, xq + (xo << 1), xdi, sums + ((xo >> 4) << 1), nb, cols, yo, ys, b);
    }
    for (; i < n; i++) {
      const xo = <usize>i * cols, yo = y + <usize>i * ys + (<usize>r << 2), xdi = xd + ((<usize>i * nb) << 2);
      if (kind == K_Q4_K) q4kTile(1, wr, xq + (xo << 1), xdi, sums + ((xo >> 5) << 1), nb, cols, yo, ys, b);
      else q6kTile(1, wr, xq + (xo << 1), xdi, sums + ((xo >> 4) << 1), nb, cols, yo, ys, b);
    }
  }
}

/** Rows `r0 .. r1` of y = x · Wᵀ (+ bias) for Q4_K / Q5_K / Q6_K weights.
 * w: [rows, cols / 256] repacked super-blocks; xq: [n, cols] i16; x8: the same quants as i8 in
 * Q_Q4_0_IL order (read by the sub-block-lane kinds, relaxed build) or 0; xd: [n, cols / 256] f32;
 * sums: blockSums of xq — Q4_K / Q5_K: [n, cols / 32] i16, Q6_K: [n, cols / 16] i16; y: [n, rows] f32;
 * bias: [rows] f32 or 0. */
export function matmulKRows(kind: i32, w: usize, xq: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if (kind == K_Q5_K) matmulQ5KRows(w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
  else if (ASC_FEATURE_RELAXED_SIMD && kind >= K_Q4_K_SB) matmulKSBRows(kind == K_Q4_K_SB, dotAdd, w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
  else if (kind == K_Q4_K) rowsQ4K(w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
  else rowsQ6K(w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
}

// One function per type: in one body Binaryen may merge inlined variants into one testing a runtime
// flag (see matmul_q4il.ts rowsILDot).
function rowsQ4K(w: usize, xq: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q4_K, w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ6K(w: usize, xq: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsOf(K_Q6_K, w, xq, xd, sums, y, bias, n, rows, cols, r0, r1);
}
