// Q6_K weights × int8 activations quantized per 256-block (the caller's layout: assembly/matmul_k.ts).
// Repacked super-block (212 B per 256 values, made at load from ggml's layout): f32 d, i8 sc[16],
// ql[128], qh[64] (ggml order); value = d·sc·(q − 32). Chunk scales multiply the integer sums; the
// −32 offset is subtracted in integers; one float multiply per super-block.
import { cHi2, cNib, cQ6Sc, cW15, cW3, q8Gather } from "./features";
import { hsum, madd, store4 } from "./simd";

export const Q6K_BYTES: i32 = 212;

/** 32 · Σ_j sc[j]·(Σq over 16-group j) for one Q6_K super-block (the −32 offset) in i32 lanes (their
 * sum is the value); sl / sh: its 16 scales as i16 (load8x8_s), s16: its 16 i16 sums. */
@inline function q6kOffsV(sl: v128, sh: v128, s16: usize): v128 {
  return i32x4.shl(i32x4.add(i32x4.dot_i16x8_s(sl, v128.load(s16)), i32x4.dot_i16x8_s(sh, v128.load(s16 + 16))), 5);
}

/** Relaxed build: one 16-value chunk of 6-bit quants q (< 64) × 16 i8 activations x, times
 * the chunk's scale (`sc`: splat to i16): i8 × i7 pair sums ≤ 2·127·63, × sc (i8) by the i16 dot: exact. */
@inline function q6kChunkR(x: v128, q: v128, sc: v128): v128 {
  return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, q), sc);
}

/** The signed low byte of each 16-bit lane, as i16. */
@inline function lowI8(v: v128): v128 {
  return i16x8.shr_s(i16x8.shl(v, 8), 8);
}

/** Chunk j (1..4, a constant) of a 64-value quarter as 6-bit quants in bytes, from its 16 ql bytes
 * A (chunks 1, 3) or B (2, 4) and its qh bytes H: low 4 bits from a nibble, high 2 from bits
 * 2(j − 1)..2(j − 1) + 1 of H; 16-bit shifts move bits within each byte here (masked after).
 * b15: cNib; b48: cHi2. */
@inline function q6kQ(j: i32, A: v128, B: v128, H: v128, b15: v128, b48: v128): v128 {
  if (j == 1) return v128.or(v128.and(A, b15), v128.and(i16x8.shl(H, 4), b48));
  if (j == 2) return v128.or(v128.and(B, b15), v128.and(i16x8.shl(H, 2), b48));
  if (j == 3) return v128.or(v128.and(i16x8.shr_u(A, 4), b15), v128.and(H, b48));
  return v128.or(v128.and(i16x8.shr_u(B, 4), b15), v128.and(i16x8.shr_u(H, 2), b48));
}

/** Relaxed build: the 64 values 128h + 32j + 16c + t (j, t < 16) of a Q6_K super-block (ql, qh,
 * sc: half h's quants and scales) × their i8 activations x1 .. x4 (chunk j's 16 in xj), chunk j
 * scaled by sc[2j + c]: low 4 bits from ql (nibble j >> 1 of byte 32·(j & 1) + 16c + t), high 2
 * from qh (bits 2j..2j+1 of byte 16c + t); 16-bit shifts move bits within each byte here (masked
 * after). The 16-bit splat at sc + 2j holds c = 0's scale (low byte) and c = 1's (high). */
