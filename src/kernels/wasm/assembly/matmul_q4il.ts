// Q4_0 in the interleaved layout (Q_Q4_0_IL, relaxed build only, see repack.ts). Rows go in quads
// (rows % 4 = 0); per quad, each group of four blocks (128 columns) is one 320-byte tile: the four
// rows' 64 nibble bytes back to back, then their 4 × 4 f32 scales. Within a row's 64 bytes, byte
// 16·j + 4·b + t is byte 4·j + t of block b (j, t < 4), so one i8 × i7 dot puts each block's
// products in its own lane — no horizontal sums per block. The matching i8 x (quantizeQ8 with
// `il` bit 1): per 128 values, [j][b][t] = x[32·b + 4·j + t] (low nibbles), then, 64 bytes on,
// x[32·b + 16 + 4·j + t] (high nibbles). The offset 8 is applied as −8·Σq per block.
//
// Decode reads the four rows of a quad per pass over x (each x chunk loaded once for four rows) as
// one contiguous stream; prefill runs tiles of 2 weight rows × 3 x rows. Integer sums are exact and
// the float steps are the same everywhere, so every value is independent of tiling and threading.
// Where the host found `i32x4.relaxed_dot_i8x16_i7x16_add_s` exact (assembly/features.ts dotAdd:
// x86 VNNI, Node >= 22; Node 20's V8 11.3 returned twice the dot and dropped the addend) the sums
// run on it in i32 lanes (`da`); else on the i16x8 dot with i16 lanes widened per group. The
// integer sums are the same, so are the outputs.
import { cNib, dotAdd } from "./features";
import { storeQuad } from "./matmul_q8il";
import { hsum, madd } from "./simd";
import { streamGap } from "./streams";

/** Bytes from one 128-column group of a row to the next (the quad tile). */
const GS: usize = 320;

/** Nibble bytes of row r's first group. */
@inline function rowQ(wq: usize, r: i32, cols: i32): usize {
  return wq + <usize>(r >> 2) * (<usize>(cols >> 7) * GS) + (<usize>(r & 3) << 6);
}

/** Scales of row r's first group (4 f32). */
@inline function rowD(wq: usize, r: i32, cols: i32): usize {
  return wq + <usize>(r >> 2) * (<usize>(cols >> 7) * GS) + 256 + (<usize>(r & 3) << 4);
}

/** Low and high nibbles of 16 weight bytes, each 0..15 (a 16-bit shift then the mask: one
 * instruction fewer than `i8x16.shr_u` on x64). */
@inline function lo4(w: v128, m: v128): v128 {
  return v128.and(w, m);
}
@inline function hi4(w: v128, m: v128): v128 {
  return v128.and(i16x8.shr_u(w, 4), m);
}

/** acc + the dot of split nibbles (lo, hi) with the low / high x chunks: i32 lanes by the dot-add
 * (`da`), else i16 lanes (pair sums ≤ 2·127·15). */
@inline export function acc2(da: bool, acc: v128, xl: v128, lo: v128, xh: v128, hi: v128): v128 {
  if (da) return i32x4.relaxed_dot_i8x16_i7x16_add_s(xh, hi, i32x4.relaxed_dot_i8x16_i7x16_add_s(xl, lo, acc));
  return i16x8.add(acc, i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(xl, lo), i16x8.relaxed_dot_i8x16_i7x16_s(xh, hi)));
}

/** acc2 of 16 nibble bytes. */
@inline export function nib(da: bool, acc: v128, w: v128, xl: v128, xh: v128, m: v128): v128 {
  return acc2(da, acc, xl, lo4(w, m), xh, hi4(w, m));
}

/** f32 accumulator step for one group: (i32 dots − 8·Σq) × (w scales · x scales) + acc. */
@inline function scaleAdd(da: bool, a: v128, xs: usize, ws: v128, xd: v128, acc: v128): v128 {
  const sums = da ? a : i32x4.extadd_pairwise_i16x8_s(a);
  return madd(f32x4.convert_i32x4_s(i32x4.sub(sums, i32x4.shl(v128.load(xs), 3))), f32x4.mul(ws, xd), acc);
}

