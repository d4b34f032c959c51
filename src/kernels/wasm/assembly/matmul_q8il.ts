// Q8_0 in the interleaved layout (Q_Q8_0_IL, see repack.ts). Rows go in quads (rows % 4 = 0); per
// quad, each group of four blocks (128 columns) is one 576-byte tile: the four rows' 128 quant bytes
// back to back, then their 4 × 4 f32 scales. Within a row's 128 bytes, byte 8·j + 2·b + t is byte
// 2·j + t of block b, and the i16 x rows use the matching order (quantizeQ8 with `il` bit 2), so
// `i32x4.dot_i16x8_s` of 8 weights (sign-extended on load) with 8 x values adds two products of
// block b into i32 lane b. Per group the four blocks' exact integer sums are converted and scaled at
// once: f32x4 (w scales · x scales) × i32x4 sums.
//
// A quad is one contiguous stream, so decode reads four rows per pass over x (each x chunk loaded
// once for four rows) without splitting the hardware prefetcher's stream into 1 KiB pieces (reading
// four row-major rows at once halves the DRAM rate). Prefill runs tiles of 2 weight rows × 4 x rows.
// Lanes are reduced once per output in the same order everywhere, so every value is independent of
// tiling and threading.
import { hsum, madd } from "./simd";
import { streamGap } from "./streams";

/** Bytes from one 128-column group of a row to the next (the quad tile). */
export const GS: usize = 576;

/** Quant bytes of row r's first group. */
@inline export function rowQ(wq: usize, r: i32, cols: i32): usize {
  return wq + <usize>(r >> 2) * (<usize>(cols >> 7) * GS) + (<usize>(r & 3) << 7);
}

/** Scales of row r's first group (4 f32). */
@inline export function rowD(wq: usize, r: i32, cols: i32): usize {
  return wq + <usize>(r >> 2) * (<usize>(cols >> 7) * GS) + 512 + (<usize>(r & 3) << 4);
}

/** One row × one x row. wq/wd: the row's first group (rowQ/rowD); xq: [cols] i16 (interleaved);
 * xd: [cols / 32] f32. */
@inline function ilRow8(wq: usize, wd: usize, xq: usize, xd: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = xq + (<usize>g << 6);
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
    for (let j: usize = 0; j < 128; j += 16) {
      s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load8x8_s(wp + j), v128.load(xp + (j << 1))));
      s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load8x8_s(wp + j + 8), v128.load(xp + (j << 1) + 16)));
    }
    acc = madd(f32x4.convert_i32x4_s(i32x4.add(s0, s1)), f32x4.mul(v128.load(dp), v128.load(xd + (<usize>g << 2))), acc);
  }
  return hsum(acc);
}

/** The four rows of a quad × one x row (decode). wq: the quad's first byte; y: row 0's output
 * (rows 1..3 follow); bias: row 0's bias or 0. Same values as ilRow8. */
@inline function quadRow(wq: usize, xq: usize, xd: usize, nb: i32, y: usize, bias: usize): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let wp = wq;
  for (let g = 0; g < nb; g += 4, wp += GS) {
    const xp = xq + (<usize>g << 6);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let j: usize = 0; j < 128; j += 8) {
      const x = v128.load(xp + (j << 1));
      const w = wp + j;
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(w), x));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(w + 128), x));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w + 256), x));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w + 384), x));
    }
    const xs = v128.load(xd + (<usize>g << 2)), dp = wp + 512;
    f0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xs), f0);
    f1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xs), f1);
    f2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xs), f2);
    f3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xs), f3);
  }
  storeQuad(y, bias, f0, f1, f2, f3);
}

/** Four quads (wA .. wD: each one's first byte, far apart) × one x row, their groups read in turn:
 * four streams in flight instead of one (assembly/streams.ts). Each row's value is quadRow's. Written out per quad (x loaded once per quad): see matmul_q8il_dot.ts quad4. */
