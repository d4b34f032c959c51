// Q4_K and Q6_K in the sub-block-lane layouts (relaxed build only: K_Q4_K_SB, K_Q6_K_SB; made at load
// by repack.ts). The quants are reordered within each super-block so that one i8 × i7 dot puts each
// sub-block's products in its own i32 lane: per 128 values (half h of the super-block), the i8 x is
// in Q_Q4_0_IL's order (assembly/matmul_q4il.ts: [j][b][t] = x[32b + 4j + t], then 64 bytes on
// x[32b + 16 + 4j + t]; quantizeQ8 `il` bit 1), and the weight byte 16j + 4b + t of the half pairs
// with x byte 16j + 4b + t (low nibble / part 0) and 64 + 16j + 4b + t (high nibble / part 1):
//   Q4_K (152 B, as matmul_k.ts but qs reordered): the low nibble is value 4j + t of sub-block 4h + b,
//         the high one value 16 + 4j + t of the same sub-block; lane b sums sub-block 4h + b.
//   Q6_K (212 B: d, the 16 scales, then four 48-byte parts): part m (0, 1) of half h pairs with x
//         bytes 64m + 16j + 4b + t and holds value 4j + t of sub-block 8h + 2b + m. Part 2h + m, at
//         20 + 48·(2h + m), is three vectors A, B, C: chunks 0, 1, 2 whole in the low six bits of
//         byte 4b + t of A, B, C, and chunk 3 as the top two bits of the three (A's its bits 0-1, B's
//         2-3, C's 4-5). A part unpacks in 11 operations (three masks; three shifts, masks and two
//         ors for chunk 3) where ggml's nibble and 2-bit planes took 17: Q6_K decode, 1 thread,
//         3072×1024 in L2, AMD EPYC Zen 5: 22 → 27 GB/s; 2 threads from DRAM, 151936×2048: 33-42
//         → 37-51 GB/s (builds alternated).
// Both paths put each sub-block's integer sum in the same lane (the dot-add directly; the i16 path's
// pair sums added pairwise). Q4_K: each half's lane sums are converted to f32 and multiplied by their
// sub-block scales × d, the mins term × −dmin joins them, and the super-block's lanes are multiplied by
// dx once (ksb_steps.ts k4First / k4Close: no i32 multiply, no per-half product of scales).
// Q6_K: a lane's integer sum is multiplied by its sub-block's scale (i32 multiply after the dot-add,
// or the i16 dot of pair sums with [sc, sc] on the i16 path: the same integers), then q6kFold as
// matmul_k6.ts. Integer sums are exact and every float step is the same sequence per lane in the
// decode and prefill kernels, so every value is independent of tiling and threading.
// Bounds: Q4_K sub-block sums ≤ 32·127·15 = 60960 (× sc < 64: exact in i32); i16 pair sums over a half
// ≤ 8·2·127·15 = 30480. Q6_K sub-block sums ≤ 16·127·63; its i16 pair sums (≤ 2·127·63) are scaled
// per chunk.
import { cB12, cB3, cHi2, cNib, cQ6Lo } from "./features";
import { Q6K_BYTES, q6kFold } from "./matmul_k6";
import { acc2, nib } from "./matmul_q4il";
import { hsum, store4 } from "./simd";
import { closeTo, firstTo, k4CloseRow, k4First, k4M, k4NegDmin, k4W, k6Sc, Q4K_BYTES } from "./ksb_steps";
import { threadSlot } from "./slots";
import { streamGap } from "./streams";

/** Four Q4_K rows `ws` bytes apart × one x row (decode), a super-block of each in turn: four streams
 * (assembly/streams.ts), each x chunk loaded once for the four rows. Outputs (and biases) `ys` apart. */
