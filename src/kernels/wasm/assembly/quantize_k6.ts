// Q6_K super-blocks (256 values) from f32, bit for bit as formats/quant/k_quants.ts (ggml's
// `quantize_row_q6_K_ref` with `make_qx_quants`, rmse_type 1, no importance weights).
//   q6_k (210 B): ql:u8[128] (low nibbles) | qh:u8[64] (2 high bits) | scales:i8[16] | d:f16
// The sixteen sub-blocks' searches run four at a time, one per SIMD lane (see quantize_k4.ts).
import { f32ToHalf, halfToF32, nearestInt, nearestX4, packBytes, transposeRuns } from "./quantize_util";

/** Scratch bytes one thread needs for `q6kBlock`. */
export const K6_SCRATCH: i32 = 3584;
const XT: usize = 0; // [4 groups, 16, 4 lanes] f32: x transposed
const WT: usize = 1024; // [4, 16, 4] f32: x·x
const WX: usize = 2048; // [4, 16, 4] f32: (x·x)·x
const LB: usize = 3072; // [256] u8: final levels 0..63
const FIT: usize = 3328; // [3 fields, 16 sub-blocks] of 4 bytes: scale, best iscale, below-eps mask
/** ggml's GROUP_MAX_EPS (1e-15f). */
const GROUP_MAX_EPS: f32 = 1e-15;

@inline function sel(a: v128, b: v128, m: v128): v128 {
  return v128.bitselect(a, b, m);
}

/** Levels clamp(nearest_int(iscale · x), −32, 31) as f32, clamped first then rounded half to even
 * (the same values: see quantize_k4.ts `levels`). */
@inline function levels(iscale: v128, x: v128): v128 {
  return f32x4.nearest(f32x4.pmin(f32x4.pmax(f32x4.mul(iscale, x), f32x4.splat(-32)), f32x4.splat(31)));
}

/** `make_qx_quants(16, 32, x, L, rmse_type 1)` of the four sub-blocks of group `g`. */
function qxGroup(s: usize, g: i32): void {
  const go = <usize>g << 8;
  const xg = s + XT + go, wg = s + WT + go, wxg = s + WX + go;
  const zero = f32x4.splat(0);
  let amax = zero, mx = zero;
  for (let i = 0; i < 16; i++) {
    const x = v128.load(xg + (<usize>i << 4));
    const ax = f32x4.abs(x);
    const up = f32x4.gt(ax, amax);
    amax = sel(ax, amax, up);
    mx = sel(x, mx, up);
  }
  const small = f32x4.lt(amax, f32x4.splat(GROUP_MAX_EPS));
  let iscale = f32x4.div(f32x4.splat(-32), mx);
  let sumlx = zero, suml2 = zero;
  for (let i = 0; i < 16; i++) {
    const o = <usize>i << 4;
    const l = levels(iscale, v128.load(xg + o));
    sumlx = f32x4.add(sumlx, f32x4.mul(v128.load(wxg + o), l));
    suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(v128.load(wg + o), l), l));
  }
  let scale = sel(f32x4.div(sumlx, suml2), zero, f32x4.ne(suml2, zero));
  let best = f32x4.mul(scale, sumlx);
  let bestIs = iscale;
  const tenth: f32 = 0.1;
  for (let is = -9; is <= 9; is++) {
    if (is == 0) continue;
    const num: f32 = -(<f32>32 + tenth * <f32>is);
    iscale = f32x4.div(f32x4.splat(num), mx);
    sumlx = zero;
    suml2 = zero;
    for (let i = 0; i < 16; i++) {
      const o = <usize>i << 4;
      const l = levels(iscale, v128.load(xg + o));
      sumlx = f32x4.add(sumlx, f32x4.mul(v128.load(wxg + o), l));
      suml2 = f32x4.add(suml2, f32x4.mul(f32x4.mul(v128.load(wg + o), l), l));
    }
    const up = v128.and(f32x4.gt(suml2, zero), f32x4.gt(f32x4.mul(sumlx, sumlx), f32x4.mul(best, suml2)));
    if (!v128.any_true(up)) continue;
    scale = sel(f32x4.div(sumlx, suml2), scale, up);
    best = sel(f32x4.mul(scale, sumlx), best, up);
    bestIs = sel(iscale, bestIs, up);
  }
  const f = s + FIT + (<usize>g << 4);
  v128.store(f, sel(zero, scale, small));
  v128.store(f + 64, bestIs);
  v128.store(f + 128, small);
}

