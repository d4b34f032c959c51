// Element-wise and attention kernels. Each works on items `i0 .. i1` so the pool can split it.
import { dotF32, hsum, madd } from "./simd";

/** RMSNorm rows i0..i1. x, out: [rows, dim] f32 (may alias); w: [dim] f32. */
export function rmsNormRows(x: usize, w: usize, out: usize, dim: i32, eps: f32, i0: i32, i1: i32): void {
  const body = dim & ~3;
  for (let r = i0; r < i1; r++) {
    const xr = x + ((<usize>r * dim) << 2), orow = out + ((<usize>r * dim) << 2);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c < body; c += 4) {
      const v = v128.load(xr + (<usize>c << 2));
      acc = madd(v, v, acc);
    }
    let ss = hsum(acc);
    for (; c < dim; c++) { const v = load<f32>(xr + (<usize>c << 2)); ss += v * v; }
    const inv: f32 = 1 / Mathf.sqrt(ss / <f32>dim + eps);
    const iv = f32x4.splat(inv);
    c = 0;
    for (; c < body; c += 4) {
      const o = <usize>c << 2;
      v128.store(orow + o, f32x4.mul(f32x4.mul(v128.load(xr + o), iv), v128.load(w + o)));
    }
    for (; c < dim; c++) { const o = <usize>c << 2; store<f32>(orow + o, load<f32>(xr + o) * inv * load<f32>(w + o)); }
  }
}

/** Rotary embedding (rotate_half) on items i0..i1 of the [n, heads] grid, in place.
 * x: [n, heads, hd] f32; cos, sin: [n, hd / 2] f32. */
export function ropeItems(x: usize, cos: usize, sin: usize, heads: i32, hd: i32, i0: i32, i1: i32): void {
  const half = hd >> 1;
  const body = half & ~3;
  for (let it = i0; it < i1; it++) {
    const row = it / heads;
    const p = x + ((<usize>it * hd) << 2), pb = p + (<usize>half << 2);
    const cp = cos + ((<usize>row * half) << 2), sp = sin + ((<usize>row * half) << 2);
    let j = 0;
    for (; j < body; j += 4) {
      const o = <usize>j << 2;
      const a = v128.load(p + o), b = v128.load(pb + o), c = v128.load(cp + o), s = v128.load(sp + o);
      v128.store(p + o, f32x4.sub(f32x4.mul(a, c), f32x4.mul(b, s)));
      v128.store(pb + o, f32x4.add(f32x4.mul(b, c), f32x4.mul(a, s)));
    }
    for (; j < half; j++) {
      const o = <usize>j << 2;
      const a = load<f32>(p + o), b = load<f32>(pb + o), c = load<f32>(cp + o), s = load<f32>(sp + o);
      store<f32>(p + o, a * c - b * s);
      store<f32>(pb + o, b * c + a * s);
    }
  }
}

/** out[i] = silu(gate[i]) · up[i] for i in i0..i1 (out may alias gate). All [length] f32. */
export function siluMulRange(gate: usize, up: usize, out: usize, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(gate + o);
    store<f32>(out + o, (g / (1 + Mathf.exp(-g))) * load<f32>(up + o));
  }
}

/** e^x on four lanes for x ≤ 0 (softmax arguments): x = n·ln2 + r with |r| ≤ ln2/2, e^r by a
 * degree-6 polynomial (relative error ~2e-7), 2^n added into the exponent; x < −87 gives 0. */
@inline function expNeg(x: v128): v128 {
  const xc = f32x4.max(x, f32x4.splat(-87));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.4426950408889634)));
  const r = f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693359375))), f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.3888889e-3);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3333333e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1666667e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666667e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1));
  const scaled = i32x4.add(p, i32x4.shl(i32x4.trunc_sat_f32x4_s(n), 23));
  return v128.andnot(scaled, f32x4.lt(x, f32x4.splat(-87)));
}

