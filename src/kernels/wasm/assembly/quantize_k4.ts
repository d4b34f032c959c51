// Q4_K super-blocks (256 values) from f32, bit for bit as formats/quant/k_quants.ts (ggml's
// `quantize_row_q4_K_ref` with `make_qkx2_quants`).
//   q4_k (144 B): d:f16 | dmin:f16 | scales:u8[12] (8 × 6-bit scale + 6-bit min) | qs:u8[128]
// The eight sub-blocks' scale searches are independent: they run four at a time, one per SIMD lane
// (x transposed so lane k holds sub-block k's value i), each lane summing in ggml's sequential order,
// and every data-dependent branch of the scalar code becomes a per-lane select.
import { f32ToHalf, halfToF32, maxSel, minSel, nearestInt, nearestX4, packBytes, transposeRuns } from "./quantize_util";

/** Scratch bytes one thread needs for `q4kBlock`. */
export const K4_SCRATCH: i32 = 4544;
const XT: usize = 0; // [2 groups, 32, 4 lanes] f32: x transposed
const WT: usize = 1024; // [2, 32, 4] f32: weights rms(sub-block) + |x|, transposed
const LF: usize = 2048; // [2, 32, 4] f32: candidate levels
const XM: usize = 3072; // [2, 32, 4] f32: x − min
const LB: usize = 4096; // [256] u8: final levels
// [5 fields, 8 sub-blocks] of 4 bytes: scale, the_min, best iscale, min used by the best step, flat mask
const FIT: usize = 4352;
const LS: usize = 4512; // [8] u8 quantized scales, then [8] u8 quantized mins

/** Levels clamp(nearest_int(iscale · (x − min)), 0, 15) as f32, given x − min: clamped first, then
 * rounded half to even (`f32x4.nearest`) — the same values, as nearest_int rounds half to even and
 * clamping commutes with rounding to integers 0 and 15 (a NaN lane, only in a flat sub-block whose
 * results are discarded, stays NaN). pmin / pmax: one instruction each. */
@inline function levels(iscale: v128, xm: v128): v128 {
  return f32x4.nearest(f32x4.pmin(f32x4.pmax(f32x4.mul(iscale, xm), f32x4.splat(0)), f32x4.splat(15)));
}

@inline function sel(a: v128, b: v128, m: v128): v128 {
  return v128.bitselect(a, b, m);
}

/** Store x − min of one group ([32, 4] transposed) at `xm`. */
@inline function shifted(xg: usize, mn: v128, xm: usize): void {
  for (let i = 0; i < 32; i++) {
    const o = <usize>i << 4;
    v128.store(xm + o, f32x4.sub(v128.load(xg + o), mn));
  }
}

/** `make_qkx2_quants(32, 15, x, w, L, …, rmin −1, rdelta 0.1, nstep 20, use_mad false)` of all eight
 * sub-blocks, in two groups of four lanes (a: sub-blocks 0..3, b: 4..7) interleaved for instruction-
 * level parallelism. Levels are not written: the caller rebuilds the few it keeps from the best
 * step's iscale and min (the same function of x). Results go to the FIT fields. */