@inline function k4Row4(da: bool, w: usize, ws: usize, x: usize, xd: usize, s32: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const m = cNib;
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q4K_BYTES, xk = x + (<usize>k << 8), dx = f32x4.splat(load<f32>(xd + (<usize>k << 2)));
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0);
    for (let h = 0; h < 2; h++) {
      const xh = xk + (<usize>h << 7), q = b + 24 + (<usize>h << 6);
      let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const xl = v128.load(xh + j), xu = v128.load(xh + 64 + j);
        c0 = nib(da, c0, v128.load(q + j), xl, xu, m);
        c1 = nib(da, c1, v128.load(q + ws + j), xl, xu, m);
        c2 = nib(da, c2, v128.load(q + 2 * ws + j), xl, xu, m);
        c3 = nib(da, c3, v128.load(q + 3 * ws + j), xl, xu, m);
      }
      if (h == 0) {
        t0 = k4First(da, c0, k4W(b, 0));
        t1 = k4First(da, c1, k4W(b + ws, 0));
        t2 = k4First(da, c2, k4W(b + 2 * ws, 0));
        t3 = k4First(da, c3, k4W(b + 3 * ws, 0));
      } else {
        const sk = s32 + (<usize>k << 4);
        a0 = k4CloseRow(da, t0, c0, b, sk, dx, a0);
        a1 = k4CloseRow(da, t1, c1, b + ws, sk, dx, a1);
        a2 = k4CloseRow(da, t2, c2, b + 2 * ws, sk, dx, a2);
        a3 = k4CloseRow(da, t3, c3, b + 3 * ws, sk, dx, a3);
      }
    }
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** `nw` (1, 2) Q4_K rows (`wrow` bytes apart) × `nx` (1..4) x rows (`xrow` bytes apart): each
 * weight chunk split once for the x rows, each x chunk loaded once for the weight rows. y: output of
 * (row 0, x row 0); row 1's at y + 4, x row i's at y + i·ys; bA / bB: the rows' biases. */