/** One row × one x row. wq/wd: the row's first group (rowQ/rowD); x8: [cols] i8 (interleaved);
 * xd, xs: [cols / 32] f32 / i32. i16 lanes stay below 8 · 2·127·15 = 30480. */
@inline function ilRow(da: bool, wq: usize, wd: usize, x8: usize, xd: usize, xs: usize, nb: i32): f32 {
  const m = cNib;
  let acc = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = x8 + (<usize>g << 5);
    let a = i16x8.splat(0);
    for (let j: usize = 0; j < 64; j += 16) a = nib(da, a, v128.load(wp + j), v128.load(xp + j), v128.load(xp + j + 64), m);
    const o = <usize>g << 2;
    acc = scaleAdd(da, a, xs + o, v128.load(dp), v128.load(xd + o), acc);
  }
  return hsum(acc);
}

/** The four rows of a quad × one x row (decode). wq: the quad's first byte; y: row 0's output (rows
 * 1..3 follow); bias: row 0's bias or 0. Same values as ilRow. */
@inline function quadRow(da: bool, wq: usize, x8: usize, xd: usize, xs: usize, nb: i32, y: usize, bias: usize): void {
  const m = cNib;
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let wp = wq;
  for (let g = 0; g < nb; g += 4, wp += GS) {
    const xp = x8 + (<usize>g << 5);
    let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
    for (let j: usize = 0; j < 64; j += 16) {
      const xl = v128.load(xp + j), xh = v128.load(xp + j + 64);
      a0 = nib(da, a0, v128.load(wp + j), xl, xh, m);
      a1 = nib(da, a1, v128.load(wp + 64 + j), xl, xh, m);
      a2 = nib(da, a2, v128.load(wp + 128 + j), xl, xh, m);
      a3 = nib(da, a3, v128.load(wp + 192 + j), xl, xh, m);
    }
    const o = <usize>g << 2, dp = wp + 256;
    const xdv = v128.load(xd + o);
    f0 = scaleAdd(da, a0, xs + o, v128.load(dp), xdv, f0);
    f1 = scaleAdd(da, a1, xs + o, v128.load(dp + 16), xdv, f1);
    f2 = scaleAdd(da, a2, xs + o, v128.load(dp + 32), xdv, f2);
    f3 = scaleAdd(da, a3, xs + o, v128.load(dp + 48), xdv, f3);
  }
  storeQuad(y, bias, f0, f1, f2, f3);
}

/** Four quads (wA .. wD: each one's first byte, far apart) × one x row (`da`: on the dot-add), their groups
 * read in turn: four streams in flight instead of one (assembly/streams.ts). Each row's value is
 * quadRow's. Written out per quad (x loaded once per quad): see matmul_q8il_dot.ts quad4. */