function qkx2(s: usize): void {
  const zero = f32x4.splat(0);
  const xa = s + XT, xb = xa + 512, wa = s + WT, wb = wa + 512, la = s + LF, lb = la + 512, ma = s + XM, mb = ma + 512;
  let x = v128.load(xa), y = v128.load(xb), w = v128.load(wa), v = v128.load(wb);
  let mnA = x, mxA = x, sumWA = w, sumXA = f32x4.mul(w, x);
  let mnB = y, mxB = y, sumWB = v, sumXB = f32x4.mul(v, y);
  for (let i = 1; i < 32; i++) {
    const o = <usize>i << 4;
    x = v128.load(xa + o);
    w = v128.load(wa + o);
    y = v128.load(xb + o);
    v = v128.load(wb + o);
    mnA = minSel(x, mnA);
    mxA = maxSel(x, mxA);
    mnB = minSel(y, mnB);
    mxB = maxSel(y, mxB);
    sumWA = f32x4.add(sumWA, w);
    sumXA = f32x4.add(sumXA, f32x4.mul(w, x));
    sumWB = f32x4.add(sumWB, v);
    sumXB = f32x4.add(sumXB, f32x4.mul(v, y));
  }
  mnA = sel(zero, mnA, f32x4.gt(mnA, zero));
  mnB = sel(zero, mnB, f32x4.gt(mnB, zero));
  const flatA = f32x4.eq(mxA, mnA), flatB = f32x4.eq(mxB, mnB); // these lanes return at once in ggml: L = 0, scale 0
  const min0A = mnA, min0B = mnB;
  shifted(xa, mnA, ma);
  shifted(xb, mnB, mb);
  let isA = f32x4.div(f32x4.splat(15), f32x4.sub(mxA, mnA)), isB = f32x4.div(f32x4.splat(15), f32x4.sub(mxB, mnB));
  let scA = f32x4.div(f32x4.splat(1), isA), scB = f32x4.div(f32x4.splat(1), isB);
  let bestA = zero, bestB = zero;
  for (let i = 0; i < 32; i++) {
    const o = <usize>i << 4;
    const lA = levels(isA, v128.load(ma + o)), lB = levels(isB, v128.load(mb + o));
    const dA = f32x4.sub(f32x4.add(f32x4.mul(scA, lA), mnA), v128.load(xa + o));
    const dB = f32x4.sub(f32x4.add(f32x4.mul(scB, lB), mnB), v128.load(xb + o));
    bestA = f32x4.add(bestA, f32x4.mul(v128.load(wa + o), f32x4.mul(dA, dA)));
    bestB = f32x4.add(bestB, f32x4.mul(v128.load(wb + o), f32x4.mul(dB, dB)));
  }
  let bisA = isA, bminA = mnA, bisB = isB, bminB = mnB;
  const rdelta: f32 = 0.1;
  for (let is = 0; is <= 20; is++) {
    // `mn` may have moved to a better fit in an earlier step; ggml keeps using the moved value
    const num = f32x4.splat((<f32>-1 + rdelta * <f32>is) + <f32>15);
    isA = f32x4.div(num, f32x4.sub(mxA, mnA));
    isB = f32x4.div(num, f32x4.sub(mxB, mnB));
    let sLA = zero, sL2A = zero, sXLA = zero, sLB = zero, sL2B = zero, sXLB = zero;
    for (let i = 0; i < 32; i++) {
      const o = <usize>i << 4;
      const lA = levels(isA, v128.load(ma + o));
      const lB = levels(isB, v128.load(mb + o));
      v128.store(la + o, lA);
      v128.store(lb + o, lB);
      const wlA = f32x4.mul(v128.load(wa + o), lA), wlB = f32x4.mul(v128.load(wb + o), lB);
      sLA = f32x4.add(sLA, wlA);
      sLB = f32x4.add(sLB, wlB);
      sL2A = f32x4.add(sL2A, f32x4.mul(wlA, lA));
      sL2B = f32x4.add(sL2B, f32x4.mul(wlB, lB));
      sXLA = f32x4.add(sXLA, f32x4.mul(wlA, v128.load(xa + o)));
      sXLB = f32x4.add(sXLB, f32x4.mul(wlB, v128.load(xb + o)));
    }
    const DA = f32x4.sub(f32x4.mul(sumWA, sL2A), f32x4.mul(sLA, sLA)), DB = f32x4.sub(f32x4.mul(sumWB, sL2B), f32x4.mul(sLB, sLB));
    const posA = f32x4.gt(DA, zero), posB = f32x4.gt(DB, zero);
    if (!v128.any_true(v128.or(posA, posB))) continue;
    let tsA = f32x4.div(f32x4.sub(f32x4.mul(sumWA, sXLA), f32x4.mul(sumXA, sLA)), DA);
    let tmA = f32x4.div(f32x4.sub(f32x4.mul(sL2A, sumXA), f32x4.mul(sLA, sXLA)), DA);
    let tsB = f32x4.div(f32x4.sub(f32x4.mul(sumWB, sXLB), f32x4.mul(sumXB, sLB)), DB);
    let tmB = f32x4.div(f32x4.sub(f32x4.mul(sL2B, sumXB), f32x4.mul(sLB, sXLB)), DB);
    const adjA = f32x4.gt(tmA, zero), adjB = f32x4.gt(tmB, zero);
    tmA = sel(zero, tmA, adjA);
    tsA = sel(f32x4.div(sXLA, sL2A), tsA, adjA);
    tmB = sel(zero, tmB, adjB);
    tsB = sel(f32x4.div(sXLB, sL2B), tsB, adjB);
    let curA = zero, curB = zero;
    for (let i = 0; i < 32; i++) {
      const o = <usize>i << 4;
      const dA = f32x4.sub(f32x4.add(f32x4.mul(tsA, v128.load(la + o)), tmA), v128.load(xa + o));
      const dB = f32x4.sub(f32x4.add(f32x4.mul(tsB, v128.load(lb + o)), tmB), v128.load(xb + o));
      curA = f32x4.add(curA, f32x4.mul(v128.load(wa + o), f32x4.mul(dA, dA)));
      curB = f32x4.add(curB, f32x4.mul(v128.load(wb + o), f32x4.mul(dB, dB)));
    }
    const impA = v128.and(posA, f32x4.lt(curA, bestA)), impB = v128.and(posB, f32x4.lt(curB, bestB));
    if (v128.any_true(impA)) {
      bestA = sel(curA, bestA, impA);
      bisA = sel(isA, bisA, impA);
      bminA = sel(mnA, bminA, impA);
      scA = sel(tsA, scA, impA);
      mnA = sel(tmA, mnA, impA);
      shifted(xa, mnA, ma);
    }
    if (v128.any_true(impB)) {
      bestB = sel(curB, bestB, impB);
      bisB = sel(isB, bisB, impB);
      bminB = sel(mnB, bminB, impB);
      scB = sel(tsB, scB, impB);
      mnB = sel(tmB, mnB, impB);
      shifted(xb, mnB, mb);
    }
  }
  const f = s + FIT;
  v128.store(f, sel(zero, scA, flatA));
  v128.store(f + 16, sel(zero, scB, flatB));
  v128.store(f + 32, f32x4.neg(sel(min0A, mnA, flatA)));
  v128.store(f + 48, f32x4.neg(sel(min0B, mnB, flatB)));
  v128.store(f + 64, bisA);
  v128.store(f + 80, bisB);
  v128.store(f + 96, bminA);
  v128.store(f + 112, bminB);
  v128.store(f + 128, flatA);
  v128.store(f + 144, flatB);
}

