// Q8_0 and Q4_0 weights × int8 activations (quantized per 32-block, widened to i16 once per call;
// with relaxed SIMD, Q4_0 uses the i8 × i7 dot on the raw nibbles and an i8 copy of x instead).
// Weights are repacked at load: quants [rows, cols] as i8 (Q8_0) or [rows, cols / 2] nibbles in
// ggml's per-block order (Q4_0), scales [rows, cols / 32] as f32 (the fp16 `d`, converted exactly);
// at widths that are a multiple of 128 with rows in whole quads both get an interleaved layout
// (Q_Q4_0_IL, Q_Q8_0_IL).
// Per block: i32x4 integer dot, converted and scaled into an f32x4 accumulator; lanes are reduced
// once per output, so every value is independent of tiling and threading.
import { matmulQ4ILRows } from "./matmul_q4il";
import { matmulQ50Rows } from "./matmul_q5";
import { matmulQ8ILRows } from "./matmul_q8il";
import { matmulQ8ILDotRows } from "./matmul_q8il_dot";
import { cNib, cW15, dotAdd } from "./features";
import { hsum, hsumI, madd } from "./simd";

export const Q_Q8_0: i32 = 0;
export const Q_Q4_0: i32 = 1;
/** Q4_0 interleaved in row quads (relaxed build only, rows % 4 = 0, cols % 128 = 0): assembly/matmul_q4il.ts. */
export const Q_Q4_0_IL: i32 = 2;
/** Q5_0 (assembly/matmul_q5.ts; reads xq and xs only). */
export const Q_Q5_0: i32 = 3;
/** Q8_0 interleaved in row quads (rows % 4 = 0, cols % 128 = 0; both builds): assembly/matmul_q8il.ts. */
export const Q_Q8_0_IL: i32 = 4;

/** Quantize x rows to int8 per block (d = amax / 127, q = round-half-even(x / d)), stored widened to
 * i16 (in Q_Q8_0_IL's interleaved order when `il & 2`; under features.ts dotAdd that order is i8,
 * see assembly/matmul_q8il_dot.ts) and, when `xq8` is not 0, also as i8 — in
 * Q_Q4_0_IL's interleaved order when `il & 1` (per 128 values, whatever the block: cols a multiple of
 * 128; the K family's sub-block-lane kernels read it too).
 * x: [n, cols] f32; xq: [n, cols] i16; xq8: [n, cols] i8 or 0; xd: [n, cols / block] f32;
 * xs: [n, cols / block] i32 (Σ q). */
export function quantizeQ8(x: usize, xq: usize, xq8: usize, il: i32, xd: usize, xs: usize, n: i32, cols: i32, block: i32): void {
  const nb = cols / block;
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < nb; b++) {
      const base = <usize>(i * cols + b * block);
      const xp = x + (base << 2);
      let m = f32x4.splat(0);
      for (let c = 0; c < block; c += 4) m = f32x4.max(m, f32x4.abs(v128.load(xp + (<usize>c << 2))));
      const amax = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
      const d: f32 = amax / 127;
      const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
      let sum = i32x4.splat(0);
      for (let c = 0; c < block; c += 8) {
        const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>c << 2)), id)));
        const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(xp + (<usize>c << 2) + 16), id)));
        sum = i32x4.add(sum, i32x4.add(q0, q1));
        const q16 = i16x8.narrow_i32x4_s(q0, q1);
        if ((il & 2) && ASC_FEATURE_RELAXED_SIMD && dotAdd) {
          // The dot-add kernel's order (assembly/matmul_q8il_dot.ts): i8, value c of block b at byte
          // 16·(c >> 2) + 4·(b % 4) of its group, rows at the i16 stride.
          const q8 = i8x16.narrow_i16x8_s(q16, q16);
          const grp = xq + ((<usize>i * cols) << 1) + <usize>(b >> 2) * 128 + (<usize>(b & 3) << 2) + (<usize>c << 2);
          v128.store32_lane(grp, q8, 0);
          v128.store32_lane(grp + 16, q8, 1);
        } else if (il & 2) {
          // Values c..c+7 of block b: pairs j = c / 2 .. c / 2 + 3, each at element 8·j + 2·(b % 4).
          const grp = xq + ((<usize>i * cols + <usize>(b >> 2) * 128 + (<usize>(b & 3) << 1) + (<usize>c << 2)) << 1);
          v128.store32_lane(grp, q16, 0);
          v128.store32_lane(grp + 16, q16, 1);
          v128.store32_lane(grp + 32, q16, 2);
          v128.store32_lane(grp + 48, q16, 3);
        } else {
          v128.store(xq + ((base + <usize>c) << 1), q16);
        }
        if (xq8 != 0) {
          const q8 = i8x16.narrow_i16x8_s(q16, q16);
          if (il & 1) {
            // Values v..v+7 of the row (v = b·block + c) in 32-value unit u = v / 32: two 4-byte runs
            // (j = (v % 16) / 4 and j + 1) in its group (any block: the K family quantizes per 256).
            const v = b * block + c, u = v >> 5;
            const grp = xq8 + <usize>i * cols + <usize>(u >> 2) * 128 + (<usize>(u & 3) << 2) + ((v & 31) >= 16 ? 64 : 0);
            const j = (v & 15) >> 2;
            v128.store32_lane(grp + (<usize>j << 4), q8, 0);
            v128.store32_lane(grp + (<usize>(j + 1) << 4), q8, 1);
          } else {
            v128.store64_lane(xq8 + base + <usize>c, q8, 0);
          }
        }
      }
      const sb = <usize>(i * nb + b) << 2;
      store<f32>(xd + sb, d);
      store<i32>(xs + sb, hsumI(sum));
    }
  }
}