/** Softmax in place over p[0 .. len) (SIMD exp; the scalar tail uses the same polynomial). */
export function softmax(p: usize, len: i32): void {
  let mv = f32x4.splat(-Infinity);
  const body = len & ~3;
  let t = 0;
  for (; t < body; t += 4) mv = f32x4.max(mv, v128.load(p + (<usize>t << 2)));
  let m: f32 = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; t < len; t++) m = max(m, load<f32>(p + (<usize>t << 2)));
  const ms = f32x4.splat(m);
  let sv = f32x4.splat(0);
  for (t = 0; t < body; t += 4) {
    const e = expNeg(f32x4.sub(v128.load(p + (<usize>t << 2)), ms));
    v128.store(p + (<usize>t << 2), e);
    sv = f32x4.add(sv, e);
  }
  let sum = hsum(sv);
  for (; t < len; t++) {
    const e = f32x4.extract_lane(expNeg(f32x4.splat(load<f32>(p + (<usize>t << 2)) - m)), 0);
    store<f32>(p + (<usize>t << 2), e);
    sum += e;
  }
  const inv = f32x4.splat(<f32>1 / sum);
  for (t = 0; t < body; t += 4) v128.store(p + (<usize>t << 2), f32x4.mul(v128.load(p + (<usize>t << 2)), inv));
  for (; t < len; t++) store<f32>(p + (<usize>t << 2), load<f32>(p + (<usize>t << 2)) * f32x4.extract_lane(inv, 0));
}

/** Dot of two f32 vectors with four independent accumulators (latency-bound otherwise). */
@inline function dot4(a: usize, b: usize, len: i32): f32 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const o = <usize>i << 2;
    a0 = madd(v128.load(a + o), v128.load(b + o), a0);
    a1 = madd(v128.load(a + o + 16), v128.load(b + o + 16), a1);
    a2 = madd(v128.load(a + o + 32), v128.load(b + o + 32), a2);
    a3 = madd(v128.load(a + o + 48), v128.load(b + o + 48), a3);
  }
  return hsum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))) + dotF32(a + (<usize>i << 2), b + (<usize>i << 2), len - i);
}

/** Causal GQA attention for items i0..i1 of the [n, kvHeads] grid: each item runs the `heads /
 * kvHeads` query heads that share one kv head, so that head's K and V rows are read once from memory
 * for all of them. q, out: [n, heads, hd] f32; k, v: [capacity, kvHeads, hd] f32; scratch: this
 * thread's [heads / kvHeads, stride / 4] f32 (stride ≥ 4·(start + n) bytes). */
export function attentionItems(q: usize, k: usize, v: usize, out: usize, scratch: usize, stride: usize, start: i32, heads: i32, kvHeads: i32, hd: i32, scale: f32, i0: i32, i1: i32): void {
  const group = heads / kvHeads;
  const kvStride = (<usize>kvHeads * hd) << 2;
  for (let it = i0; it < i1; it++) {
    const i = it / kvHeads, g = it % kvHeads;
    const len = start + i + 1;
    const kvo = (<usize>g * hd) << 2;
    const h0 = i * heads + g * group; // first query head of the group, as a [n, heads] index
    for (let t = 0; t < len; t++) {
      const kp = k + <usize>t * kvStride + kvo;
      for (let j = 0; j < group; j++) {
        store<f32>(scratch + <usize>j * stride + (<usize>t << 2), dot4(q + ((<usize>(h0 + j) * hd) << 2), kp, hd) * scale);
      }
    }
    for (let j = 0; j < group; j++) softmax(scratch + <usize>j * stride, len);
    for (let j = 0; j < group; j++) {
      const sp = scratch + <usize>j * stride;
      const op = out + ((<usize>(h0 + j) * hd) << 2);
      // Σ_t p_t · v_t in slices of 32 dims held in eight registers across all t (no per-t stores).
      let c = 0;
      for (; c + 32 <= hd; c += 32) {
        let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
        let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
        let vp = v + kvo + (<usize>c << 2);
        for (let t = 0; t < len; t++, vp += kvStride) {
          const ps = f32x4.splat(load<f32>(sp + (<usize>t << 2)));
          o0 = madd(ps, v128.load(vp), o0); o1 = madd(ps, v128.load(vp + 16), o1);
          o2 = madd(ps, v128.load(vp + 32), o2); o3 = madd(ps, v128.load(vp + 48), o3);
          o4 = madd(ps, v128.load(vp + 64), o4); o5 = madd(ps, v128.load(vp + 80), o5);
          o6 = madd(ps, v128.load(vp + 96), o6); o7 = madd(ps, v128.load(vp + 112), o7);
        }
        const dst = op + (<usize>c << 2);
        v128.store(dst, o0); v128.store(dst + 16, o1); v128.store(dst + 32, o2); v128.store(dst + 48, o3);
        v128.store(dst + 64, o4); v128.store(dst + 80, o5); v128.store(dst + 96, o6); v128.store(dst + 112, o7);
      }
      for (; c < hd; c++) {
        let acc: f32 = 0;
        for (let t = 0; t < len; t++) acc += load<f32>(sp + (<usize>t << 2)) * load<f32>(v + <usize>t * kvStride + kvo + (<usize>c << 2));
        store<f32>(op + (<usize>c << 2), acc);
      }
    }
  }
}
