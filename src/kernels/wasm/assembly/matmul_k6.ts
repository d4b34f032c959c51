// Q6_K weights × int8 activations quantized per 256-block (the caller's layout: assembly/matmul_k.ts).
// Repacked super-block (212 B per 256 values, made at load from ggml's layout): f32 d, i8 sc[16],
// ql[128], qh[64] (ggml order); value = d·sc·(q − 32). Chunk scales multiply the integer sums; the
// −32 offset is subtracted in integers; one float multiply per super-block.
import { cW15, cW3 } from "./features";
import { hsum, madd, store4 } from "./simd";

export const Q6K_BYTES: i32 = 212;

/** 32 · Σ_j sc[j]·(Σq over 16-group j) for one Q6_K super-block (the −32 offset) in i32 lanes (their
 * sum is the value); sl / sh: its 16 scales as i16 (load8x8_s), s16: its 16 i16 sums. */
@inline function q6kOffsV(sl: v128, sh: v128, s16: usize): v128 {
  return i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sl, v128.load(s16)), i32x4.dot_i16x8_s(sh, v128.load(s16 + 16))), 5);
}

/** Chunk j (1..4, a constant) of 8 values as 6-bit quants in i16 lanes, from their ql bytes A
 * (chunks 1, 3) or B (2, 4) and qh bytes H, each widened to u16 (m15: cW15, m3: cW3). */
@inline function q6kQ16(j: i32, A: v128, B: v128, H: v128, m15: v128, m3: v128): v128 {
  if (j == 1) return v128.or(v128.and(A, m15), i16x8.shl(v128.and(H, m3), 4));
  if (j == 2) return v128.or(v128.and(B, m15), i16x8.shl(v128.and(i16x8.shr_u(H, 2), m3), 4));
  if (j == 3) return v128.or(i16x8.shr_u(A, 4), i16x8.shl(v128.and(i16x8.shr_u(H, 4), m3), 4));
  return v128.or(i16x8.shr_u(B, 4), i16x8.shl(i16x8.shr_u(H, 6), 4));
}

/** One Q6_K super-block × one x row's 256 widened i16 values at xk: the sums with the chunk scales,
 * in i32 lanes (q6kTile's for one x row). */
@inline function q6kSums(blk: usize, xk: usize): v128 {
  let i0 = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
    const m15 = cW15, m3 = cW3;
    for (let g = 0; g < 4; g++) {
      const A = v128.load8x8_u(ql + (<usize>g << 3)), B = v128.load8x8_u(ql + 32 + (<usize>g << 3)), H = v128.load8x8_u(qh + (<usize>g << 3));
      const q1 = q6kQ16(1, A, B, H, m15, m3), q2 = q6kQ16(2, A, B, H, m15, m3);
      const q3 = q6kQ16(3, A, B, H, m15, m3), q4 = q6kQ16(4, A, B, H, m15, m3);
      const is = sc + <usize>(g >> 1);
      const xp = xk + (<usize>h << 8) + (<usize>g << 4);
      i0 = i32x4.add(i0, i32x4.add(
        i32x4.add(i32x4.mul(i32x4.dot_i16x8_s(q1, v128.load(xp)), i32x4.splat(<i32>load<i8>(is))), i32x4.mul(i32x4.dot_i16x8_s(q2, v128.load(xp + 64)), i32x4.splat(<i32>load<i8>(is + 2)))),
        i32x4.add(i32x4.mul(i32x4.dot_i16x8_s(q3, v128.load(xp + 128)), i32x4.splat(<i32>load<i8>(is + 4))), i32x4.mul(i32x4.dot_i16x8_s(q4, v128.load(xp + 192)), i32x4.splat(<i32>load<i8>(is + 6)))),
      ));
    }
  }
  return i0;
}

/** acc + one Q6_K super-block's share: (its integer sums `i` − the −32 offset term, from the x
 * sums per 16 at s16k) × d·dx. */
@inline export function q6kFold(blk: usize, i: v128, dx: f32, s16k: usize, acc: v128): v128 {
  const off = q6kOffsV(v128.load8x8_s(blk + 4), v128.load8x8_s(blk + 12), s16k);
  return madd(f32x4.convert_i32x4_s(i32x4.sub(i, off)), f32x4.splat(load<f32>(blk) * dx), acc);
}