@inline function quad4(da: bool, wA: usize, wB: usize, wC: usize, wD: usize, x8: usize, xd: usize, xs: usize, nb: i32, yA: usize, yB: usize, yC: usize, yD: usize, bA: usize, bB: usize, bC: usize, bD: usize): void {
  const m = cNib;
  let A0 = f32x4.splat(0), A1 = f32x4.splat(0), A2 = f32x4.splat(0), A3 = f32x4.splat(0);
  let B0 = f32x4.splat(0), B1 = f32x4.splat(0), B2 = f32x4.splat(0), B3 = f32x4.splat(0);
  let C0 = f32x4.splat(0), C1 = f32x4.splat(0), C2 = f32x4.splat(0), C3 = f32x4.splat(0);
  let D0 = f32x4.splat(0), D1 = f32x4.splat(0), D2 = f32x4.splat(0), D3 = f32x4.splat(0);
  for (let g = 0, go: usize = 0; g < nb; g += 4, go += GS) {
    const xp = x8 + (<usize>g << 5), o = <usize>g << 2;
    const xdv = v128.load(xd + o);
    {
      const wp = wA + go;
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const xl = v128.load(xp + j), xh = v128.load(xp + j + 64);
        a0 = nib(da, a0, v128.load(wp + j), xl, xh, m);
        a1 = nib(da, a1, v128.load(wp + 64 + j), xl, xh, m);
        a2 = nib(da, a2, v128.load(wp + 128 + j), xl, xh, m);
        a3 = nib(da, a3, v128.load(wp + 192 + j), xl, xh, m);
      }
      const dp = wp + 256;
      A0 = scaleAdd(da, a0, xs + o, v128.load(dp), xdv, A0);
      A1 = scaleAdd(da, a1, xs + o, v128.load(dp + 16), xdv, A1);
      A2 = scaleAdd(da, a2, xs + o, v128.load(dp + 32), xdv, A2);
      A3 = scaleAdd(da, a3, xs + o, v128.load(dp + 48), xdv, A3);
    }
    {
      const wp = wB + go;
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const xl = v128.load(xp + j), xh = v128.load(xp + j + 64);
        a0 = nib(da, a0, v128.load(wp + j), xl, xh, m);
        a1 = nib(da, a1, v128.load(wp + 64 + j), xl, xh, m);
        a2 = nib(da, a2, v128.load(wp + 128 + j), xl, xh, m);
        a3 = nib(da, a3, v128.load(wp + 192 + j), xl, xh, m);
      }
      const dp = wp + 256;
      B0 = scaleAdd(da, a0, xs + o, v128.load(dp), xdv, B0);
      B1 = scaleAdd(da, a1, xs + o, v128.load(dp + 16), xdv, B1);
      B2 = scaleAdd(da, a2, xs + o, v128.load(dp + 32), xdv, B2);
      B3 = scaleAdd(da, a3, xs + o, v128.load(dp + 48), xdv, B3);
    }
    {
      const wp = wC + go;
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const xl = v128.load(xp + j), xh = v128.load(xp + j + 64);
        a0 = nib(da, a0, v128.load(wp + j), xl, xh, m);
        a1 = nib(da, a1, v128.load(wp + 64 + j), xl, xh, m);
        a2 = nib(da, a2, v128.load(wp + 128 + j), xl, xh, m);
        a3 = nib(da, a3, v128.load(wp + 192 + j), xl, xh, m);
      }
      const dp = wp + 256;
      C0 = scaleAdd(da, a0, xs + o, v128.load(dp), xdv, C0);
      C1 = scaleAdd(da, a1, xs + o, v128.load(dp + 16), xdv, C1);
      C2 = scaleAdd(da, a2, xs + o, v128.load(dp + 32), xdv, C2);
      C3 = scaleAdd(da, a3, xs + o, v128.load(dp + 48), xdv, C3);
    }
    {
      const wp = wD + go;
      let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
      for (let j: usize = 0; j < 64; j += 16) {
        const xl = v128.load(xp + j), xh = v128.load(xp + j + 64);
        a0 = nib(da, a0, v128.load(wp + j), xl, xh, m);
        a1 = nib(da, a1, v128.load(wp + 64 + j), xl, xh, m);
        a2 = nib(da, a2, v128.load(wp + 128 + j), xl, xh, m);
        a3 = nib(da, a3, v128.load(wp + 192 + j), xl, xh, m);
      }
      const dp = wp + 256;
      D0 = scaleAdd(da, a0, xs + o, v128.load(dp), xdv, D0);
      D1 = scaleAdd(da, a1, xs + o, v128.load(dp + 16), xdv, D1);
      D2 = scaleAdd(da, a2, xs + o, v128.load(dp + 32), xdv, D2);
      D3 = scaleAdd(da, a3, xs + o, v128.load(dp + 48), xdv, D3);
    }
  }
  storeQuad(yA, bA, A0, A1, A2, A3);
  storeQuad(yB, bB, B0, B1, B2, B3);
  storeQuad(yC, bC, C0, C1, C2, C3);
  storeQuad(yD, bD, D0, D1, D2, D3);
}