@inline function k4Tile(nw: i32, nx: i32, da: bool, w: usize, wrow: usize, x: usize, xrow: usize, xd: usize, s32: usize, nb: i32, y: usize, ys: usize, bA: f32, bB: f32): void {
  // This thread's slot (slots.ts): the f32 sums A_i at ac + 32·i, B_i 16 bytes on; half 0's t 128 on.
  const ac = threadSlot();
  for (let i = 0; i < nx; i++) {
    v128.store(ac + (<usize>i << 5), f32x4.splat(0));
    if (nw == 2) v128.store(ac + (<usize>i << 5) + 16, f32x4.splat(0));
  }
  const m = cNib;
  const drow = <usize>nb << 2, srow = <usize>nb << 4; // x scales / sums (8 i16 per super-block) per x row
  for (let k = 0; k < nb; k++) {
    const wa = w + <usize>k * Q4K_BYTES, wb = wa + wrow, xk = x + (<usize>k << 8);
    const ko = <usize>k << 2;
    for (let h = 0; h < 2; h++) {
      const xh = xk + (<usize>h << 7), qo = 24 + (<usize>h << 6);
      let cA0 = i32x4.splat(0), cA1 = i32x4.splat(0), cA2 = i32x4.splat(0), cA3 = i32x4.splat(0);
      let cB0 = i32x4.splat(0), cB1 = i32x4.splat(0), cB2 = i32x4.splat(0), cB3 = i32x4.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const wA = v128.load(wa + qo + j);
        const loA = v128.and(wA, m), hiA = v128.and(i16x8.shr_u(wA, 4), m);
        let loB = loA, hiB = hiA;
        if (nw == 2) {
          const wB = v128.load(wb + qo + j);
          loB = v128.and(wB, m);
          hiB = v128.and(i16x8.shr_u(wB, 4), m);
        }
        let xp = xh + j;
        let xl = v128.load(xp), xu = v128.load(xp, 64);
        cA0 = acc2(da, cA0, xl, loA, xu, hiA);
        if (nw == 2) cB0 = acc2(da, cB0, xl, loB, xu, hiB);
        if (nx >= 2) {
          xp += xrow; xl = v128.load(xp); xu = v128.load(xp, 64);
          cA1 = acc2(da, cA1, xl, loA, xu, hiA);
          if (nw == 2) cB1 = acc2(da, cB1, xl, loB, xu, hiB);
        }
        if (nx >= 3) {
          xp += xrow; xl = v128.load(xp); xu = v128.load(xp, 64);
          cA2 = acc2(da, cA2, xl, loA, xu, hiA);
          if (nw == 2) cB2 = acc2(da, cB2, xl, loB, xu, hiB);
        }
        if (nx == 4) {
          xp += xrow; xl = v128.load(xp); xu = v128.load(xp, 64);
          cA3 = acc2(da, cA3, xl, loA, xu, hiA);
          if (nw == 2) cB3 = acc2(da, cB3, xl, loB, xu, hiB);
        }
      }
      // Half 0: its t into the slots' second 128 bytes; half 1: its sums, the mins and dx close the
      // super-block into the f32 sums (ksb_steps.ts).
      const sA = k4W(wa, h), sB = nw == 2 ? k4W(wb, h) : sA;
      if (h == 0) {
        firstTo(ac + 128, da, cA0, sA);
        if (nw == 2) firstTo(ac + 144, da, cB0, sB);
        if (nx >= 2) {
          firstTo(ac + 160, da, cA1, sA);
          if (nw == 2) firstTo(ac + 176, da, cB1, sB);
        }
        if (nx >= 3) {
          firstTo(ac + 192, da, cA2, sA);
          if (nw == 2) firstTo(ac + 208, da, cB2, sB);
        }
        if (nx == 4) {
          firstTo(ac + 224, da, cA3, sA);
          if (nw == 2) firstTo(ac + 240, da, cB3, sB);
        }
      } else {
        const so = s32 + (<usize>k << 4);
        const mA = k4M(wa), nA = k4NegDmin(wa);
        const mB = nw == 2 ? k4M(wb) : mA, nB = nw == 2 ? k4NegDmin(wb) : nA;
        let dv = f32x4.splat(load<f32>(xd + ko));
        closeTo(ac, ac + 128, da, cA0, sA, mA, nA, so, dv);
        if (nw == 2) closeTo(ac + 16, ac + 144, da, cB0, sB, mB, nB, so, dv);
        if (nx >= 2) {
          dv = f32x4.splat(load<f32>(xd + drow + ko));
          closeTo(ac + 32, ac + 160, da, cA1, sA, mA, nA, so + srow, dv);
          if (nw == 2) closeTo(ac + 48, ac + 176, da, cB1, sB, mB, nB, so + srow, dv);
        }
        if (nx >= 3) {
          dv = f32x4.splat(load<f32>(xd + 2 * drow + ko));
          closeTo(ac + 64, ac + 192, da, cA2, sA, mA, nA, so + 2 * srow, dv);
          if (nw == 2) closeTo(ac + 80, ac + 208, da, cB2, sB, mB, nB, so + 2 * srow, dv);
        }
        if (nx == 4) {
          dv = f32x4.splat(load<f32>(xd + 3 * drow + ko));
          closeTo(ac + 96, ac + 224, da, cA3, sA, mA, nA, so + 3 * srow, dv);
          if (nw == 2) closeTo(ac + 112, ac + 240, da, cB3, sB, mB, nB, so + 3 * srow, dv);
        }
      }
    }
  }
  store<f32>(y, hsum(v128.load(ac)) + bA);
  if (nw == 2) store<f32>(y + 4, hsum(v128.load(ac + 16)) + bB);
  if (nx >= 2) {
    store<f32>(y + ys, hsum(v128.load(ac + 32)) + bA);
    if (nw == 2) store<f32>(y + 4 + ys, hsum(v128.load(ac + 48)) + bB);
  }
  if (nx >= 3) {
    store<f32>(y + 2 * ys, hsum(v128.load(ac + 64)) + bA);
    if (nw == 2) store<f32>(y + 4 + 2 * ys, hsum(v128.load(ac + 80)) + bB);
  }
  if (nx == 4) {
    store<f32>(y + 3 * ys, hsum(v128.load(ac + 96)) + bA);
    if (nw == 2) store<f32>(y + 4 + 3 * ys, hsum(v128.load(ac + 112)) + bB);
  }
}