@inline function quad4(wA: usize, wB: usize, wC: usize, wD: usize, xq: usize, xd: usize, nb: i32, yA: usize, yB: usize, yC: usize, yD: usize, bA: usize, bB: usize, bC: usize, bD: usize): void {
  let A0 = f32x4.splat(0), A1 = f32x4.splat(0), A2 = f32x4.splat(0), A3 = f32x4.splat(0);
  let B0 = f32x4.splat(0), B1 = f32x4.splat(0), B2 = f32x4.splat(0), B3 = f32x4.splat(0);
  let C0 = f32x4.splat(0), C1 = f32x4.splat(0), C2 = f32x4.splat(0), C3 = f32x4.splat(0);
  let D0 = f32x4.splat(0), D1 = f32x4.splat(0), D2 = f32x4.splat(0), D3 = f32x4.splat(0);
  for (let g = 0, go: usize = 0; g < nb; g += 4, go += GS) {
    const xp = xq + (<usize>g << 6), xs = v128.load(xd + (<usize>g << 2));
    {
      const wp = wA + go;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let j: usize = 0; j < 128; j += 8) {
        const x = v128.load(xp + (j << 1)), w = wp + j;
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(w), x));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(w + 128), x));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w + 256), x));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w + 384), x));
      }
      const dp = wp + 512;
      A0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xs), A0);
      A1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xs), A1);
      A2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xs), A2);
      A3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xs), A3);
    }
    {
      const wp = wB + go;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let j: usize = 0; j < 128; j += 8) {
        const x = v128.load(xp + (j << 1)), w = wp + j;
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(w), x));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(w + 128), x));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w + 256), x));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w + 384), x));
      }
      const dp = wp + 512;
      B0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xs), B0);
      B1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xs), B1);
      B2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xs), B2);
      B3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xs), B3);
    }
    {
      const wp = wC + go;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let j: usize = 0; j < 128; j += 8) {
        const x = v128.load(xp + (j << 1)), w = wp + j;
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(w), x));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(w + 128), x));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w + 256), x));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w + 384), x));
      }
      const dp = wp + 512;
      C0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xs), C0);
      C1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xs), C1);
      C2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xs), C2);
      C3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xs), C3);
    }
    {
      const wp = wD + go;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let j: usize = 0; j < 128; j += 8) {
        const x = v128.load(xp + (j << 1)), w = wp + j;
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load8x8_s(w), x));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load8x8_s(w + 128), x));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load8x8_s(w + 256), x));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load8x8_s(w + 384), x));
      }
      const dp = wp + 512;
      D0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xs), D0);
      D1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xs), D1);
      D2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xs), D2);
      D3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xs), D3);
    }
  }
  storeQuad(yA, bA, A0, A1, A2, A3);
  storeQuad(yB, bB, B0, B1, B2, B3);
  storeQuad(yC, bC, C0, C1, C2, C3);
  storeQuad(yD, bD, D0, D1, D2, D3);
}

/** A quad's four outputs (lane sums of f0..f3) at y, plus row 0's bias at `bias` and the next
 * three after it (0: none). */
@inline export function storeQuad(y: usize, bias: usize, f0: v128, f1: v128, f2: v128, f3: v128): void {
  const b = bias != 0;
  store<f32>(y, hsum(f0) + (b ? load<f32>(bias) : 0));
  store<f32>(y + 4, hsum(f1) + (b ? load<f32>(bias + 4) : 0));
  store<f32>(y + 8, hsum(f2) + (b ? load<f32>(bias + 8) : 0));
  store<f32>(y + 12, hsum(f3) + (b ? load<f32>(bias + 12) : 0));
}

/** One row × four x rows (prefill): each 8-byte weight chunk is loaded and widened once for all four
 * rows. Same values as ilRow8. xq, xd: the first x row's (rows `xrow` / `srow` bytes apart); y: the
 * first output (rows `ys` apart). */