/** One row × four x rows (prefill): each 16-byte weight chunk is split into nibbles once for all
 * four rows. Same values as ilRow. x8, xd, xs: the first x row's (rows `xrow` / `srow` bytes apart);
 * y: the first output (rows `ys` apart). */
@inline function ilTile4(da: bool, wq: usize, wd: usize, x8: usize, xrow: usize, xd: usize, xs: usize, srow: usize, nb: i32, y: usize, ys: usize, b: f32): void {
  const m = cNib;
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = x8 + (<usize>g << 5);
    let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0), a3 = i16x8.splat(0);
    for (let j: usize = 0; j < 64; j += 16) {
      const w = v128.load(wp + j);
      const lo = lo4(w, m), hi = hi4(w, m);
      const p = xp + j;
      a0 = acc2(da, a0, v128.load(p), lo, v128.load(p + 64), hi);
      a1 = acc2(da, a1, v128.load(p + xrow), lo, v128.load(p + xrow + 64), hi);
      a2 = acc2(da, a2, v128.load(p + 2 * xrow), lo, v128.load(p + 2 * xrow + 64), hi);
      a3 = acc2(da, a3, v128.load(p + 3 * xrow), lo, v128.load(p + 3 * xrow + 64), hi);
    }
    const o = <usize>g << 2;
    const wv = v128.load(dp);
    f0 = scaleAdd(da, a0, xs + o, wv, v128.load(xd + o), f0);
    f1 = scaleAdd(da, a1, xs + srow + o, wv, v128.load(xd + srow + o), f1);
    f2 = scaleAdd(da, a2, xs + 2 * srow + o, wv, v128.load(xd + 2 * srow + o), f2);
    f3 = scaleAdd(da, a3, xs + 3 * srow + o, wv, v128.load(xd + 3 * srow + o), f3);
  }
  store<f32>(y, hsum(f0) + b);
  store<f32>(y + ys, hsum(f1) + b);
  store<f32>(y + 2 * ys, hsum(f2) + b);
  store<f32>(y + 3 * ys, hsum(f3) + b);
}

/** Rows r, r + 1 of one quad (r even; wq/wd: row r's first group, row r + 1's 64 / 16 bytes on) ×
 * `nx` (1..3, a constant) x rows: each x chunk is loaded once for both weight rows, each weight
 * chunk split once for all the x rows. Same values as ilRow. Arguments as ilTile4; row r + 1's
 * outputs are 4 bytes after row r's. Prefill runs nx = 3: with four x rows, as before, (eight i32
 * accumulators, four unpacked chunks, two x chunks and the mask) V8 spilled four accumulators, whose
 * chains then ran through store forwarding (Q4_0 GEMM 2048², n = 63, 1 thread, AMD Zen 5: 123 →
 * 151 GOP/s with three). Constant offsets go in load immediates (V8 folds them into the address). */
