// Q8_0 in the interleaved layout (Q_Q8_0_IL, assembly/matmul_q.ts): each group of four blocks is
// 128 weight bytes where byte 8·j + 2·b + t is byte 2·j + t of block b, and the i16 x rows use the
// matching order (quantizeQ8 with `il & 2`), so `i32x4.dot_i16x8_s` of 8 weights (sign-extended on
// load) with 8 x values adds two products of block b into i32 lane b. Per group the four blocks'
// exact integer sums are converted and scaled at once: f32x4 (w scales · x scales) × i32x4 sums.
// Prefill runs tiles of 2 weight rows × 4 x rows (each weight chunk widened once for four x rows, each
// x chunk loaded once for two weight rows). Lanes are reduced once per output, so every value is
// independent of tiling and threading.
import { hsum, madd } from "./simd";

/** i32x4 of one group's four block dots (lane b = block b): weights at `wp` (128 i8), x at `xp`
 * (128 i16). |lane| ≤ 32 · 127 · 127 < 2^19: exact. */
@inline function groupDot(wp: usize, xp: usize): v128 {
  let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
  for (let j: usize = 0; j < 128; j += 16) {
    s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load8x8_s(wp + j), v128.load(xp + (j << 1))));
    s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load8x8_s(wp + j + 8), v128.load(xp + (j << 1) + 16)));
  }
  return i32x4.add(s0, s1);
}

/** One interleaved Q8_0 row × one x row.
 * wq: [cols] i8 (interleaved); wd: [cols / 32] f32; xq: [cols] i16 (interleaved); xd: [cols / 32] f32. */
@inline function ilRow8(wq: usize, wd: usize, xq: usize, xd: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let g = 0; g < nb; g += 4) {
    const o = <usize>g << 2; // 4 blocks × 4 bytes of f32
    const s = groupDot(wq + (<usize>g << 5), xq + (<usize>g << 6));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(wd + o), v128.load(xd + o)), acc);
  }
  return hsum(acc);
}

/** One interleaved Q8_0 row × four x rows (prefill): each 8-byte weight chunk is loaded and widened
 * once for all four rows. Integer sums are exact and the float steps are ilRow8's, so every value
 * equals ilRow8's. xq, xd: the first x row's (rows `xrow` / `srow` bytes apart); y: the first
 * output (rows `ys` apart). */
@inline function ilTile4x8(wq: usize, wd: usize, xq: usize, xrow: usize, xd: usize, srow: usize, nb: i32, y: usize, ys: usize, b: f32): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  for (let g = 0; g < nb; g += 4) {
    const wp = wq + (<usize>g << 5), xp = xq + (<usize>g << 6);
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
    const wv = v128.load(wd + o);
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

/** Two interleaved Q8_0 rows (`wrow` / `drow` bytes apart) × four x rows: each x chunk is loaded
 * once for both weight rows, each weight chunk once for all four x rows. Same values as ilRow8.
 * Arguments as ilTile4x8; outputs of the second weight row are 4 bytes after the first's. */
@inline function ilTile2x4x8(wq: usize, wrow: usize, wd: usize, drow: usize, xq: usize, xrow: usize, xd: usize, srow: usize, nb: i32, y: usize, ys: usize, b0: f32, b1: f32): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let h0 = f32x4.splat(0), h1 = f32x4.splat(0), h2 = f32x4.splat(0), h3 = f32x4.splat(0);
  for (let g = 0; g < nb; g += 4) {
    const wp = wq + (<usize>g << 5), xp = xq + (<usize>g << 6);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
    for (let j: usize = 0; j < 128; j += 8) {
      const w = v128.load8x8_s(wp + j), v = v128.load8x8_s(wp + wrow + j);
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
    const wv = v128.load(wd + o), vv = v128.load(wd + drow + o);
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

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for interleaved Q8_0 weights.
 * wq: [rows, cols] i8 (interleaved); wd: [rows, cols / 32] f32; xq: [n, cols] i16 (interleaved);
 * xd: [n, cols / 32] f32; y: [n, rows] f32; bias: [rows] f32 or 0. cols: a multiple of 128. */
export function matmulQ8ILRows(wq: usize, wd: usize, xq: usize, xd: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2;
  const xrow = <usize>cols << 1, srow = <usize>nb << 2;
  let r = r0;
  if (n >= 4) {
    for (; r + 2 <= r1; r += 2) {
      const b0: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
      const b1: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2) + 4);
      const wqr = wq + <usize>r * cols, wdr = wd + <usize>r * srow, yr = y + (<usize>r << 2);
      let i = 0;
      for (; i + 4 <= n; i += 4) ilTile2x4x8(wqr, <usize>cols, wdr, srow, xq + <usize>i * xrow, xrow, xd + <usize>i * srow, srow, nb, yr + <usize>i * ys, ys, b0, b1);
      for (; i < n; i++) {
        store<f32>(yr + <usize>i * ys, ilRow8(wqr, wdr, xq + <usize>i * xrow, xd + <usize>i * srow, nb) + b0);
        store<f32>(yr + <usize>i * ys + 4, ilRow8(wqr + <usize>cols, wdr + srow, xq + <usize>i * xrow, xd + <usize>i * srow, nb) + b1);
      }
    }
  }
  for (; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wqr = wq + <usize>r * cols;
    const wdr = wd + <usize>r * srow;
    const yr = y + (<usize>r << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) ilTile4x8(wqr, wdr, xq + <usize>i * xrow, xrow, xd + <usize>i * srow, srow, nb, yr + <usize>i * ys, ys, b);
    for (; i < n; i++) store<f32>(yr + <usize>i * ys, ilRow8(wqr, wdr, xq + <usize>i * xrow, xd + <usize>i * srow, nb) + b);
  }
}
