// Q8_0 interleaved (Q_Q8_0_IL: the quad tiles of assembly/matmul_q8il.ts) by the relaxed i8
// dot-add, when the host found it exact for unsigned × signed bytes (assembly/features.ts dotAdd).
//
// Such a backend repacks Q8_0 in the dot-add order (repack.ts RP_Q8_0_ILD): a 16-byte chunk k of a
// row's 128-byte group holds bytes 4k .. 4k + 3 of block b in lane b, each stored as w + 128
// (unsigned, exact for every i8), so a chunk is one plain load (a shuffle and an xor per load at
// run time before: Q8_0 GEMM +12%, matvec +5% without them). x is i8 in the matching order (quantizeQ8 with
// `il & 2` under dotAdd: value c of block b at 16·(c >> 2) + 4·b + (c & 3) of its group, rows at the
// i16 layout's stride of 2·cols bytes), so lane b gathers Σ (w + 128)·x of block b; starting each
// group's sums at −128·Σx (quantizeQ8's xs) leaves the exact Σ w·x of the i16 path. The float steps
// are matmul_q8il.ts's, in the same order: every output is bit-identical to it.
import { GS, rowD, rowQ, storeQuad } from "./matmul_q8il";
import { hsum, madd } from "./simd";
import { streamGap } from "./streams";
import { threadSlot } from "./slots";

/** Chunk k of a weight row: four lanes of unsigned block bytes, as stored (see top). */
@inline function wchunk(p: usize): v128 {
  return v128.load(p);
}

@inline function dot(x: v128, w: v128, acc: v128): v128 {
  return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w, acc);
}

/** −128 · Σx of the four blocks of group g (xs + 4·g: the x row's block sums). */
@inline function bias128(xs: usize, g: i32): v128 {
  return i32x4.shl(i32x4.neg(v128.load(xs + (<usize>g << 2))), 7);
}

/** One weight row × one x row (x: i8 at xq, block scales xd, block sums xs). */
@inline function row1(wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = xq + (<usize>g << 5);
    let s = bias128(xs, g);
    for (let k: usize = 0; k < 128; k += 16) s = dot(v128.load(xp + k), wchunk(wp + k), s);
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(v128.load(dp), v128.load(xd + (<usize>g << 2))), acc);
  }
  return hsum(acc);
}

/** The four rows of a quad × one x row (decode); as assembly/matmul_q8il.ts quadRow. */
@inline function quad1(wq: usize, xq: usize, xd: usize, xs: usize, nb: i32, y: usize, bias: usize): void {
  let f0 = f32x4.splat(0), f1 = f32x4.splat(0), f2 = f32x4.splat(0), f3 = f32x4.splat(0);
  let wp = wq;
  for (let g = 0; g < nb; g += 4, wp += GS) {
    const xp = xq + (<usize>g << 5);
    const s = bias128(xs, g);
    let a0 = s, a1 = s, a2 = s, a3 = s;
    for (let k: usize = 0; k < 128; k += 16) {
      const x = v128.load(xp + k), w = wp + k;
      a0 = dot(x, wchunk(w), a0);
      a1 = dot(x, wchunk(w + 128), a1);
      a2 = dot(x, wchunk(w + 256), a2);
      a3 = dot(x, wchunk(w + 384), a3);
    }
    const xsc = v128.load(xd + (<usize>g << 2)), dp = wp + 512;
    f0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xsc), f0);
    f1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xsc), f1);
    f2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xsc), f2);
    f3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xsc), f3);
  }
  storeQuad(y, bias, f0, f1, f2, f3);
}

/** Four quads (wA .. wD: each one's first byte, far apart) × one x row, their groups read in turn:
 * four streams in flight instead of one (assembly/streams.ts). Each row's value is quad1's. The four
 * quad bodies are written out (each x chunk loaded once per quad): a per-row helper called sixteen
 * times per group ran 11.5 GB/s from cache against 27.5 here (1 thread, Node 24; the same in
 * matmul_q8il.ts and matmul_q4il.ts). */