@inline function ilTile2xN(nx: i32, da: bool, wq: usize, wd: usize, x8: usize, xrow: usize, xd: usize, xs: usize, srow: usize, nb: i32, y: usize, ys: usize, b0: f32, b1: f32): void {
  const m = cNib;
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0);
  let h0 = f32x4.splat(0), h1 = f32x4.splat(0), h2 = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = x8 + (<usize>g << 5);
    let a0 = i16x8.splat(0), a1 = i16x8.splat(0), a2 = i16x8.splat(0);
    let c0 = i16x8.splat(0), c1 = i16x8.splat(0), c2 = i16x8.splat(0);
    for (let j: usize = 0; j < 64; j += 16) {
      const wj = wp + j;
      const w = v128.load(wj), v = v128.load(wj, 64);
      const wl = lo4(w, m), wh = hi4(w, m), vl = lo4(v, m), vh = hi4(v, m);
      let p = xp + j;
      let xl = v128.load(p), xh = v128.load(p, 64);
      a0 = acc2(da, a0, xl, wl, xh, wh);
      c0 = acc2(da, c0, xl, vl, xh, vh);
      if (nx >= 2) {
        p += xrow; xl = v128.load(p); xh = v128.load(p, 64);
        a1 = acc2(da, a1, xl, wl, xh, wh);
        c1 = acc2(da, c1, xl, vl, xh, vh);
      }
      if (nx >= 3) {
        p += xrow; xl = v128.load(p); xh = v128.load(p, 64);
        a2 = acc2(da, a2, xl, wl, xh, wh);
        c2 = acc2(da, c2, xl, vl, xh, vh);
      }
    }
    const o = <usize>g << 2;
    const wv = v128.load(dp), vv = v128.load(dp, 16);
    let xdv = v128.load(xd + o);
    f0 = scaleAdd(da, a0, xs + o, wv, xdv, f0);
    h0 = scaleAdd(da, c0, xs + o, vv, xdv, h0);
    if (nx >= 2) {
      xdv = v128.load(xd + srow + o);
      f1 = scaleAdd(da, a1, xs + srow + o, wv, xdv, f1);
      h1 = scaleAdd(da, c1, xs + srow + o, vv, xdv, h1);
    }
    if (nx >= 3) {
      xdv = v128.load(xd + 2 * srow + o);
      f2 = scaleAdd(da, a2, xs + 2 * srow + o, wv, xdv, f2);
      h2 = scaleAdd(da, c2, xs + 2 * srow + o, vv, xdv, h2);
    }
  }
  store<f32>(y, hsum(f0) + b0);
  store<f32>(y + 4, hsum(h0) + b1);
  if (nx >= 2) {
    store<f32>(y + ys, hsum(f1) + b0);
    store<f32>(y + ys + 4, hsum(h1) + b1);
  }
  if (nx >= 3) {
    store<f32>(y + 2 * ys, hsum(f2) + b0);
    store<f32>(y + 2 * ys + 4, hsum(h2) + b1);
  }
}

/** Row r alone × every x row (rows outside whole quads of the range). */
@inline function singleRow(da: bool, wq: usize, x8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2, srow = <usize>nb << 2;
  const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
  const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = y + (<usize>r << 2);
  let i = 0;
  for (; i + 4 <= n; i += 4) ilTile4(da, wqr, wdr, x8 + <usize>i * cols, <usize>cols, xd + <usize>i * srow, xs + <usize>i * srow, srow, nb, yr + <usize>i * ys, ys, b);
  for (; i < n; i++) store<f32>(yr + <usize>i * ys, ilRow(da, wqr, wdr, x8 + <usize>i * cols, xd + <usize>i * srow, xs + <usize>i * srow, nb) + b);
}

/** Rows `r0 .. r1` of y = x8 · Wᵀ (+ bias) for interleaved Q4_0 weights (nibbles and scales both in
 * the quad tiles at wq). x8: [n, cols] i8 (interleaved); xd, xs: [n, cols / 32] f32 / i32 (Σq);
 * y: [n, rows] f32; bias: [rows] f32 or 0. cols: a multiple of 128; rows: a multiple of 4. */
export function matmulQ4ILRows(wq: usize, x8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if (dotAdd) rowsILDot(wq, x8, xd, xs, y, bias, n, rows, cols, r0, r1);
  else rowsIL16(wq, x8, xd, xs, y, bias, n, rows, cols, r0, r1);
}