/** i32x4 partial dot of one block's 32 weights (as four i16x8) with 32 widened activations at xp. */
@inline function dot32(w0: v128, w1: v128, w2: v128, w3: v128, xp: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(w0, v128.load(xp)), i32x4.dot_i16x8_s(w1, v128.load(xp + 16))),
    i32x4.add(i32x4.dot_i16x8_s(w2, v128.load(xp + 32)), i32x4.dot_i16x8_s(w3, v128.load(xp + 48))),
  );
}

/** i32x4 partial dot of one Q4_0 block's 16 nibble bytes at `wp` with 32 i8 activations at `x8`,
 * by the relaxed i8 × i7 dot (exact: nibbles < 128; pair sums |Σ| ≤ 4·127·15 fit i16). Not
 * `i32x4.relaxed_dot_i8x16_i7x16_add_s`: Node 20's V8 (11.3) returns twice the dot and drops the
 * addend for that one (measured); the i16x8 form is right. */
@inline function nibbleDot32(wp: usize, x8: usize, m: v128): v128 {
  const wv = v128.load(wp);
  const lo = v128.and(wv, m);
  const hi = v128.and(i16x8.shr_u(wv, 4), m);
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8), lo), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(x8 + 16), hi)));
}

/** Q4_0 row × `nx` x rows with the relaxed nibble dot (x as i8: [n, cols]). */
@inline function rowTileNibble(nx: i32, wq: usize, wd: usize, x8: usize, xd: usize, xs: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  const m = cNib;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = <usize>cols;
  const srow = <usize>nb << 2;
  for (let k = 0; k < nb; k++) {
    const p = wq + (<usize>k << 4);
    const wdk = load<f32>(wd + (<usize>k << 2));
    const xo = <usize>k << 5;
    const so = <usize>k << 2;
    const s0 = i32x4.sub(nibbleDot32(p, x8 + xo, m), i32x4.splat(load<i32>(xs + so) << 1));
    a0 = madd(f32x4.convert_i32x4_s(s0), f32x4.splat(wdk * load<f32>(xd + so)), a0);
    if (nx == 4) {
      const s1 = i32x4.sub(nibbleDot32(p, x8 + xrow + xo, m), i32x4.splat(load<i32>(xs + srow + so) << 1));
      const s2 = i32x4.sub(nibbleDot32(p, x8 + 2 * xrow + xo, m), i32x4.splat(load<i32>(xs + 2 * srow + so) << 1));
      const s3 = i32x4.sub(nibbleDot32(p, x8 + 3 * xrow + xo, m), i32x4.splat(load<i32>(xs + 3 * srow + so) << 1));
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

/** One weight row × `nx` (1 or 4) x rows. For Q4_0 the offset 8 is applied as −8·Σq per block. */
@inline function rowTile(kind: i32, nx: i32, wq: usize, wd: usize, xq: usize, xd: usize, xs: usize, nb: i32, cols: i32, y: usize, ys: usize, b: f32): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const xrow = <usize>cols << 1;
  const srow = <usize>nb << 2;
  for (let k = 0; k < nb; k++) {
    let w0: v128, w1: v128, w2: v128, w3: v128;
    if (kind == Q_Q8_0) {
      const p = wq + (<usize>k << 5);
      const va = v128.load(p), vb = v128.load(p + 16);
      w0 = i16x8.extend_low_i8x16_s(va); w1 = i16x8.extend_high_i8x16_s(va);
      w2 = i16x8.extend_low_i8x16_s(vb); w3 = i16x8.extend_high_i8x16_s(vb);
    } else {
      const p = wq + (<usize>k << 4);
      const lo = v128.load8x8_u(p), hi = v128.load8x8_u(p + 8);
      const mask = cW15; // features.ts: not an inline constant
      w0 = v128.and(lo, mask); w1 = v128.and(hi, mask);
      w2 = i16x8.shr_u(lo, 4); w3 = i16x8.shr_u(hi, 4);
    }
    const wdk = load<f32>(wd + (<usize>k << 2));
    const xo = <usize>k << 6;
    const so = <usize>k << 2;
    let s0 = dot32(w0, w1, w2, w3, xq + xo);
    if (kind == Q_Q4_0) s0 = i32x4.sub(s0, i32x4.splat(load<i32>(xs + so) << 1));
    a0 = madd(f32x4.convert_i32x4_s(s0), f32x4.splat(wdk * load<f32>(xd + so)), a0);
    if (nx == 4) {
      let s1 = dot32(w0, w1, w2, w3, xq + xrow + xo);
      let s2 = dot32(w0, w1, w2, w3, xq + 2 * xrow + xo);
      let s3 = dot32(w0, w1, w2, w3, xq + 3 * xrow + xo);
      if (kind == Q_Q4_0) {
        s1 = i32x4.sub(s1, i32x4.splat(load<i32>(xs + srow + so) << 1));
        s2 = i32x4.sub(s2, i32x4.splat(load<i32>(xs + 2 * srow + so) << 1));
        s3 = i32x4.sub(s3, i32x4.splat(load<i32>(xs + 3 * srow + so) << 1));
      }
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

@inline function rowsOf(kind: i32, wq: usize, wd: usize, xq: usize, xq8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  const nb = cols >> 5;
  const wrow: usize = kind == Q_Q8_0 ? <usize>cols : <usize>cols >> 1;
  const ys = <usize>rows << 2;
  for (let r = r0; r < r1; r++) {
    const b: f32 = bias == 0 ? 0 : load<f32>(bias + (<usize>r << 2));
    const wqr = wq + <usize>r * wrow;
    const wdr = wd + ((<usize>r * nb) << 2);
    let i = 0;
    if (ASC_FEATURE_RELAXED_SIMD) {
      if (kind == Q_Q4_0) {
        for (; i + 4 <= n; i += 4) {
          rowTileNibble(4, wqr, wdr, xq8 + <usize>i * cols, xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
        }
        for (; i < n; i++) {
          rowTileNibble(1, wqr, wdr, xq8 + <usize>i * cols, xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
        }
        continue;
      }
    }
    for (; i + 4 <= n; i += 4) {
      rowTile(kind, 4, wqr, wdr, xq + ((<usize>i * cols) << 1), xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
    for (; i < n; i++) {
      rowTile(kind, 1, wqr, wdr, xq + ((<usize>i * cols) << 1), xd + ((<usize>i * nb) << 2), xs + ((<usize>i * nb) << 2), nb, cols, y + <usize>i * ys + (<usize>r << 2), ys, b);
    }
  }
}

/** Rows `r0 .. r1` of y = xq · Wᵀ (+ bias) for Q8_0 / Q4_0 weights.
 * wq: quants (see module comment); wd: [rows, cols / 32] f32; xq/xq8/xd/xs: from quantizeQ8 with
 * block 32 (xq8, i8, only read for Q4_0 in the relaxed build; xq interleaved for Q_Q8_0_IL); y: [n, rows] f32; bias: [rows] f32 or 0. */
export function matmulQRows(kind: i32, wq: usize, wd: usize, xq: usize, xq8: usize, xd: usize, xs: usize, y: usize, bias: usize, n: i32, rows: i32, cols: i32, r0: i32, r1: i32): void {
  if (kind == Q_Q5_0) matmulQ50Rows(wq, wd, xq, xd, xs, y, bias, n, rows, cols, r0, r1);
  else if (kind == Q_Q8_0_IL) {
    if (ASC_FEATURE_RELAXED_SIMD && dotAdd) matmulQ8ILDotRows(wq, xq, xd, xs, y, bias, n, rows, cols, r0, r1);
    else matmulQ8ILRows(wq, xq, xd, y, bias, n, rows, cols, r0, r1);
  }
  else if (kind == Q_Q8_0) rowsOf(Q_Q8_0, wq, wd, xq, xq8, xd, xs, y, bias, n, rows, cols, r0, r1);
  else if (kind == Q_Q4_0) rowsOf(Q_Q4_0, wq, wd, xq, xq8, xd, xs, y, bias, n, rows, cols, r0, r1);
  else if (ASC_FEATURE_RELAXED_SIMD) matmulQ4ILRows(wq, xq8, xd, xs, y, bias, n, rows, cols, r0, r1); // Q_Q4_0_IL
  else unreachable(); // the plain build never makes Q_Q4_0_IL matrices
}