@inline function quad4(wA: usize, wB: usize, wC: usize, wD: usize, xq: usize, xd: usize, xs: usize, nb: i32, yA: usize, yB: usize, yC: usize, yD: usize, bA: usize, bB: usize, bC: usize, bD: usize): void {
  let A0 = f32x4.splat(0), A1 = f32x4.splat(0), A2 = f32x4.splat(0), A3 = f32x4.splat(0);
  let B0 = f32x4.splat(0), B1 = f32x4.splat(0), B2 = f32x4.splat(0), B3 = f32x4.splat(0);
  let C0 = f32x4.splat(0), C1 = f32x4.splat(0), C2 = f32x4.splat(0), C3 = f32x4.splat(0);
  let D0 = f32x4.splat(0), D1 = f32x4.splat(0), D2 = f32x4.splat(0), D3 = f32x4.splat(0);
  for (let g = 0, go: usize = 0; g < nb; g += 4, go += GS) {
    const xp = xq + (<usize>g << 5);
    const s = bias128(xs, g), xsc = v128.load(xd + (<usize>g << 2));
    {
      const wp = wA + go;
      let a0 = s, a1 = s, a2 = s, a3 = s;
      for (let k: usize = 0; k < 128; k += 16) {
        const x = v128.load(xp + k), w = wp + k;
        a0 = dot(x, wchunk(w), a0);
        a1 = dot(x, wchunk(w + 128), a1);
        a2 = dot(x, wchunk(w + 256), a2);
        a3 = dot(x, wchunk(w + 384), a3);
      }
      const dp = wp + 512;
      A0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xsc), A0);
      A1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xsc), A1);
      A2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xsc), A2);
      A3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xsc), A3);
    }
    {
      const wp = wB + go;
      let a0 = s, a1 = s, a2 = s, a3 = s;
      for (let k: usize = 0; k < 128; k += 16) {
        const x = v128.load(xp + k), w = wp + k;
        a0 = dot(x, wchunk(w), a0);
        a1 = dot(x, wchunk(w + 128), a1);
        a2 = dot(x, wchunk(w + 256), a2);
        a3 = dot(x, wchunk(w + 384), a3);
      }
      const dp = wp + 512;
      B0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xsc), B0);
      B1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xsc), B1);
      B2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xsc), B2);
      B3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xsc), B3);
    }
    {
      const wp = wC + go;
      let a0 = s, a1 = s, a2 = s, a3 = s;
      for (let k: usize = 0; k < 128; k += 16) {
        const x = v128.load(xp + k), w = wp + k;
        a0 = dot(x, wchunk(w), a0);
        a1 = dot(x, wchunk(w + 128), a1);
        a2 = dot(x, wchunk(w + 256), a2);
        a3 = dot(x, wchunk(w + 384), a3);
      }
      const dp = wp + 512;
      C0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xsc), C0);
      C1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xsc), C1);
      C2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xsc), C2);
      C3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xsc), C3);
    }
    {
      const wp = wD + go;
      let a0 = s, a1 = s, a2 = s, a3 = s;
      for (let k: usize = 0; k < 128; k += 16) {
        const x = v128.load(xp + k), w = wp + k;
        a0 = dot(x, wchunk(w), a0);
        a1 = dot(x, wchunk(w + 128), a1);
        a2 = dot(x, wchunk(w + 256), a2);
        a3 = dot(x, wchunk(w + 384), a3);
      }
      const dp = wp + 512;
      D0 = madd(f32x4.convert_i32x4_s(a0), f32x4.mul(v128.load(dp), xsc), D0);
      D1 = madd(f32x4.convert_i32x4_s(a1), f32x4.mul(v128.load(dp + 16), xsc), D1);
      D2 = madd(f32x4.convert_i32x4_s(a2), f32x4.mul(v128.load(dp + 32), xsc), D2);
      D3 = madd(f32x4.convert_i32x4_s(a3), f32x4.mul(v128.load(dp + 48), xsc), D3);
    }
  }
  storeQuad(yA, bA, A0, A1, A2, A3);
  storeQuad(yB, bB, B0, B1, B2, B3);
  storeQuad(yC, bC, C0, C1, C2, C3);
  storeQuad(yD, bD, D0, D1, D2, D3);
}

