// Q5_0 and Q5_K weights × int8 activations, the 5-bit members of the Q (32-block) and K (256-block)
// families: same activation preparation (quantizeQ8 per 32 / 256, blockSums per 32 for Q5_K) and the
// same i16 widening + i32x4.dot_i16x8_s as matmul_q.ts / matmul_k.ts; only unpacking differs.
// Repacked layouts (made at load from ggml's, see repack.ts):
//   Q5_0: quants [rows, cols / 32] × 20 B: qs[16] (ggml nibbles), qh u32 (bit j = 5th bit of value j);
//         then scales [rows, cols / 32] f32. value = d·(q − 16)
//   Q5_K (184 B per 256): f32 d, f32 dmin, u8 sc[8], u8 m[8], qh[32], qs[128] (ggml order);
//         value = d·sc·q − dmin·m, q = nibble | (bit j of qh[l]) << 4 for sub-block j
import { cB16, cNib, cQ5Bit, cQ5Sel0, cQ5Sel1, cW15, cW16 } from "./features";
import { hsum, hsumI, madd } from "./simd";
import { streamGap } from "./streams";

export const Q5_0_BLOCK: i32 = 20;
export const Q5K_BYTES: i32 = 184;

/** i32x4 partial dot of 32 weights (four i16x8) with 32 widened activations at `xp`. */
@inline function dot32(w0: v128, w1: v128, w2: v128, w3: v128, xp: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(xp)), i32x4.dot_i16x8_s(w1, v128.load(xp + 16))),
    i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(xp + 32)), i32x4.dot_i16x8_s(w3, v128.load(xp + 48))),
  );
}

/** One Q5_0 weight row × `nx` (1 or 4) x rows; the offset 16 is applied as −16·Σq per block. */
@inline function q50Tile(nx: i32, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = <usize>cols << 1;
  const srow = <usize>nb << 2;
  // features.ts: globals, not inline constants.
  const bit = cQ5Bit, sel0 = cQ5Sel0, sel1 = cQ5Sel1, s16 = cB16, m15 = cNib;
  for (let k = 0; k < nb; k++) {
    // 32 five-bit weights: byte l of the low half takes bit l of qh (qh bytes 0, 1), of the high
    // half bit 16 + l (qh bytes 2, 3); swizzle spreads each qh byte over 8 lanes, the mask picks a bit.
    const p = wq + <usize>k * Q5_0_BLOCK;
    const qs = v128.load(p);
    const qh = v128.load32_splat(p + 16);
    const h0 = v128.and(i8x16.eq(v128.and(i8x16.swizzle(qh, sel0), bit), bit), s16);
    const h1 = v128.and(i8x16.eq(v128.and(i8x16.swizzle(qh, sel1), bit), bit), s16);
    const lo = v128.or(v128.and(qs, m15), h0);
    const hi = v128.or(v128.and(i16x8.shr_u(qs, 4), m15), h1);
    const w0 = i16x8.extend_low_i8x16_u(lo), w1 = i16x8.extend_high_i8x16_u(lo);
    const w2 = i16x8.extend_low_i8x16_u(hi), w3 = i16x8.extend_high_i8x16_u(hi);
    const wdk = load<f32>(wd + (<usize>k << 2));
    const xo = <usize>k << 6;
    const so = <usize>k << 2;
    const s0 = i32x4.sub(dot32(w0, w1, w2, w3, xq + xo), i32x4.splat(load<i32>(xs + so) << 2));
    a0 = madd(f32x4.convert_i32x4_s(s0), f32x4.splat(wdk * load<f32>(xd + so)), a0);
    if (nx == 4) {
      const s1 = i32x4.sub(dot32(w0, w1, w2, w3, xq + xrow + xo), i32x4.splat(load<i32>(xs + srow + so) << 2));
      const s2 = i32x4.sub(dot32(w0, w1, w2, w3, xq + 2 * xrow + xo), i32x4.splat(load<i32>(xs + 2 * srow + so) << 2));
      const s3 = i32x4.sub(dot32(w0, w1, w2, w3, xq + 3 * xrow + xo), i32x4.splat(load<i32>(xs + 3 * srow + so) << 2));
      a1 = madd(f32x4.convert_i32x4_s(s1), f32x4.splat(wdk * load<f32>(xd + srow + so)), a1);
      a2 = madd(f32x4.convert_i32x4_s(s2), f32x4.splat(wdk * load<f32>(xd + 2 * srow + so)), a2);
      a3 = madd(f32x4.convert_i32x4_s(s3), f32x4.splat(wdk * load<f32>(xd + 3 * srow + so)), a3);
    }
  }
  store<f32>(y, hsum(a0) + b);
  if (nx == 4) {
    store<f32>(y + ys, hsum(a1) + b);
    store<f32>(y + 2 * ys, hsum(a2) + b);
    store<f32>(y + 3 * ys, hsum(a3) + b);
  }
}

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for Q5_0 weights. wq: [rows, cols / 32] × 20 B;
 * wd: [rows, cols / 32] f32; xq: [n, cols] i16, xd / xs: [n, cols / 32] f32 / i32 (quantizeQ8, block 32);
 * y: [n, rows] f32; bias: [rows] f32 or 0. */
