// y[n, rows] = x[n, cols] · Wᵀ (+ bias) for float weights: f32, bf16 and f16 (IEEE half).
// Every (weight row, x row) pair accumulates one f32x4 over cols in order, then reduces the lanes
// and adds the scalar tail, so a value never depends on the tile that computed it (n = 1 and n = 7
// give identical rows; so do 1 and 2 threads).
// bf16 runs 8 columns per step (`bf16Step`): one 16-byte load gives the even columns (shl 16) and
// the odd ones (mask), x is split to match by two lane shuffles; lane j adds column 8g + 2j, then
// 8g + 2j + 1. Every tile uses that order (then 4-column steps and the scalar tail as the others).
import { cBf16Hi } from "./features";
import { hsum, madd } from "./simd";
import { streamGap } from "./streams";

// Storage kinds (the `kind` argument).
export const FLOAT_F32: i32 = 0;
export const FLOAT_BF16: i32 = 1;
export const FLOAT_F16: i32 = 2;

/** Four consecutive weights as f32x4. `p` points at element 0 of the four. */
@inline function load4(kind: i32, p: usize): v128 {
  if (kind == FLOAT_F32) return v128.load(p);
  const h = v128.load16x4_u(p); // [4] u32 lanes holding the 16-bit patterns
  if (kind == FLOAT_BF16) return i32x4.shl(h, 16);
  // f16 → f32: shift exponent+mantissa into place and rescale by 2^112 (exact for normals and
  // subnormals); exponent 31 (inf/NaN) gets the f32 all-ones exponent; then the sign.
  const mag = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(mag, f32x4.splat(5.192296858534828e33)); // 2^112
  const infnan = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  f = v128.or(f, v128.and(infnan, i32x4.splat(0x7f800000)));
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** One weight as f32 (scalar tail). */
@inline function load1(kind: i32, p: usize): f32 {
  if (kind == FLOAT_F32) return load<f32>(p);
  const h = <u32>load<u16>(p);
  if (kind == FLOAT_BF16) return reinterpret<f32>(h << 16);
  const e = (h >> 10) & 0x1f;
  const m = <f32>(h & 0x3ff);
  let v: f32;
  if (e == 0) v = m * 5.9604644775390625e-8; // 2^-24
  else if (e == 31) v = m == 0 ? Infinity : NaN;
  else v = (1 + m / 1024) * reinterpret<f32>((e - 15 + 127) << 23);
  return h & 0x8000 ? -v : v;
}

/** Columns the step loops cover: bf16 in 8-column steps, then (every kind) 4-column steps. */
@inline function body8(kind: i32, cols: i32): i32 {
  return kind == FLOAT_BF16 ? cols & ~7 : 0;
}

/** x columns c .. c + 8 at `p` split as (even, odd) columns, matching `bf16Step`'s weights. */
@inline function xEven(p: usize): v128 {
  return v128.shuffle<i32>(v128.load(p), v128.load(p + 16), 0, 2, 4, 6);
}
@inline function xOdd(p: usize): v128 {
  return v128.shuffle<i32>(v128.load(p), v128.load(p + 16), 1, 3, 5, 7);
}

/** acc + 8 bf16 weights at `wp` (one 16-byte load; i32 lane j holds columns 2j, 2j + 1) × x split
 * by xEven / xOdd: the even columns first, then the odd ones. */
@inline function bf16Step(wp: usize, xe: v128, xo: v128, acc: v128, hi: v128): v128 {
  const v = v128.load(wp);
  return madd(v128.and(v, hi), xo, madd(i32x4.shl(v, 16), xe, acc));
}

@inline function bytesPer(kind: i32): usize {
  return kind == FLOAT_F32 ? 4 : 2;
}

@inline function finish(kind: i32, acc: v128, w: usize, x: usize, body: i32, cols: i32): f32 {
  let s = hsum(acc);
  const eb = bytesPer(kind);
  for (let c = body; c < cols; c++) s += load1(kind, w + <usize>c * eb) * load<f32>(x + (<usize>c << 2));
  return s;
}

/** 2 weight rows × 4 x rows. */
@inline function tile2x4(kind: i32, w0: usize, w1: usize, x0: usize, xs: usize, cols: i32, y0: usize, ys: usize, b0: f32, b1: f32): void {
  const hi = cBf16Hi; // features.ts: not an inline constant
  const eb = bytesPer(kind);
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
  let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
  const body = cols & ~3, b8 = body8(kind, cols);
  for (let c = 0; c < b8; c += 8) {
    const wa = w0 + (<usize>c << 1), wb = w1 + (<usize>c << 1);
    const xp = x0 + (<usize>c << 2);
    let xe = xEven(xp), xo = xOdd(xp);
    a00 = bf16Step(wa, xe, xo, a00, hi); a10 = bf16Step(wb, xe, xo, a10, hi);
    xe = xEven(xp + xs); xo = xOdd(xp + xs);
    a01 = bf16Step(wa, xe, xo, a01, hi); a11 = bf16Step(wb, xe, xo, a11, hi);
    xe = xEven(xp + 2 * xs); xo = xOdd(xp + 2 * xs);
    a02 = bf16Step(wa, xe, xo, a02, hi); a12 = bf16Step(wb, xe, xo, a12, hi);
    xe = xEven(xp + 3 * xs); xo = xOdd(xp + 3 * xs);
    a03 = bf16Step(wa, xe, xo, a03, hi); a13 = bf16Step(wb, xe, xo, a13, hi);
  }
  for (let c = b8; c < body; c += 4) {
    const wa = load4(kind, w0 + <usize>c * eb);
    const wb = load4(kind, w1 + <usize>c * eb);
    const xp = x0 + (<usize>c << 2);
    let xv = v128.load(xp);
    a00 = madd(wa, xv, a00); a10 = madd(wb, xv, a10);
    xv = v128.load(xp + xs);
    a01 = madd(wa, xv, a01); a11 = madd(wb, xv, a11);
    xv = v128.load(xp + 2 * xs);
    a02 = madd(wa, xv, a02); a12 = madd(wb, xv, a12);
    xv = v128.load(xp + 3 * xs);
    a03 = madd(wa, xv, a03); a13 = madd(wb, xv, a13);
  }
  store<f32>(y0, finish(kind, a00, w0, x0, body, cols) + b0);
  store<f32>(y0 + 4, finish(kind, a10, w1, x0, body, cols) + b1);
  store<f32>(y0 + ys, finish(kind, a01, w0, x0 + xs, body, cols) + b0);
  store<f32>(y0 + ys + 4, finish(kind, a11, w1, x0 + xs, body, cols) + b1);
  store<f32>(y0 + 2 * ys, finish(kind, a02, w0, x0 + 2 * xs, body, cols) + b0);
  store<f32>(y0 + 2 * ys + 4, finish(kind, a12, w1, x0 + 2 * xs, body, cols) + b1);
  store<f32>(y0 + 3 * ys, finish(kind, a03, w0, x0 + 3 * xs, body, cols) + b0);
  store<f32>(y0 + 3 * ys + 4, finish(kind, a13, w1, x0 + 3 * xs, body, cols) + b1);
}

/** 4 weight rows `ws` bytes apart × 1 x row (f32 / f16 decode; bf16 takes `tile8x1Bf16`); their
 * outputs (and biases) `ys` bytes apart. */
@inline function tile4x1(kind: i32, w0: usize, ws: usize, x0: usize, cols: i32, y0: usize, bias: usize, ys: usize = 4): void {
  const eb = bytesPer(kind);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const body = cols & ~3;
  for (let c = 0; c < body; c += 4) {
    const xv = v128.load(x0 + (<usize>c << 2));
    const wp = w0 + <usize>c * eb;
    a0 = madd(load4(kind, wp), xv, a0);
    a1 = madd(load4(kind, wp + ws), xv, a1);
    a2 = madd(load4(kind, wp + 2 * ws), xv, a2);
    a3 = madd(load4(kind, wp + 3 * ws), xv, a3);
  }
  const k = <i32>(ys >> 2);
  store<f32>(y0, finish(kind, a0, w0, x0, body, cols) + biasAt(bias, 0));
  store<f32>(y0 + ys, finish(kind, a1, w0 + ws, x0, body, cols) + biasAt(bias, k));
  store<f32>(y0 + 2 * ys, finish(kind, a2, w0 + 2 * ws, x0, body, cols) + biasAt(bias, 2 * k));
  store<f32>(y0 + 3 * ys, finish(kind, a3, w0 + 3 * ws, x0, body, cols) + biasAt(bias, 3 * k));
}

/** 8 weight rows `ws` bytes apart × 1 x row (bf16 decode: eight multiply-add chains in flight). */
@inline function tile8x1Bf16(w0: usize, ws: usize, x0: usize, cols: i32, y0: usize, bias: usize, ys: usize): void {
  const hi = cBf16Hi; // features.ts: not an inline constant
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  const b8 = cols & ~7;
  for (let c = 0; c < b8; c += 8) {
    const xp = x0 + (<usize>c << 2);
    const xe = xEven(xp), xo = xOdd(xp);
    const wp = w0 + (<usize>c << 1);
    a0 = bf16Step(wp, xe, xo, a0, hi);
    a1 = bf16Step(wp + ws, xe, xo, a1, hi);
    a2 = bf16Step(wp + 2 * ws, xe, xo, a2, hi);
    a3 = bf16Step(wp + 3 * ws, xe, xo, a3, hi);
    a4 = bf16Step(wp + 4 * ws, xe, xo, a4, hi);
    a5 = bf16Step(wp + 5 * ws, xe, xo, a5, hi);
    a6 = bf16Step(wp + 6 * ws, xe, xo, a6, hi);
    a7 = bf16Step(wp + 7 * ws, xe, xo, a7, hi);
  }
  const k = <i32>(ys >> 2), body = cols & ~3;
  store<f32>(y0, finish4(a0, w0, x0, b8, body, cols) + biasAt(bias, 0));
  store<f32>(y0 + ys, finish4(a1, w0 + ws, x0, b8, body, cols) + biasAt(bias, k));
  store<f32>(y0 + 2 * ys, finish4(a2, w0 + 2 * ws, x0, b8, body, cols) + biasAt(bias, 2 * k));
  store<f32>(y0 + 3 * ys, finish4(a3, w0 + 3 * ws, x0, b8, body, cols) + biasAt(bias, 3 * k));
  store<f32>(y0 + 4 * ys, finish4(a4, w0 + 4 * ws, x0, b8, body, cols) + biasAt(bias, 4 * k));
  store<f32>(y0 + 5 * ys, finish4(a5, w0 + 5 * ws, x0, b8, body, cols) + biasAt(bias, 5 * k));
  store<f32>(y0 + 6 * ys, finish4(a6, w0 + 6 * ws, x0, b8, body, cols) + biasAt(bias, 6 * k));
  store<f32>(y0 + 7 * ys, finish4(a7, w0 + 7 * ws, x0, b8, body, cols) + biasAt(bias, 7 * k));
}

/** bf16 columns b8 .. body in 4-column steps into `acc`, then `finish`. */
@inline function finish4(acc: v128, w: usize, x: usize, b8: i32, body: i32, cols: i32): f32 {
  let a = acc;
  for (let c = b8; c < body; c += 4) a = madd(load4(FLOAT_BF16, w + (<usize>c << 1)), v128.load(x + (<usize>c << 2)), a);
  return finish(FLOAT_BF16, a, w, x, body, cols);
}

/** 1 weight row × 1 x row (edges). */
@inline function tile1x1(kind: i32, w0: usize, x0: usize, cols: i32, y0: usize, b: f32): void {
  const hi = cBf16Hi; // features.ts: not an inline constant
  const eb = bytesPer(kind);
  let a = f32x4.splat(0);
  const body = cols & ~3, b8 = body8(kind, cols);
  for (let c = 0; c < b8; c += 8) {
    const xp = x0 + (<usize>c << 2);
    a = bf16Step(w0 + (<usize>c << 1), xEven(xp), xOdd(xp), a, hi);
  }
  for (let c = b8; c < body; c += 4) a = madd(load4(kind, w0 + <usize>c * eb), v128.load(x0 + (<usize>c << 2)), a);
  store<f32>(y0, finish(kind, a, w0, x0, body, cols) + b);
}

@inline function biasAt(bias: usize, r: i32): f32 {
  return bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
}

@inline function rowsOf(kind: i32, w: usize, x: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const ws = <usize>cols * bytesPer(kind);
  const xs = <usize>cols << 2;
  const ys = <usize>rows << 2;
  if (n == 1) {
    let r = r0;
    // Decode reads the rows as streams far apart (streams.ts): rows r, r + d, r + 2d, … in lockstep.
    // Adjacent rows read at once interleave several streams within each page, which the prefetcher
    // follows at half the rate (AMD EPYC Zen 5, bf16 from DRAM, 1 thread: 12.7 GB/s for four
    // adjacent rows against 25-27 for four streams). bf16 takes eight: its step is two dependent
    // multiply-adds, and four rows' chains left the tile waiting on them (27 GB/s from L2, 45 with
    // eight); eight streams from DRAM still run at 25-28 GB/s on one thread.
    if (kind == FLOAT_BF16) {
      const d8 = (r1 - r0) >> 3;
      for (; r < r0 + d8; r++) tile8x1Bf16(w + <usize>r * ws, <usize>d8 * ws, x, cols, y + (<usize>r << 2), bias == 0 ? 0 : bias + (<usize>r << 2), <usize>d8 << 2);
      r = r0 + 8 * d8;
    } else {
      const d = streamGap(1, r0, r1, 1);
      if (d > 0) {
        for (; r < r0 + d; r++) tile4x1(kind, w + <usize>r * ws, <usize>d * ws, x, cols, y + (<usize>r << 2), bias == 0 ? 0 : bias + (<usize>r << 2), <usize>d << 2);
        r = r0 + 4 * d;
      }
      for (; r + 4 <= r1; r += 4) tile4x1(kind, w + <usize>r * ws, ws, x, cols, y + (<usize>r << 2), bias == 0 ? 0 : bias + (<usize>r << 2));
    }
    for (; r < r1; r++) tile1x1(kind, w + <usize>r * ws, x, cols, y + (<usize>r << 2), biasAt(bias, r));
    return;
  }
  let r = r0;
  for (; r + 2 <= r1; r += 2) {
    const b0 = biasAt(bias, r), b1 = biasAt(bias, r + 1);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      tile2x4(kind, w + <usize>r * ws, w + <usize>(r + 1) * ws, x + <usize>i * xs, xs, cols, y + <usize>i * ys + (<usize>r << 2), ys, b0, b1);
    }
    for (; i < n; i++) {
      tile1x1(kind, w + <usize>r * ws, x + <usize>i * xs, cols, y + <usize>i * ys + (<usize>r << 2), b0);
      tile1x1(kind, w + <usize>(r + 1) * ws, x + <usize>i * xs, cols, y + <usize>i * ys + (<usize>(r + 1) << 2), b1);
    }
  }
  for (; r < r1; r++) {
    for (let i = 0; i < n; i++) tile1x1(kind, w + <usize>r * ws, x + <usize>i * xs, cols, y + <usize>i * ys + (<usize>r << 2), biasAt(bias, r));
  }
}

/** Rows `r0 .. r1` of y for float weights.
 * w: [rows, cols] in `kind`; x: [n, cols] f32; y: [n, rows] f32; bias: [rows] f32 or 0. */
export function matmulFloatRows(kind: i32, w: usize, x: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  // Specialise the inlined bodies per storage kind.
  if (kind == FLOAT_F32) rowsOf(FLOAT_F32, w, x, y, bias, n, rows, cols, r0, r1);
  else if (kind == FLOAT_BF16) rowsOf(FLOAT_BF16, w, x, y, bias, n, rows, cols, r0, r1);
  else rowsOf(FLOAT_F16, w, x, y, bias, n, rows, cols, r0, r1);
}