@inline function q6kHalfR(ql: usize, qh: usize, sc: usize, c: i32, x1: v128, x2: v128, x3: v128, x4: v128): v128 {
  const b15 = cNib, b48 = cHi2;
  const o = <usize>c << 4;
  const A = v128.load(ql + o), B = v128.load(ql + 32 + o), H = v128.load(qh + o);
  const S1 = v128.load16_splat(sc), S2 = v128.load16_splat(sc + 2), S3 = v128.load16_splat(sc + 4), S4 = v128.load16_splat(sc + 6);
  const t1 = q6kChunkR(x1, q6kQ(1, A, B, H, b15, b48), c == 0 ? lowI8(S1) : i16x8.shr_s(S1, 8));
  const t2 = q6kChunkR(x2, q6kQ(2, A, B, H, b15, b48), c == 0 ? lowI8(S2) : i16x8.shr_s(S2, 8));
  const t3 = q6kChunkR(x3, q6kQ(3, A, B, H, b15, b48), c == 0 ? lowI8(S3) : i16x8.shr_s(S3, 8));
  const t4 = q6kChunkR(x4, q6kQ(4, A, B, H, b15, b48), c == 0 ? lowI8(S4) : i16x8.shr_s(S4, 8));
  return i32x4.add(i32x4.add(t1, t2), i32x4.add(t3, t4));
}

/** dotAdd: q6kHalfR's sums, lane for lane. Lane k of a chunk's dot-add is the sum of lane k's two
 * i16 pair sums in q6kHalfR (4 products, |Σ| ≤ 4·127·63 = 32004: exact in i16); chunks 1 and 2
 * narrowed together, interleaved (a_k, b_k) by the q8Gather order (g), and one i16 dot with
 * [sc_1, sc_2, …] give sc_1·a_k + sc_2·b_k — q6kHalfR's t1 + t2 in lane k; likewise 3 and 4. The
 * scale pairs (sc[c], sc[c + 2]) and (sc[c + 4], sc[c + 6]): bytes 0 and 2 of a load at sc + c
 * (+ 4), gathered by cQ6Sc and sign-extended. */
@inline function q6kHalfD(ql: usize, qh: usize, sc: usize, c: i32, x1: v128, x2: v128, x3: v128, x4: v128, g: v128): v128 {
  const b15 = cNib, b48 = cHi2, sel = cQ6Sc;
  const o = <usize>c << 4;
  const A = v128.load(ql + o), B = v128.load(ql + 32 + o), H = v128.load(qh + o);
  const z = i32x4.splat(0);
  const a = i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, q6kQ(1, A, B, H, b15, b48), z);
  const b = i32x4.relaxed_dot_i8x16_i7x16_add_s(x2, q6kQ(2, A, B, H, b15, b48), z);
  const d = i32x4.relaxed_dot_i8x16_i7x16_add_s(x3, q6kQ(3, A, B, H, b15, b48), z);
  const e = i32x4.relaxed_dot_i8x16_i7x16_add_s(x4, q6kQ(4, A, B, H, b15, b48), z);
  const s12 = i16x8.extend_low_i8x16_s(i8x16.relaxed_swizzle(v128.load(sc + <usize>c), sel));
  const s34 = i16x8.extend_low_i8x16_s(i8x16.relaxed_swizzle(v128.load(sc + 4 + <usize>c), sel));
  return i32x4.add(
    i32x4.dot_i16x8_s(i8x16.relaxed_swizzle(i16x8.narrow_i32x4_s(a, b), g), s12),
    i32x4.dot_i16x8_s(i8x16.relaxed_swizzle(i16x8.narrow_i32x4_s(d, e), g), s34),
  );
}

/** q6kHalfR (q6kHalfD under `da`; g: q8Gather) of half h, part c (a constant) of the super-block at blk. */
@inline function q6kQuarter(da: bool, blk: usize, h: i32, c: i32, x1: v128, x2: v128, x3: v128, x4: v128, g: v128): v128 {
  const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
  if (da) return q6kHalfD(ql, qh, sc, c, x1, x2, x3, x4, g);
  return q6kHalfR(ql, qh, sc, c, x1, x2, x3, x4);
}

/** One Q6_K super-block × one x row's 256 widened i16 values at xk (the plain path; the relaxed
 * one runs in q6kRow4): the sums with the chunk scales, in i32 lanes (q6kTile's for one x row). */