/** The f32 sum in slot p += a group's i32 sums × (w scales · x scales). */
@inline function sumTo(p: usize, a: v128, ws: v128, xs: v128): void {
  v128.store(p, madd(f32x4.convert_i32x4_s(a), f32x4.mul(ws, xs), v128.load(p)));
}

/** Weight rows r, r + 1 (wq/wd: row r's; row r + 1's 128 / 16 bytes on) × four x rows (xrow / srow
 * bytes apart; their block sums srow apart too); as matmul_q8il.ts ilTile2x4x8. `two` = false: row r
 * alone (ilTile4x8). The f32 sums live in this thread's slots (slots.ts), not in registers: with
 * them in registers V8 spilled four of the eight i32 accumulators every chunk. */
@inline function tile4(two: bool, wq: usize, wd: usize, xq: usize, xrow: usize, xd: usize, xs: usize, srow: usize, nb: i32, y: usize, ys: usize, b0: f32, b1: f32): void {
  const ac = threadSlot(); // f32 sums in this thread's slots (slots.ts): row r's at ac + 32·i, row r + 1's 16 bytes on
  for (let i: usize = 0; i < 128; i += 16) v128.store(ac + i, f32x4.splat(0));
  let wp = wq, dp = wd;
  for (let g = 0; g < nb; g += 4, wp += GS, dp += GS) {
    const xp = xq + (<usize>g << 5);
    let a0 = bias128(xs, g), a1 = bias128(xs + srow, g), a2 = bias128(xs + 2 * srow, g), a3 = bias128(xs + 3 * srow, g);
    let c0 = a0, c1 = a1, c2 = a2, c3 = a3;
    for (let k: usize = 0; k < 128; k += 16) {
      const w = wchunk(wp + k);
      const p = xp + k;
      if (two) {
        const v = wchunk(wp + 128 + k);
        let x = v128.load(p);
        a0 = dot(x, w, a0);
        c0 = dot(x, v, c0);
        x = v128.load(p + xrow);
        a1 = dot(x, w, a1);
        c1 = dot(x, v, c1);
        x = v128.load(p + 2 * xrow);
        a2 = dot(x, w, a2);
        c2 = dot(x, v, c2);
        x = v128.load(p + 3 * xrow);
        a3 = dot(x, w, a3);
        c3 = dot(x, v, c3);
      } else {
        a0 = dot(v128.load(p), w, a0);
        a1 = dot(v128.load(p + xrow), w, a1);
        a2 = dot(v128.load(p + 2 * xrow), w, a2);
        a3 = dot(v128.load(p + 3 * xrow), w, a3);
      }
    }
    const o = <usize>g << 2;
    const wv = v128.load(dp);
    const x0 = v128.load(xd + o), x1 = v128.load(xd + srow + o), x2 = v128.load(xd + 2 * srow + o), x3 = v128.load(xd + 3 * srow + o);
    sumTo(ac, a0, wv, x0);
    sumTo(ac + 32, a1, wv, x1);
    sumTo(ac + 64, a2, wv, x2);
    sumTo(ac + 96, a3, wv, x3);
    if (two) {
      const vv = v128.load(dp + 16);
      sumTo(ac + 16, c0, vv, x0);
      sumTo(ac + 48, c1, vv, x1);
      sumTo(ac + 80, c2, vv, x2);
      sumTo(ac + 112, c3, vv, x3);
    }
  }
  store<f32>(y, hsum(v128.load(ac)) + b0);
  store<f32>(y + ys, hsum(v128.load(ac + 32)) + b0);
  store<f32>(y + 2 * ys, hsum(v128.load(ac + 64)) + b0);
  store<f32>(y + 3 * ys, hsum(v128.load(ac + 96)) + b0);
  if (two) {
    store<f32>(y + 4, hsum(v128.load(ac + 16)) + b1);
    store<f32>(y + ys + 4, hsum(v128.load(ac + 48)) + b1);
    store<f32>(y + 2 * ys + 4, hsum(v128.load(ac + 80)) + b1);
    store<f32>(y + 3 * ys + 4, hsum(v128.load(ac + 112)) + b1);
  }
}