/** One Q6_K super-block: x [256] f32 → dst [210] bytes; s: K6_SCRATCH bytes of this thread's. */
export function q6kBlock(x: usize, dst: usize, s: usize): void {
  transposeRuns(x, s + XT, 4, 16);
  for (let i = 0; i < 64; i++) {
    const o = <usize>i << 4;
    const v = v128.load(s + XT + o);
    const w = f32x4.mul(v, v);
    v128.store(s + WT + o, w);
    v128.store(s + WX + o, f32x4.mul(w, v));
  }
  for (let g = 0; g < 4; g++) qxGroup(s, g);
  let maxScale: f32 = 0, maxAbs: f32 = 0;
  for (let j = 0; j < 16; j++) {
    const sc = load<f32>(s + FIT + (<usize>j << 2));
    if (abs(sc) > maxAbs) {
      maxAbs = abs(sc);
      maxScale = sc;
    }
  }
  if (maxAbs < GROUP_MAX_EPS) {
    memory.fill(dst, 0, 210);
    return;
  }
  const iscale: f32 = <f32>-128 / maxScale;
  store<u16>(dst + 208, <u16>f32ToHalf(<f32>1 / iscale));
  for (let j = 0; j < 16; j++) {
    const q = min<i32>(127, nearestInt(iscale * load<f32>(s + FIT + (<usize>j << 2)))) & 0xff;
    store<u8>(dst + 192 + j, <u8>q);
  }
  const d = halfToF32(<u32>load<u16>(dst + 208));
  for (let j = 0; j < 16; j++) {
    const dj: f32 = d * <f32>load<i8>(dst + 192 + j);
    const xj = x + (<usize>j << 6), lj = s + LB + (<usize>j << 4);
    if (dj == 0) {
      keptLevels(xj, lj, s + FIT + (<usize>j << 2));
      continue;
    }
    const dv = f32x4.splat(dj), off = i32x4.splat(32);
    const q0 = i32x4.add(requant(v128.load(xj), dv), off), q1 = i32x4.add(requant(v128.load(xj + 16), dv), off);
    const q2 = i32x4.add(requant(v128.load(xj + 32), dv), off), q3 = i32x4.add(requant(v128.load(xj + 48), dv), off);
    v128.store(lj, packBytes(q0, q1, q2, q3));
  }
  const lo4 = i8x16.splat(0x0f);
  for (let h = 0; h < 2; h++) {
    const lb = s + LB + (<usize>h << 7), ql = dst + (<usize>h << 6), qh = dst + 128 + (<usize>h << 5);
    for (let l = 0; l < 32; l += 16) {
      const a = v128.load(lb + l), b = v128.load(lb + l + 32), c = v128.load(lb + l + 64), e = v128.load(lb + l + 96);
      v128.store(ql + l, v128.or(v128.and(a, lo4), i8x16.shl(v128.and(c, lo4), 4)));
      v128.store(ql + l + 32, v128.or(v128.and(b, lo4), i8x16.shl(v128.and(e, lo4), 4)));
      const hb = v128.or(
        v128.or(i8x16.shr_u(a, 4), i8x16.shl(i8x16.shr_u(b, 4), 2)),
        v128.or(i8x16.shl(i8x16.shr_u(c, 4), 4), i8x16.shl(i8x16.shr_u(e, 4), 6)),
      );
      v128.store(qh + l, hb);
    }
  }
}

@inline function requant(x: v128, dj: v128): v128 {
  return i32x4.min_s(i32x4.max_s(nearestX4(f32x4.div(x, dj)), i32x4.splat(-32)), i32x4.splat(31));
}

/** The search's own levels (nmax + l) of a sub-block whose stored scale came out 0 (ggml keeps them). */
function keptLevels(xj: usize, lj: usize, fit: usize): void {
  const small = load<i32>(fit + 128) != 0;
  const is = load<f32>(fit + 64);
  for (let i = 0; i < 16; i++) {
    const l = small ? 0 : 32 + min<i32>(31, max<i32>(-32, nearestInt(is * load<f32>(xj + (<usize>i << 2)))));
    store<u8>(lj + i, <u8>l);
  }
}