/** Byte offset of part hm (0..3) of the Q6_K super-block at blk: its vectors A, B, C. */
@inline function k6At(blk: usize, hm: i32): usize {
  return blk + 20 + <usize>hm * 48;
}

/** Chunk 3 of a part: the top two bits of its vectors A, B, C as bits 0-1, 2-3, 4-5 (16-bit shifts
 * move bits within each byte here, masked after). Chunks 0..2 are A, B, C & 0x3f. */
@inline function k6Top(A: v128, B: v128, C: v128, m3: v128, m12: v128, m48: v128): v128 {
  return v128.or(v128.or(v128.and(i16x8.shr_u(A, 6), m3), v128.and(i16x8.shr_u(B, 4), m12)), v128.and(i16x8.shr_u(C, 2), m48));
}

/** One chunk: dot-add into a part's i32 sub-block sums, or (i16 path) its pair sums scaled by `s`
 * (k6Sc) into i32 lanes. */
@inline function k6Step(da: bool, c: v128, x: v128, q: v128, s: v128): v128 {
  if (da) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, q, c);
  return i32x4.add(c, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, q), s));
}

/** A part's four chunks × the x part at xp (four 16-byte chunks), scaled by s, added to i: the
 * same lane totals on both paths. */
@inline function k6Part(da: bool, i: v128, xp: usize, q0: v128, q1: v128, q2: v128, q3: v128, s: v128): v128 {
  let c = i32x4.splat(0);
  c = k6Step(da, c, v128.load(xp), q0, s);
  c = k6Step(da, c, v128.load(xp + 16), q1, s);
  c = k6Step(da, c, v128.load(xp + 32), q2, s);
  c = k6Step(da, c, v128.load(xp + 48), q3, s);
  return i32x4.add(i, da ? i32x4.mul(c, s) : c);
}

/** A part of one Q6_K row × one x row (the unpack inline; decode's four rows share x by cache). */
@inline function k6Row(da: bool, i: v128, blk: usize, hm: i32, xp: usize, m63: v128, m3: v128, m12: v128, m48: v128): v128 {
  const p = k6At(blk, hm);
  const A = v128.load(p), B = v128.load(p, 16), C = v128.load(p, 32);
  return k6Part(da, i, xp, v128.and(A, m63), v128.and(B, m63), v128.and(C, m63), k6Top(A, B, C, m3, m12, m48), k6Sc(da, blk, hm));
}

/** Four Q6_K rows `ws` bytes apart × one x row (decode), as k4Row4. */
@inline function k6Row4(da: bool, w: usize, ws: usize, x: usize, xd: usize, s16: usize, nb: i32, y: usize, ys: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const m63 = cQ6Lo, m3 = cB3, m12 = cB12, m48 = cHi2;
  for (let k = 0; k < nb; k++) {
    const b = w + <usize>k * Q6K_BYTES, xk = x + (<usize>k << 8), dx = load<f32>(xd + (<usize>k << 2));
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    for (let hm = 0; hm < 4; hm++) {
      const xp = xk + (<usize>hm << 6);
      i0 = k6Row(da, i0, b, hm, xp, m63, m3, m12, m48);
      i1 = k6Row(da, i1, b + ws, hm, xp, m63, m3, m12, m48);
      i2 = k6Row(da, i2, b + 2 * ws, hm, xp, m63, m3, m12, m48);
      i3 = k6Row(da, i3, b + 3 * ws, hm, xp, m63, m3, m12, m48);
    }
    const sk = s16 + (<usize>k << 5);
    a0 = q6kFold(b, i0, dx, sk, a0);
    a1 = q6kFold(b + ws, i1, dx, sk, a1);
    a2 = q6kFold(b + 2 * ws, i2, dx, sk, a2);
    a3 = q6kFold(b + 3 * ws, i3, dx, sk, a3);
  }
  store4(y, ys, bias, a0, a1, a2, a3);
}