@inline function q6kSums(blk: usize, xk: usize): v128 {
  let i0 = i32x4.splat(0);
  for (let h = 0; h < 2; h++) {
    const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
    const m15 = cW15, m3 = cW3;
    for (let g = 0; g < 4; g++) {
      const A = v128.load8x8_u(ql + (<usize>g << 3)), B = v128.load8x8_u(ql + 32 + (<usize>g << 3)), H = v128.load8x8_u(qh + (<usize>g << 3));
      const q1 = v128.or(v128.and(A, m15), i16x8.shl(v128.and(H, m3), 4));
      const q2 = v128.or(v128.and(B, m15), i16x8.shl(v128.and(i16x8.shr_u(H, 2), m3), 4));
      const q3 = v128.or(i16x8.shr_u(A, 4), i16x8.shl(v128.and(i16x8.shr_u(H, 4), m3), 4));
      const q4 = v128.or(i16x8.shr_u(B, 4), i16x8.shl(i16x8.shr_u(H, 6), 4));
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
@inline function q6kFold(blk: usize, i: v128, dx: f32, s16k: usize, acc: v128): v128 {
  const off = q6kOffsV(v128.load8x8_s(blk + 4), v128.load8x8_s(blk + 12), s16k);
  return madd(f32x4.convert_i32x4_s(i32x4.sub(i, off)), f32x4.splat(load<f32>(blk) * dx), acc);
}

/** Four Q6_K rows `ws` bytes apart × one x row (decode), as q4kRow4. */
@inline export function q6kRow4(relaxed: bool, da: bool, w: usize, ws: usize, x: usize, xd: usize, s16: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const g = q8Gather;
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q6K_BYTES, xk = x + (relaxed ? <usize>k << 8 : <usize>k << 9), sk = s16 + (<usize>k << 5);
    const dx = load<f32>(xd + (<usize>k << 2));
    if (ASC_FEATURE_RELAXED_SIMD && relaxed) {
      // Each 16-value x chunk loaded once for the four rows.
      let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
      for (let h = 0; h < 2; h++) {
        const xh = xk + (<usize>h << 7);
        let x1 = v128.load(xh), x2 = v128.load(xh + 32), x3 = v128.load(xh + 64), x4 = v128.load(xh + 96);
        i0 = i32x4.add(i0, q6kQuarter(da, b, h, 0, x1, x2, x3, x4, g));
        i1 = i32x4.add(i1, q6kQuarter(da, b + ws, h, 0, x1, x2, x3, x4, g));
        i2 = i32x4.add(i2, q6kQuarter(da, b + 2 * ws, h, 0, x1, x2, x3, x4, g));
        i3 = i32x4.add(i3, q6kQuarter(da, b + 3 * ws, h, 0, x1, x2, x3, x4, g));
        x1 = v128.load(xh + 16); x2 = v128.load(xh + 48); x3 = v128.load(xh + 80); x4 = v128.load(xh + 112);
        i0 = i32x4.add(i0, q6kQuarter(da, b, h, 1, x1, x2, x3, x4, g));
        i1 = i32x4.add(i1, q6kQuarter(da, b + ws, h, 1, x1, x2, x3, x4, g));
        i2 = i32x4.add(i2, q6kQuarter(da, b + 2 * ws, h, 1, x1, x2, x3, x4, g));
        i3 = i32x4.add(i3, q6kQuarter(da, b + 3 * ws, h, 1, x1, x2, x3, x4, g));
      }
      a0 = q6kFold(b, i0, dx, sk, a0);
      a1 = q6kFold(b + ws, i1, dx, sk, a1);
      a2 = q6kFold(b + 2 * ws, i2, dx, sk, a2);
      a3 = q6kFold(b + 3 * ws, i3, dx, sk, a3);
      continue;
    }
    a0 = q6kFold(b, q6kSums(b, xk), dx, sk, a0);
    a1 = q6kFold(b + ws, q6kSums(b + ws, xk), dx, sk, a1);
    a2 = q6kFold(b + 2 * ws, q6kSums(b + 2 * ws, xk), dx, sk, a2);
    a3 = q6kFold(b + 3 * ws, q6kSums(b + 3 * ws, xk), dx, sk, a3);
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** One Q6_K row × `nx` (1 or 4) x rows. x: the widened i16 quants (8-value groups), or (`relaxed`,
 * relaxed build) their i8 copy, 16 quants per i8 × i7 dot. The same integer sums per super-block,
 * then the same float steps. */
@inline export function q6kTile(nx: i32, relaxed: bool, w: usize, x: usize, xd: usize, s16: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = relaxed ? <usize>cols : <usize>cols << 1;
  const drow = <usize>nb << 2;
  const srow = <usize>(cols >> 4) << 1; // i16 sums per 16
  const m15 = cW15, m3 = cW3, b15 = cNib, b48 = cHi2; // features.ts: not inline constants
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q6K_BYTES;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    if (ASC_FEATURE_RELAXED_SIMD && relaxed) {
      for (let h = 0; h < 2; h++) {
        const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
        for (let c = 0; c < 2; c++) {
          // Values 128h + 32j + 16c + t (q6kHalfR's layout), unpacked once for all x rows.
          const A = v128.load(ql + (<usize>c << 4)), B = v128.load(ql + 32 + (<usize>c << 4)), H = v128.load(qh + (<usize>c << 4));
          const q1 = q6kQ(1, A, B, H, b15, b48), q2 = q6kQ(2, A, B, H, b15, b48), q3 = q6kQ(3, A, B, H, b15, b48), q4 = q6kQ(4, A, B, H, b15, b48);
          // The four chunks' scales, splat once for all x rows.
          const s = sc + <usize>c;
          const s1 = i16x8.splat(<i16>load<i8>(s)), s2 = i16x8.splat(<i16>load<i8>(s + 2));
          const s3 = i16x8.splat(<i16>load<i8>(s + 4)), s4 = i16x8.splat(<i16>load<i8>(s + 6));
          const xp = x + (<usize>k << 8) + (<usize>h << 7) + (<usize>c << 4);
          for (let j = 0; j < nx; j++) {
            const xj = xp + <usize>j * xrow;
            const t = i32x4.add(i32x4.add(q6kChunkR(v128.load(xj), q1, s1), q6kChunkR(v128.load(xj + 32), q2, s2)), i32x4.add(q6kChunkR(v128.load(xj + 64), q3, s3), q6kChunkR(v128.load(xj + 96), q4, s4)));
            if (j == 0) i0 = i32x4.add(i0, t);
            else if (j == 1) i1 = i32x4.add(i1, t);
            else if (j == 2) i2 = i32x4.add(i2, t);
            else i3 = i32x4.add(i3, t);
          }
        }
      }
    } else {
      const xo = <usize>k << 9;
      for (let h = 0; h < 2; h++) {
        const ql = blk + 20 + (<usize>h << 6), qh = blk + 148 + (<usize>h << 5), sc = blk + 4 + (<usize>h << 3);
        for (let g = 0; g < 4; g++) {
          const A = v128.load8x8_u(ql + (<usize>g << 3)), B = v128.load8x8_u(ql + 32 + (<usize>g << 3)), H = v128.load8x8_u(qh + (<usize>g << 3));
          const q1 = v128.or(v128.and(A, m15), i16x8.shl(v128.and(H, m3), 4));
          const q2 = v128.or(v128.and(B, m15), i16x8.shl(v128.and(i16x8.shr_u(H, 2), m3), 4));
          const q3 = v128.or(i16x8.shr_u(A, 4), i16x8.shl(v128.and(i16x8.shr_u(H, 4), m3), 4));
          const q4 = v128.or(i16x8.shr_u(B, 4), i16x8.shl(i16x8.shr_u(H, 6), 4));
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