// The two variants are separate functions on purpose: with `if (dotAdd) rowsIL(true, …) else
// rowsIL(false, …)` in one body, Binaryen (asc -O3) merged the two inlined copies into one that
// tests a runtime flag, turning each `acc2` into a select that computed both the dot-add and the
// i16 dots (seen in the disassembly: vpdpbusd and vpmaddubsw side by side). Apart, each is
// specialised: Q4_0 prefill GEMM 3072×1024×256, 2 threads, 70–73 → 95–97 GOP/s (Node 24, VNNI).
function rowsILDot(wq: usize, x8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsIL(true, wq, x8, xd, xs, y, bias, n, rows, cols, r0, r1);
}
function rowsIL16(wq: usize, x8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  rowsIL(false, wq, x8, xd, xs, y, bias, n, rows, cols, r0, r1);
}

@inline function rowsIL(da: bool, wq: usize, x8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2, srow = <usize>nb << 2;
  let r = r0;
  for (; r < r1 && (r & 3) != 0; r++) singleRow(da, wq, x8, xd, xs, y, bias, n, rows, cols, r);
  if (n < 4) {
    // Decode and small batches: the four rows of a quad per pass over each x row, four quads a
    // quarter of the range apart at once (assembly/streams.ts). The stream tile runs on the
    // dot-add where there is one: from DRAM on the Intel Xeon it measured the same as the i16
    // dots, but AMD EPYC Zen 5 reads 35-45 GB/s on one thread and there the kernel is the bound
    // (3072×1024 in L2, 1 thread: 26-27 → 32-33 GB/s of weights; Qwen3-1.7B Q4_0 decode, builds
    // alternated: 24.4 / 22.9 / 19.4 → 25.3 / 23.6 / 24.8 tok/s).
    const d = streamGap(n, r, r1, 4);
    if (d != 0) {
      const bo: usize = bias == 0 ? 0 : <usize>d << 2, yo = <usize>d << 2;
      for (let e = r + d; r < e; r += 4) {
        const yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
        quad4(da, rowQ(wq, r, cols), rowQ(wq, r + d, cols), rowQ(wq, r + 2 * d, cols), rowQ(wq, r + 3 * d, cols), x8, xd, xs, nb,
          yr, yr + yo, yr + 2 * yo, yr + 3 * yo, br, br + bo, br + 2 * bo, br + 3 * bo);
      }
      r += 3 * d;
    }
    for (; r + 4 <= r1; r += 4) {
      const wqr = rowQ(wq, r, cols), yr = y + (<usize>r << 2);
      const br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      for (let i = 0; i < n; i++) quadRow(da, wqr, x8 + <usize>i * cols, xd + <usize>i * srow, xs + <usize>i * srow, nb, yr + <usize>i * ys, br);
    }
  } else {
    // x tiles outer, row pairs inner: the tile's x rows stay in L1 while this thread's rows stream
    // from L2 (rows outer re-read all n x rows per pair; matmul_ksb.ts measured 77 → 100 GOP/s).
    const r2 = r, re = r + ((r1 - r) & ~1);
    for (let i = 0; i < n; ) {
      const nx = min(3, n - i); // tiles of three x rows, then one of the last one or two
      const xo = x8 + <usize>i * cols, xdo = xd + <usize>i * srow, xso = xs + <usize>i * srow, yi = y + <usize>i * ys;
      for (r = r2; r < re; r += 2) {
        const b0: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
        const b1: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
        const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = yi + (<usize>r << 2);
        if (nx == 3) ilTile2xN(3, da, wqr, wdr, xo, <usize>cols, xdo, xso, srow, nb, yr, ys, b0, b1);
        else if (nx == 2) ilTile2xN(2, da, wqr, wdr, xo, <usize>cols, xdo, xso, srow, nb, yr, ys, b0, b1);
        else ilTile2xN(1, da, wqr, wdr, xo, <usize>cols, xdo, xso, srow, nb, yr, ys, b0, b1);
      }
      i += nx;
    }
    r = re;
  }
  for (; r < r1; r++) singleRow(da, wq, x8, xd, xs, y, bias, n, rows, cols, r);
}