/** Four Q6_K rows `ws` bytes apart × one x row (decode), as matmul_k.ts q4kRow4. */
@inline export function q6kRow4(w: usize, ws: usize, x: usize, xd: usize, s16: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q6K_BYTES, xk = x + (<usize>k << 9), sk = s16 + (<usize>k << 5);
    const dx = load<f32>(xd + (<usize>k << 2));
    a0 = q6kFold(b, q6kSums(b, xk), dx, sk, a0);
    a1 = q6kFold(b + ws, q6kSums(b + ws, xk), dx, sk, a1);
    a2 = q6kFold(b + 2 * ws, q6kSums(b + 2 * ws, xk), dx, sk, a2);
    a3 = q6kFold(b + 3 * ws, q6kSums(b + 3 * ws, xk), dx, sk, a3);
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** One Q6_K row × `nx` (1 or 4) x rows of widened i16 quants (8-value groups): the same integer sums
 * per super-block as q6kSums, then the same float steps. */
@inline export function q6kTile(nx: i32, w: usize, x: usize, xd: usize, s16: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = <usize>cols << 1;
  const drow = <usize>nb << 2;
  const srow = <usize>(cols >> 4) << 1; // i16 sums per 16
  const m15 = cW15, m3 = cW3; // features.ts: not inline constants
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q6K_BYTES;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    const xo = <usize>k << 9;
    for (let h = 0; h < 2; h++) {
      const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
      for (let g = 0; g < 4; g++) {
        const A = v128.load8x8_u(ql + (<usize>g << 3)), B = v128.load8x8_u(ql + 32 + (<usize>g << 3)), H = v128.load8x8_u(qh + (<usize>g << 3));
        const q1 = q6kQ16(1, A, B, H, m15, m3), q2 = q6kQ16(2, A, B, H, m15, m3);
        const q3 = q6kQ16(3, A, B, H, m15, m3), q4 = q6kQ16(4, A, B, H, m15, m3);
        const is = <usize>(g >> 1);
        const s1 = i32x4.splat(<i32>load<i8>(sc + is)), s2 = i32x4.splat(<i32>load<i8>(sc + is + 2));
        const s3 = i32x4.splat(<i32>load<i8>(sc + is + 4)), s4 = i32x4.splat(<i32>load<i8>(sc + is + 6));
        const po = xo + (<usize>h << 8) + (<usize>g << 4); // (128h + 8g) values × 2 bytes
        for (let j = 0; j < nx; j++) {
          const xp = x + <usize>j * xrow + po;
          const t = i32x4.add(
            i32x4.add(i32x4.mul(i32x4.dot_i16x8_s(q1, v128.load(xp)), s1), i32x4.mul(i32x4.dot_i16x8_s(q2, v128.load(xp + 64)), s2)),
            i32x4.add(i32x4.mul(i32x4.dot_i16x8_s(q3, v128.load(xp + 128)), s3), i32x4.mul(i32x4.dot_i16x8_s(q4, v128.load(xp + 192)), s4)),
          );
          if (j == 0) i0 = i32x4.add(i0, t);
          else if (j == 1) i1 = i32x4.add(i1, t);
          else if (j == 2) i2 = i32x4.add(i2, t);
          else i3 = i32x4.add(i3, t);
        }
      }
    }
    // The −32 offset term shares d·dx with the main sums: subtracted in integers, lane-wise.
    const ko = <usize>k << 2, so = <usize>k << 5; // 16 sums × 2 bytes
    a0 = q6kFold(blk, i0, load<f32>(xd + ko), s16 + so, a0);
    if (nx == 4) {
      a1 = q6kFold(blk, i1, load<f32>(xd + drow + ko), s16 + srow + so, a1);
      a2 = q6kFold(blk, i2, load<f32>(xd + 2 * drow + ko), s16 + 2 * srow + so, a2);
      a3 = q6kFold(blk, i3, load<f32>(xd + 3 * drow + ko), s16 + 3 * srow + so, a3);
    }
  }
  store<f32>(y, hsum(a0) + b);
  if (nx == 4) {
    store<f32>(y + ys, hsum(a1) + b);
    store<f32>(y + 2 * ys, hsum(a2) + b);
    store<f32>(y + 3 * ys, hsum(a3) + b);
  }
}
