// Causal grouped-query attention over a head-major KV cache ([kvHeads, capacity, hd]: one head's
// positions are contiguous, so a head's keys stream without the 4 KiB-apart rows of a
// position-major cache). A work item is a tile of up to `qtile` query positions × the `heads /
// kvHeads` query heads sharing one kv head: every key row is loaded once per tile and dotted with
// all of the tile's query rows, and a tile's V rows are reused from cache by all of its rows.
//
// Every output value is computed in an order that does not depend on the tiling: a score is one
// two-accumulator dot over hd (the 4-row and 1-row dots agree), softmax runs per row over its own
// causal length, and each output lane sums p_t · v_t over t in order.
import { hsum, madd } from "./simd";

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

/** Scalar tail of a dot over dims body .. hd. */
@inline function tail(a: usize, b: usize, body: i32, hd: i32): f32 {
  let s: f32 = 0;
  for (let c = body; c < hd; c++) s += load<f32>(a + (<usize>c << 2)) * load<f32>(b + (<usize>c << 2));
  return s;
}

/** One score: q row at `qa` · key row `kp` (hd f32) · scale, stored at `dst`. Two accumulators over
 * alternate 4-dim slices, then the scalar tail — the same order as `dot4Rows`. */
@inline function dotRow(qa: usize, kp: usize, hd: i32, scale: f32, dst: usize): void {
  const body = hd & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  for (let c = 0; c < body; c += 8) {
    const o = <usize>c << 2;
    a0 = madd(v128.load(qa + o), v128.load(kp + o), a0);
    a1 = madd(v128.load(qa + o + 16), v128.load(kp + o + 16), a1);
  }
  store<f32>(dst, (hsum(f32x4.add(a0, a1)) + tail(qa, kp, body, hd)) * scale);
}

/** Four scores sharing key row `kp` (loaded once): q rows at qa..qd, stored `stride` bytes apart from `dst`. */
@inline function dot4Rows(qa: usize, qb: usize, qc: usize, qd: usize, kp: usize, hd: i32, scale: f32, dst: usize, stride: usize): void {
  const body = hd & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  for (let c = 0; c < body; c += 8) {
    const o = <usize>c << 2;
    const k0 = v128.load(kp + o), k1 = v128.load(kp + o + 16);
    a0 = madd(v128.load(qa + o), k0, a0); a1 = madd(v128.load(qa + o + 16), k1, a1);
    b0 = madd(v128.load(qb + o), k0, b0); b1 = madd(v128.load(qb + o + 16), k1, b1);
    c0 = madd(v128.load(qc + o), k0, c0); c1 = madd(v128.load(qc + o + 16), k1, c1);
    d0 = madd(v128.load(qd + o), k0, d0); d1 = madd(v128.load(qd + o + 16), k1, d1);
  }
  store<f32>(dst, (hsum(f32x4.add(a0, a1)) + tail(qa, kp, body, hd)) * scale);
  store<f32>(dst + stride, (hsum(f32x4.add(b0, b1)) + tail(qb, kp, body, hd)) * scale);
  store<f32>(dst + 2 * stride, (hsum(f32x4.add(c0, c1)) + tail(qc, kp, body, hd)) * scale);
  store<f32>(dst + 3 * stride, (hsum(f32x4.add(d0, d1)) + tail(qd, kp, body, hd)) * scale);
}

/** out row at `op` = Σ_t p[t] · v row t for t < len (p: f32 at `sp`; v rows hd f32, contiguous from `vh`). */
@inline function weightedSum(sp: usize, vh: usize, len: i32, hd: i32, op: usize): void {
  const vs = <usize>hd << 2;
  // Slices of 32 dims held in eight registers across all t (no per-t stores).
  let c = 0;
  for (; c + 32 <= hd; c += 32) {
    let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
    let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
    let vp = vh + (<usize>c << 2);
    for (let t = 0; t < len; t++, vp += vs) {
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
    for (let t = 0; t < len; t++) acc += load<f32>(sp + (<usize>t << 2)) * load<f32>(vh + <usize>t * vs + (<usize>c << 2));
    store<f32>(op + (<usize>c << 2), acc);
  }
}

/** Items i0..i1 of the [ceil(n / qtile), kvHeads] grid. q, out: [n, heads, hd] f32; k, v:
 * [kvHeads, capacity, hd] f32; scratch: this thread's [qtile · heads / kvHeads, stride / 4] f32
 * (stride ≥ 4·(start + n) bytes), one score row per (query position, head of the group). */
export function attentionItems(q: usize, k: usize, v: usize, out: usize, scratch: usize, stride: usize, start: i32, n: i32, heads: i32, kvHeads: i32, hd: i32, capacity: i32, qtile: i32, scale: f32, i0: i32, i1: i32): void {
  const group = heads / kvHeads;
  const rs = <usize>hd << 2; // bytes per q / out / cache row
  for (let it = i0; it < i1; it++) {
    const g = it % kvHeads;
    const ia = (it / kvHeads) * qtile, ib = min(n, ia + qtile);
    const m = (ib - ia) * group; // score rows: r = (i - ia) · group + j
    const tlen = start + ib; // keys any row of the tile sees
    const kh = k + <usize>g * <usize>capacity * rs, vh = v + <usize>g * <usize>capacity * rs;
    const qh = q + <usize>(ia * heads + g * group) * rs; // row r's q: qh + qoff(r)
    const qs = <usize>heads * rs; // bytes between positions
    for (let t = 0; t < tlen; t++) {
      const kp = kh + <usize>t * rs;
      const dst = scratch + (<usize>t << 2);
      let r = 0;
      for (; r + 4 <= m; r += 4) {
        dot4Rows(qh + qOff(r, group, qs, rs), qh + qOff(r + 1, group, qs, rs), qh + qOff(r + 2, group, qs, rs), qh + qOff(r + 3, group, qs, rs), kp, hd, scale, dst + <usize>r * stride, stride);
      }
      for (; r < m; r++) dotRow(qh + qOff(r, group, qs, rs), kp, hd, scale, dst + <usize>r * stride);
    }
    for (let r = 0; r < m; r++) {
      const sp = scratch + <usize>r * stride;
      const len = start + ia + r / group + 1;
      softmax(sp, len);
      weightedSum(sp, vh, len, hd, out + <usize>(ia * heads + g * group) * rs + qOff(r, group, qs, rs));
    }
  }
}

/** Byte offset of score row r's query (and output) row from the tile's first: position r / group,
 * head r % group of the group. */
@inline function qOff(r: i32, group: i32, qs: usize, rs: usize): usize {
  return <usize>(r / group) * qs + <usize>(r % group) * rs;
}