@inline function ilTile4x8(wq: usize, wd: usize, xq: usize, xrow: usize, xd: usize, srow: usize, nb: i32, y: usize, ys: usize, b: f32): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = xq + (<usize>g << 6);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let j: usize = 0; j < 128; j += 8) {
      const w = v128.load8x8_s(wp + j);
      const p = xp + (j << 1);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(w, v128.load(p)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(w, v128.load(p + xrow)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(w, v128.load(p + 2 * xrow)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(w, v128.load(p + 3 * xrow)));
    }
    const o = <usize>g << 2;
    const wv = v128.load(dp);
    f0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(wv, v128.load(xd + o)), f0);
    f1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(wv, v128.load(xd + srow + o)), f1);
    f2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(wv, v128.load(xd + 2 * srow + o)), f2);
    f3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(wv, v128.load(xd + 3 * srow + o)), f3);
  }
  store<f32>(y, hsum(f0) + b);
  store<f32>(y + ys, hsum(f1) + b);
  store<f32>(y + 2 * ys, hsum(f2) + b);
  store<f32>(y + 3 * ys, hsum(f3) + b);
}

/** Rows r, r + 1 of one quad (r even; wq/wd: row r's first group, row r + 1's 128 / 16 bytes on)
 * × four x rows: each x chunk is loaded once for both weight rows, each weight chunk once for all
 * four x rows. Same values as ilRow8. Arguments as ilTile4x8; row r + 1's outputs are 4 bytes after
 * row r's. */
@inline function ilTile2x4x8(wq: usize, wd: usize, xq: usize, xrow: usize, xd: usize, srow: usize, nb: i32, y: usize, ys: usize, b0: f32, b1: f32): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let h0 = f32x4.splat(0), h1 = f32x4.splat(0), h2 = f32x4.splat(0), h3 = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = xq + (<usize>g << 6);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
    for (let j: usize = 0; j < 128; j += 8) {
      const w = v128.load8x8_s(wp + j), v = v128.load8x8_s(wp + 128 + j);
      const p = xp + (j << 1);
      let x = v128.load(p);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(w, x));
      c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v, x));
      x = v128.load(p + xrow);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(w, x));
      c1 = i32x4.add(c1, i32x4.dot_i16x8_s(v, x));
      x = v128.load(p + 2 * xrow);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(w, x));
      c2 = i32x4.add(c2, i32x4.dot_i16x8_s(v, x));
      x = v128.load(p + 3 * xrow);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(w, x));
      c3 = i32x4.add(c3, i32x4.dot_i16x8_s(v, x));
    }
    const o = <usize>g << 2;
    const wv = v128.load(dp), vv = v128.load(dp + 16);
    let xs = v128.load(xd + o);
    f0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(wv, xs), f0);
    h0 = madd(f32x4.convert_i32x4_s(c0), f32x4.mul(vv, xs), h0);
    xs = v128.load(xd + srow + o);
    f1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(wv, xs), f1);
    h1 = madd(f32x4.convert_i32x4_s(c1), f32x4.mul(vv, xs), h1);
    xs = v128.load(xd + 2 * srow + o);
    f2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(wv, xs), f2);
    h2 = madd(f32x4.convert_i32x4_s(c2), f32x4.mul(vv, xs), h2);
    xs = v128.load(xd + 3 * srow + o);
    f3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(wv, xs), f3);
    h3 = madd(f32x4.convert_i32x4_s(c3), f32x4.mul(vv, xs), h3);
  }
  store<f32>(y, hsum(f0) + b0);
  store<f32>(y + 4, hsum(h0) + b1);
  store<f32>(y + ys, hsum(f1) + b0);
  store<f32>(y + ys + 4, hsum(h1) + b1);
  store<f32>(y + 2 * ys, hsum(f2) + b0);
  store<f32>(y + 2 * ys + 4, hsum(h2) + b1);
  store<f32>(y + 3 * ys, hsum(f3) + b0);
  store<f32>(y + 3 * ys + 4, hsum(h3) + b1);
}