@inline function biasOf(bias: usize, r: i32): f32 {
  return bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
}

/** Row r alone × every x row. */
function single(wq: usize, xq: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2, xrow = <usize>cols << 1, srow = <usize>nb << 2;
  const b = biasOf(bias, r);
  const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = y + (<usize>r << 2);
  let i = 0;
  for (; i + 4 <= n; i += 4) tile4(false, wqr, wdr, xq + <usize>i * xrow, xrow, xd + <usize>i * srow, xs + <usize>i * srow, srow, nb, yr + <usize>i * ys, ys, b, 0);
  for (; i < n; i++) store<f32>(yr + <usize>i * ys, row1(wqr, wdr, xq + <usize>i * xrow, xd + <usize>i * srow, xs + <usize>i * srow, nb) + b);
}

/** Rows `r0 .. r1` as matmul_q8il.ts matmulQ8ILRows, x from quantizeQ8 under dotAdd (i8, see top). */
export function matmulQ8ILDotRows(wq: usize, xq: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const ys = <usize>rows << 2;
  const xrow = <usize>cols << 1, srow = <usize>nb << 2;
  let r = r0;
  for (; r < r1 && (r & 3) != 0; r++) single(wq, xq, xd, xs, y, bias, n, rows, cols, r);
  if (n < 4) {
    // Decode: four quads a quarter of the range apart at once (assembly/streams.ts).
    const d = streamGap(n, r, r1, 4);
    if (d != 0) {
      const bo: usize = bias == 0 ? 0 : <usize>d << 2, yo = <usize>d << 2;
      for (let e = r + d; r < e; r += 4) {
        const yr = y + (<usize>r << 2), br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
        quad4(rowQ(wq, r, cols), rowQ(wq, r + d, cols), rowQ(wq, r + 2 * d, cols), rowQ(wq, r + 3 * d, cols), xq, xd, xs, nb,
          yr, yr + yo, yr + 2 * yo, yr + 3 * yo, br, br + bo, br + 2 * bo, br + 3 * bo);
      }
      r += 3 * d;
    }
    for (; r + 4 <= r1; r += 4) {
      const wqr = rowQ(wq, r, cols), yr = y + (<usize>r << 2);
      const br: usize = bias == 0 ? 0 : bias + (<usize>r << 2);
      for (let i = 0; i < n; i++) quad1(wqr, xq + <usize>i * xrow, xd + <usize>i * srow, xs + <usize>i * srow, nb, yr + <usize>i * ys, br);
    }
  } else {
    // x tiles outer, row pairs inner (matmul_q4il.ts rowsIL says why).
    const r2 = r, re = r + ((r1 - r) & ~1);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const xr = xq + <usize>i * xrow, dr = xd + <usize>i * srow, sr = xs + <usize>i * srow, yi = y + <usize>i * ys;
      for (r = r2; r < re; r += 2) tile4(true, rowQ(wq, r, cols), rowD(wq, r, cols), xr, xrow, dr, sr, srow, nb, yi + (<usize>r << 2), ys, biasOf(bias, r), biasOf(bias, r + 1));
    }
    for (; i < n; i++) {
      const xr = xq + <usize>i * xrow, dr = xd + <usize>i * srow, sr = xs + <usize>i * srow, yi = y + <usize>i * ys;
      for (r = r2; r < re; r += 2) {
        const wqr = rowQ(wq, r, cols), wdr = rowD(wq, r, cols), yr = yi + (<usize>r << 2);
        store<f32>(yr, row1(wqr, wdr, xr, dr, sr, nb) + biasOf(bias, r));
        store<f32>(yr + 4, row1(wqr + 128, wdr + 16, xr, dr, sr, nb) + biasOf(bias, r + 1));
      }
    }
    r = re;
  }
  for (; r < r1; r++) single(wq, xq, xd, xs, y, bias, n, rows, cols, r);
}