/** One Q4_K super-block: x [256] f32 → dst [144] bytes; s: K4_SCRATCH bytes of this thread's. */
export function q4kBlock(x: usize, dst: usize, s: usize): void {
  transposeRuns(x, s + XT, 2, 32);
  for (let g = 0; g < 2; g++) {
    const xg = s + XT + (<usize>g << 9), wg = s + WT + (<usize>g << 9);
    let sx2 = f32x4.splat(0);
    for (let i = 0; i < 32; i++) {
      const v = v128.load(xg + (<usize>i << 4));
      sx2 = f32x4.add(sx2, f32x4.mul(v, v));
    }
    const avX = f32x4.sqrt(f32x4.div(sx2, f32x4.splat(32)));
    for (let i = 0; i < 32; i++) {
      const o = <usize>i << 4;
      v128.store(wg + o, f32x4.add(avX, f32x4.abs(v128.load(xg + o))));
    }
  }
  qkx2(s);
  // Scales and mins to 6 bits against the largest of each (scalar, in ggml's order).
  let maxScale: f32 = 0, maxMin: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const sc = load<f32>(s + FIT + (<usize>j << 2)), m = load<f32>(s + FIT + 32 + (<usize>j << 2));
    if (sc > maxScale) maxScale = sc;
    if (m > maxMin) maxMin = m;
  }
  const invScale: f32 = maxScale > 0 ? <f32>63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? <f32>63 / maxMin : 0;
  for (let j = 0; j < 8; j++) {
    const sc = load<f32>(s + FIT + (<usize>j << 2)), m = load<f32>(s + FIT + 32 + (<usize>j << 2));
    store<u8>(s + LS + j, <u8>min<i32>(63, nearestInt(invScale * sc) & 0xff));
    store<u8>(s + LS + 8 + j, <u8>min<i32>(63, nearestInt(invMin * m) & 0xff));
  }
  store<u16>(dst, <u16>f32ToHalf(maxScale / 63));
  store<u16>(dst + 2, <u16>f32ToHalf(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const ls = <u32>load<u8>(s + LS + j), lm = <u32>load<u8>(s + LS + 8 + j);
    if (j < 4) {
      store<u8>(dst + 4 + j, <u8>ls);
      store<u8>(dst + 8 + j, <u8>lm);
    } else {
      store<u8>(dst + 8 + j, <u8>((ls & 0x0f) | ((lm & 0x0f) << 4)));
      store<u8>(dst + j, <u8>(<u32>load<u8>(dst + j) | ((ls >> 4) << 6)));
      store<u8>(dst + 4 + j, <u8>(<u32>load<u8>(dst + 4 + j) | ((lm >> 4) << 6)));
    }
  }
  // Levels against the stored (rounded) scales.
  const d = halfToF32(<u32>load<u16>(dst)), dmin = halfToF32(<u32>load<u16>(dst + 2));
  for (let j = 0; j < 8; j++) {
    const dj: f32 = d * <f32>load<u8>(s + LS + j);
    const xj = x + (<usize>j << 7), lj = s + LB + (<usize>j << 5);
    if (dj == 0) {
      keptLevels(xj, lj, s + FIT + (<usize>j << 2));
      continue;
    }
    const dm = f32x4.splat(dmin * <f32>load<u8>(s + LS + 8 + j)), dv = f32x4.splat(dj);
    for (let h = 0; h < 2; h++) {
      const p = xj + (<usize>h << 6);
      const q0 = requant(v128.load(p), dm, dv), q1 = requant(v128.load(p + 16), dm, dv);
      const q2 = requant(v128.load(p + 32), dm, dv), q3 = requant(v128.load(p + 48), dm, dv);
      v128.store(lj + (<usize>h << 4), packBytes(q0, q1, q2, q3));
    }
  }
  for (let c = 0; c < 4; c++) {
    for (let l = 0; l < 32; l += 16) {
      const lo = v128.load(s + LB + (<usize>(64 * c + l))), hi = v128.load(s + LB + (<usize>(64 * c + 32 + l)));
      v128.store(dst + 16 + <usize>(32 * c + l), v128.or(lo, i8x16.shl(hi, 4)));
    }
  }
}

@inline function requant(x: v128, dm: v128, dj: v128): v128 {
  return i32x4.min_s(i32x4.max_s(nearestX4(f32x4.div(f32x4.add(x, dm), dj)), i32x4.splat(0)), i32x4.splat(15));
}

/** The search's own levels of a sub-block whose stored scale came out 0 (ggml keeps them). */
function keptLevels(xj: usize, lj: usize, fit: usize): void {
  const flat = load<i32>(fit + 128) != 0;
  const is = load<f32>(fit + 64), mn = load<f32>(fit + 96);
  for (let i = 0; i < 32; i++) {
    const l = flat ? 0 : min<i32>(15, max<i32>(0, nearestInt(is * (load<f32>(xj + (<usize>i << 2)) - mn))));
    store<u8>(lj + i, <u8>l);
  }
}