/** One Q6_K row × `nx` (1..4) x rows (`xrow` bytes apart): each part unpacked once for the x rows.
 * Outputs `ys` apart from y; b: the row's bias. */
@inline function k6Tile(nx: i32, da: bool, w: usize, x: usize, xrow: usize, xd: usize, s16: usize, nb: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const m63 = cQ6Lo, m3 = cB3, m12 = cB12, m48 = cHi2;
  const drow = <usize>nb << 2, srow = <usize>nb << 5; // x scales / sums (16 i16 per super-block) per x row
  for (let k = 0; k < nb; k++) {
    const blk = w + <usize>k * Q6K_BYTES, xk = x + (<usize>k << 8);
    let i0 = i32x4.splat(0), i1 = i32x4.splat(0), i2 = i32x4.splat(0), i3 = i32x4.splat(0);
    for (let hm = 0; hm < 4; hm++) {
      const p = k6At(blk, hm);
      const A = v128.load(p), B = v128.load(p, 16), C = v128.load(p, 32);
      const q0 = v128.and(A, m63), q1 = v128.and(B, m63), q2 = v128.and(C, m63), q3 = k6Top(A, B, C, m3, m12, m48);
      const s = k6Sc(da, blk, hm);
      const xp = xk + (<usize>hm << 6);
      i0 = k6Part(da, i0, xp, q0, q1, q2, q3, s);
      if (nx >= 2) i1 = k6Part(da, i1, xp + xrow, q0, q1, q2, q3, s);
      if (nx >= 3) i2 = k6Part(da, i2, xp + 2 * xrow, q0, q1, q2, q3, s);
      if (nx == 4) i3 = k6Part(da, i3, xp + 3 * xrow, q0, q1, q2, q3, s);
    }
    const ko = <usize>k << 2, so = s16 + (<usize>k << 5);
    a0 = q6kFold(blk, i0, load<f32>(xd + ko), so, a0);
    if (nx >= 2) a1 = q6kFold(blk, i1, load<f32>(xd + drow + ko), so + srow, a1);
    if (nx >= 3) a2 = q6kFold(blk, i2, load<f32>(xd + 2 * drow + ko), so + 2 * srow, a2);
    if (nx == 4) a3 = q6kFold(blk, i3, load<f32>(xd + 3 * drow + ko), so + 3 * srow, a3);
  }
  store<f32>(y, hsum(a0) + b);
  if (nx >= 2) store<f32>(y + ys, hsum(a1) + b);
  if (nx >= 3) store<f32>(y + 2 * ys, hsum(a2) + b);
  if (nx == 4) store<f32>(y + 3 * ys, hsum(a3) + b);
}

/** Rows r0..r1 of one sub-block-lane matrix (`q4`: Q4_K, else Q6_K); arguments as matmulKRows's,
 * x8 in Q_Q4_0_IL order. */