/** Row r alone × every x row (rows outside whole quads of the range). */
@inline function singleRow(wq: usize, xq: usize, xd: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2, xrow = <usize>cols << 1, srow = <usize>nb << 2;
  const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
  const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = y + (<usize>r << 2);
  let i = 0;
  for (; i + 4 <= n; i += 4) ilTile4x8(wqr, wdr, xq + <usize>i * xrow, xrow, xd + <usize>i * srow, srow, nb, yr + <usize>i * ys, ys, b);
  for (; i < n; i++) store<f32>(yr + <usize>i * ys, ilRow8(wqr, wdr, xq + <usize>i * xrow, xd + <usize>i * srow, nb) + b);
}

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for interleaved Q8_0 weights (quants and scales both in
 * the quad tiles at wq). xq: [n, cols] i16 (interleaved); xd: [n, cols / 32] f32; y: [n, rows] f32;
 * bias: [rows] f32 or 0. cols: a multiple of 128; rows: a multiple of 4. */
export function matmulQ8ILRows(wq: usize, xq: usize, xd: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2;
  const xrow = <usize>cols << 1, srow = <usize>nb << 2;
  let r = r0;
  for (; r < r1 && (r & 3) != 0; r++) singleRow(wq, xq, xd, y, bias, n, rows, cols, r);
  if (n < 4) {
    // Decode: four quads a quarter of the range apart at once (assembly/streams.ts).
    const d = streamGap(n, r, r1, 4);
    if (d != 0) {
      const bo: usize = bias == 0 ? 0 : <usize>d << 2, yo = <usize>d << 2;
      for (let e = r + d; r < e; r += 4) {
        const yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
        quad4(rowQ(wq, r, cols), rowQ(wq, r + d, cols), rowQ(wq, r + 2 * d, cols), rowQ(wq, r + 3 * d, cols), xq, xd, nb,
          yr, yr + yo, yr + 2 * yo, yr + 3 * yo, br, br + bo, br + 2 * bo, br + 3 * bo);
      }
      r += 3 * d;
    }
    // Small batches, and rows the streams leave: the four rows of a quad per pass over each x row.
    for (; r + 4 <= r1; r += 4) {
      const wqr = rowQ(wq, r, cols), yr = y + (<usize>r << 2);
      const br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      for (let i = 0; i < n; i++) quadRow(wqr, xq + <usize>i * xrow, xd + <usize>i * srow, nb, yr + <usize>i * ys, br);
    }
  } else {
    // x tiles outer, row pairs inner (matmul_q4il.ts rowsIL says why).
    const r2 = r, re = r + ((r1 - r) & ~1);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const xr = xq + <usize>i * xrow, dr = xd + <usize>i * srow, yi = y + <usize>i * ys;
      for (r = r2; r < re; r += 2) {
        const b0: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
        const b1: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
        ilTile2x4x8(rowQ(wq, r, cols), rowD(wq, r, cols), xr, xrow, dr, srow, nb, yi + (<usize>r << 2), ys, b0, b1);
      }
    }
    for (; i < n; i++) {
      const xr = xq + <usize>i * xrow, dr = xd + <usize>i * srow, yi = y + <usize>i * ys;
      for (r = r2; r < re; r += 2) {
        const b0: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
        const b1: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
        const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = yi + (<usize>r << 2);
        store<f32>(yr, ilRow8(wqr, wdr, xr, dr, nb) + b0);
        store<f32>(yr + 4, ilRow8(wqr + 128, wdr + 16, xr, dr, nb) + b1);
      }
    }
    r = re;
  }
  for (; r < r1; r++) singleRow(wq, xq, xd, y, bias, n, rows, cols, r);
}