export function matmulQ50Rows(wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2;
  for (let r = r0; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wqr = wq + <usize>r * nb * Q5_0_BLOCK;
    const wdr = wd + ((<usize>r * nb) << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      q50Tile(4, wqr, wdr, xq + ((<usize>i * cols) << 1), xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
    for (; i < n; i++) {
      q50Tile(1, wqr, wdr, xq + ((<usize>i * cols) << 1), xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
  }
}

/** Σ_j m[j]·(Σq over sub-block j) for one Q5_K super-block; s32 points at its 8 i16 sums. */
@inline function q5kMins(blk: usize, s32: usize): i32 {
  return hsumI(i32x4.dot_i16x8_s(v128.load8x8_u(blk + 16), v128.load(s32)));
}

/** Integer dot of one 64-value pair (sub-blocks 2p: a0..a3, 2p + 1: c0..c3) with x at xp, scaled. */
@inline function q5kPair(a0: v128, a1: v128, a2: v128, a3: v128, c0: v128, c1: v128, c2: v128, c3: v128, xp: usize, scA: v128, scB: v128): v128 {
  return i32x4.add(i32x4.mul(dot32(a0, a1, a2, a3, xp), scA), i32x4.mul(dot32(c0, c1, c2, c3, xp + 64), scB));
}

/** Low sub-block of a Q5_K pair: nibbles of l (8 bytes widened) with 5th bits from h (qh shifted up 8). */
@inline function q5kLo(l: v128, h: v128, sa: i32, mask: v128, s16: v128): v128 {
  return v128.or(v128.and(l, mask), v128.and(i16x8.shr_u(h, sa), s16));
}
/** High sub-block of a Q5_K pair (the other nibble, the next 5th bit). */
@inline function q5kHi(l: v128, h: v128, sb: i32, s16: v128): v128 {
  return v128.or(i16x8.shr_u(l, 4), v128.and(i16x8.shr_u(h, sb), s16));
}

/** One Q5_K weight row × `nx` (1 or 4) x rows. */
@inline function q5kTile(nx: i32, w: usize, xq: usize, xd: usize, s32: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let m0: f32 = 0, m1: f32 = 0, m2: f32 = 0, m3: f32 = 0;
  const xrow = <usize>cols << 1;
  const drow = <usize>nb << 2;
  const srow = <usize>(cols >> 5) << 1; // i16 sums per 32
  const mask = cW15, s16 = cW16; // features.ts: globals, not inline constants
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q5K_BYTES;
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    if (nx == 1) i0 = q5kSums(blk, xq + (<usize>k << 9), mask, s16);
    else {
      // 5th bits: qh byte l, shifted up 8 so one right shift by 4 + j brings bit j to bit 4.
      const h0 = i16x8.shl(v128.load8x8_u(blk + 24), 8), h1 = i16x8.shl(v128.load8x8_u(blk + 32), 8);
      const h2 = i16x8.shl(v128.load8x8_u(blk + 40), 8), h3 = i16x8.shl(v128.load8x8_u(blk + 48), 8);
      const xo = <usize>k << 9; // 256 values × 2 bytes
      for (let p = 0; p < 4; p++) {
        const q = blk + 56 + (<usize>p << 5);
        const l0 = v128.load8x8_u(q), l1 = v128.load8x8_u(q + 8), l2 = v128.load8x8_u(q + 16), l3 = v128.load8x8_u(q + 24);
        const sa = 4 + 2 * p, sb = 5 + 2 * p;
        const a0 = q5kLo(l0, h0, sa, mask, s16), a1 = q5kLo(l1, h1, sa, mask, s16), a2 = q5kLo(l2, h2, sa, mask, s16), a3 = q5kLo(l3, h3, sa, mask, s16);
        const c0 = q5kHi(l0, h0, sb, s16), c1 = q5kHi(l1, h1, sb, s16), c2 = q5kHi(l2, h2, sb, s16), c3 = q5kHi(l3, h3, sb, s16);
        const scA = i32x4.splat(<i32>load<u8>(blk + 8 + (p << 1)));
        const scB = i32x4.splat(<i32>load<u8>(blk + 9 + (p << 1)));
        const po = xo + (<usize>p << 7); // 64 values × 2 bytes
        i0 = i32x4.add(i0, q5kPair(a0, a1, a2, a3, c0, c1, c2, c3, xq + po, scA, scB));
        i1 = i32x4.add(i1, q5kPair(a0, a1, a2, a3, c0, c1, c2, c3, xq + xrow + po, scA, scB));
        i2 = i32x4.add(i2, q5kPair(a0, a1, a2, a3, c0, c1, c2, c3, xq + 2 * xrow + po, scA, scB));
        i3 = i32x4.add(i3, q5kPair(a0, a1, a2, a3, c0, c1, c2, c3, xq + 3 * xrow + po, scA, scB));
      }
    }
    const ko = <usize>k << 2;
    const so = <usize>k << 4; // 8 sums × 2 bytes
    let dx = load<f32>(xd + ko);
    a0 = q5kFold(blk, i0, dx, a0);
    m0 += q5kMinsF(blk, dx, s32 + so);
    if (nx == 4) {
      dx = load<f32>(xd + drow + ko);
      a1 = q5kFold(blk, i1, dx, a1);
      m1 += q5kMinsF(blk, dx, s32 + srow + so);
      dx = load<f32>(xd + 2 * drow + ko);
      a2 = q5kFold(blk, i2, dx, a2);
      m2 += q5kMinsF(blk, dx, s32 + 2 * srow + so);
      dx = load<f32>(xd + 3 * drow + ko);
      a3 = q5kFold(blk, i3, dx, a3);
      m3 += q5kMinsF(blk, dx, s32 + 3 * srow + so);
    }
  }
  store<f32>(y, hsum(a0) - m0 + b);
  if (nx == 4) {
    store<f32>(y + ys, hsum(a1) - m1 + b);
    store<f32>(y + 2 * ys, hsum(a2) - m2 + b);
    store<f32>(y + 3 * ys, hsum(a3) - m3 + b);
  }
}

/** One Q5_K super-block × one x row's 256 i16 activations at xk: the sums with the sub-block
 * scales, in i32 lanes (q5kTile's for one x row). */
@inline function q5kSums(blk: usize, xk: usize, mask: v128, s16: v128): v128 {
  const h0 = i16x8.shl(v128.load8x8_u(blk + 24), 8), h1 = i16x8.shl(v128.load8x8_u(blk + 32), 8);
  const h2 = i16x8.shl(v128.load8x8_u(blk + 40), 8), h3 = i16x8.shl(v128.load8x8_u(blk + 48), 8);
  let i0 = i32x4.splat(0);
  for (let p = 0; p < 4; p++) {
    const q = blk + 56 + (<usize>p << 5);
    const l0 = v128.load8x8_u(q), l1 = v128.load8x8_u(q + 8), l2 = v128.load8x8_u(q + 16), l3 = v128.load8x8_u(q + 24);
    const sa = 4 + 2 * p, sb = 5 + 2 * p;
    const scA = i32x4.splat(<i32>load<u8>(blk + 8 + (p << 1)));
    const scB = i32x4.splat(<i32>load<u8>(blk + 9 + (p << 1)));
    i0 = i32x4.add(i0, q5kPair(q5kLo(l0, h0, sa, mask, s16), q5kLo(l1, h1, sa, mask, s16), q5kLo(l2, h2, sa, mask, s16), q5kLo(l3, h3, sa, mask, s16),
      q5kHi(l0, h0, sb, s16), q5kHi(l1, h1, sb, s16), q5kHi(l2, h2, sb, s16), q5kHi(l3, h3, sb, s16), xk + (<usize>p << 7), scA, scB));
  }
  return i0;
}

/** acc + one super-block's integer sums × d·dx. */
@inline function q5kFold(blk: usize, i: v128, dx: f32, acc: v128): v128 {
  return madd(f32x4.convert_i32x4_s(i), f32x4.splat(load<f32>(blk) * dx), acc);
}

/** One super-block's mins term dmin·dx·Σ m[j]·(Σq over sub-block j) (x sums at s32k). */
@inline function q5kMinsF(blk: usize, dx: f32, s32k: usize): f32 {
  return load<f32>(blk + 4) * dx * <f32>q5kMins(blk, s32k);
}

/** Four Q5_K rows `ws` bytes apart × one x row (decode), a super-block of each in turn: four streams
 * in flight (assembly/streams.ts). Outputs (and biases) `ys` bytes apart; each value is q5kTile's
 * for one x row. */
@inline function q5kRow4(w: usize, ws: usize, xq: usize, xd: usize, s32: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let m0: f32 = 0, m1: f32 = 0, m2: f32 = 0, m3: f32 = 0;
  const mask = cW15, s16 = cW16;
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q5K_BYTES, xk = xq + (<usize>k << 9), sk = s32 + (<usize>k << 4);
    const dx = load<f32>(xd + (<usize>k << 2));
    a0 = q5kFold(b, q5kSums(b, xk, mask, s16), dx, a0);
    m0 += q5kMinsF(b, dx, sk);
    a1 = q5kFold(b + ws, q5kSums(b + ws, xk, mask, s16), dx, a1);
    m1 += q5kMinsF(b + ws, dx, sk);
    a2 = q5kFold(b + 2 * ws, q5kSums(b + 2 * ws, xk, mask, s16), dx, a2);
    m2 += q5kMinsF(b + 2 * ws, dx, sk);
    a3 = q5kFold(b + 3 * ws, q5kSums(b + 3 * ws, xk, mask, s16), dx, a3);
    m3 += q5kMinsF(b + 3 * ws, dx, sk);
  }
  const bb = bias != 0;
  store<f32>(y, hsum(a0) - m0 + (bb ? load<f32>(bias) : 0));
  store<f32>(y + ys, hsum(a1) - m1 + (bb ? load<f32>(bias + ys) : 0));
  store<f32>(y + 2 * ys, hsum(a2) - m2 + (bb ? load<f32>(bias + 2 * ys) : 0));
  store<f32>(y + 3 * ys, hsum(a3) - m3 + (bb ? load<f32>(bias + 3 * ys) : 0));
}

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for Q5_K weights. w: [rows, cols / 256] × 184 B;
 * xq: [n, cols] i16; xd: [n, cols / 256] f32; sums: blockSums of xq per 32, [n, cols / 32] i16;
 * y: [n, rows] f32; bias: [rows] f32 or 0. */
export function matmulQ5KRows(w: usize, xq: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 8;
  const wrow = <usize>nb * Q5K_BYTES;
  const ys = <usize>rows << 2;
  let r = r0;
  // Decode: four rows a quarter of the range apart at once (assembly/streams.ts).
  const d = streamGap(n, r0, r1, 1);
  if (d != 0) {
    const ws = <usize>d * wrow, yo = <usize>d << 2;
    for (let e = r + d; r < e; r++) q5kRow4(w + <usize>r * wrow, ws, xq, xd, sums, nb, y + (<usize>r << 2), yo, bias == 0 ? 0 : bias + (<usize>r << 2));
    r += 3 * d;
  }
  for (; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wr = w + <usize>r * wrow;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const xo = <usize>i * cols;
      q5kTile(4, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
    for (; i < n; i++) {
      const xo = <usize>i * cols;
      q5kTile(1, wr, xq + (xo << 1), xd + ((<usize>i * nb) << 2), sums + ((xo >> 5) << 1), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
  }
}