@inline function rowsSB(q4: bool, da: bool, w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 8;
  const wrow = <usize>nb * (q4 ? Q4K_BYTES : Q6K_BYTES);
  const ys = <usize>rows << 2, xrow = <usize>cols;
  const drow = <usize>nb << 2, srow = <usize>nb << (q4 ? 4 : 5);
  let r = r0;
  // Decode: four rows a quarter of the range apart at once (assembly/streams.ts).
  const d = streamGap(n, r0, r1, 1);
  if (d != 0) {
    const ws = <usize>d * wrow, yo = <usize>d << 2;
    for (let e = r + d; r < e; r++) {
      const wr = w + <usize>r * wrow, yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      if (q4) k4Row4(da, wr, ws, x8, xd, sums, nb, yr, yo, br);
      else k6Row4(da, wr, ws, x8, xd, sums, nb, yr, yo, br);
    }
    r += 3 * d;
  }
  // Prefill: x tiles outer, weight rows inner — the tile's x rows (4 · cols bytes) stay in L1 while
  // this thread's rows (a chunk: tens of KiB) stream from L2; rows outer re-read all n x rows from
  // L2 / L3 for every row or pair.
  const r2 = r;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const xo = x8 + <usize>i * xrow, xdi = xd + <usize>i * drow, si = sums + <usize>i * srow, yi = y + <usize>i * ys;
    for (r = r2; r < r1; ) {
      const two = q4 && r + 1 < r1; // Q4_K: two weight rows per tile
      const bA: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
      const bB: f32 = bias == 0 || !two ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
      const wr = w + <usize>r * wrow, yo = yi + (<usize>r << 2);
      if (!q4) k6Tile(4, da, wr, xo, xrow, xdi, si, nb, yo, ys, bA);
      else if (two) k4Tile(2, 4, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      else k4Tile(1, 4, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      r += two ? 2 : 1;
    }
  }
  // The last 1..3 x rows: one tile of that many (an expert's few routed tokens are often all of it).
  const rest = n - i;
  if (rest == 0) return;
  const xo = x8 + <usize>i * xrow, xdi = xd + <usize>i * drow, si = sums + <usize>i * srow, yi = y + <usize>i * ys;
  for (r = r2; r < r1; ) {
    const two = q4 && r + 1 < r1;
    const bA: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const bB: f32 = bias == 0 || !two ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
    const wr = w + <usize>r * wrow, yo = yi + (<usize>r << 2);
    if (!q4) {
      if (rest == 3) k6Tile(3, da, wr, xo, xrow, xdi, si, nb, yo, ys, bA);
      else if (rest == 2) k6Tile(2, da, wr, xo, xrow, xdi, si, nb, yo, ys, bA);
      else k6Tile(1, da, wr, xo, xrow, xdi, si, nb, yo, ys, bA);
    } else if (two) {
      if (rest == 3) k4Tile(2, 3, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      else if (rest == 2) k4Tile(2, 2, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      else k4Tile(2, 1, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
    } else {
      if (rest == 3) k4Tile(1, 3, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      else if (rest == 2) k4Tile(1, 2, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
      else k4Tile(1, 1, da, wr, wrow, xo, xrow, xdi, si, nb, yo, ys, bA, bB);
    }
    r += two ? 2 : 1;
  }
}

// One function per type and path: in one body Binaryen merges inlined variants into one testing a
// runtime flag (see matmul_q4il.ts rowsILDot).
function rowsQ4KSBDot(w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsSB(true, true, w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ4KSB(w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsSB(true, false, w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ6KSBDot(w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsSB(false, true, w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
function rowsQ6KSB(w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsSB(false, false, w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}

/** Rows r0..r1 of y = x · Wᵀ (+ bias) for a sub-block-lane Q4_K (`q4`) or Q6_K matrix (relaxed
 * build; `da`: the dot-add). x8: [n, cols] i8 in Q_Q4_0_IL order; xd: [n, cols / 256] f32; sums:
 * blockSums of the plain i16 x (Q4_K: per 32, Q6_K: per 16); y: [n, rows] f32; bias: [rows] or 0. */
export function matmulKSBRows(q4: bool, da: bool, w: usize, x8: usize, xd: usize, sums: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if (q4) {
    if (da) rowsQ4KSBDot(w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
    else rowsQ4KSB(w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
  } else if (da) rowsQ6KSBDot(w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
  else rowsQ6KSB(w, x8, xd, sums, y, bias, n, rows, cols, r0, r1);
}
