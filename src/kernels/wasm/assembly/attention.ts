// Causal grouped-query attention over a head-major KV cache ([kvHeads, capacity, hd]: one head's
// positions are contiguous, so a head's keys stream without the 4 KiB-apart rows of a
// position-major cache). The cache holds f32 or IEEE halves (the f16 KV cache): every function is
// generic over the element type T (f32 or u16), compiled once for each, so the f32 path carries no
// conversion. A work item is a tile of up to `qtile` query positions × the `heads / kvHeads` query
// heads sharing one kv head: every key row is loaded once per 4 of the tile's query rows, and every
// value row once per position for all of that position's group rows (decode with GQA reads and
// converts K and V once, not once per query head). A prefill tile over halves widens its head's
// rows to f32 once first (`items`). The score dots and cache reads: attention_dots.ts.
//
// Every output value is computed in an order that does not depend on the tiling: a score is one
// two-accumulator dot over hd (the 4-, 2- and 1-row dots agree), softmax runs per row over its own
// causal length, and each output lane sums p_t · v_t over t in order (lanes hd & ~3 .. hd in scalar,
// whichever many-row weighted sum runs).
import { dot2Rows, dot2Rows2Keys, dot4Rows, dotRow, vRaw1, vRaw4 } from "./attention_dots";
import { cHalfMask } from "./features";
import { HALF_REBIAS, halfBitsX4 } from "./half";
import { expNeg, hsum, madd } from "./simd";

/** A decode item's keys in this many equal segments, one key of each in turn (see `tile`). */
const ATT_SEGS: i32 = 4;

/** `acc` xor a word of each 64-byte line of the `bytes`-long row at p: loads that bring the row in. */
@inline function touchRow(acc: v128, p: usize, bytes: usize): v128 {
  for (let o: usize = 0; o < bytes; o += 64) acc = v128.xor(acc, v128.load32_zero(p + o));
  return acc;
}

/** The key scored u-th: segments of `seg` keys taken one key of each in turn, the rest in order. */
@inline function segKey(u: i32, seg: i32): i32 {
  return u < seg * ATT_SEGS ? (u % ATT_SEGS) * seg + u / ATT_SEGS : u;
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


/** Softmax of score row `sp` over `len` keys, then (`raw`: values as half bits) × 2^112 for `vRaw4`
 * (exact: a power of two). */
@inline function prepareWeights(sp: usize, len: i32, raw: bool): void {
  softmax(sp, len);
  if (raw) {
    const s = f32x4.splat(HALF_REBIAS);
    let t = 0;
    for (; t + 4 <= len; t += 4) v128.store(sp + (<usize>t << 2), f32x4.mul(v128.load(sp + (<usize>t << 2)), s));
    for (; t < len; t++) store<f32>(sp + (<usize>t << 2), load<f32>(sp + (<usize>t << 2)) * HALF_REBIAS);
  }
}

/** Scalar lanes hd & ~3 .. hd of a weighted sum: out row at `op` = Σ_t p[t] · v row t. */
@inline function sumTail<T>(sp: usize, vh: usize, vs: usize, len: i32, hd: i32, op: usize): void {
  for (let c = hd & ~3; c < hd; c++) {
    let acc: f32 = 0;
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) acc += load<f32>(sp + (<usize>t << 2)) * vRaw1<T>(vp, c);
    store<f32>(op + (<usize>c << 2), acc);
  }
}

// The weighted sums run over the value rows a block at a time (`vBlock` rows, 16 KiB), for every
// position of a tile in turn (`tile`): a block stays in L1 while each position's dim slices pass
// over it, so the rows come from L2 / L3 once per tile instead of once per position and slice. A
// block's sums continue from the stored ones (`more`): the same operations per lane in the same
// order, so the same bits as one pass over all rows. The scalar lanes (`sumTail`) run once, apart.

/** Value rows per block of the weighted sums: 16 KiB of rows `vs` bytes long (at least 4). */
@inline function vBlock(vs: usize): i32 {
  return max(4, <i32>(16384 / vs));
}

/** A sum's accumulator: 0, or (`more`) the sum stored at p. */
@inline function acc0(more: bool, p: usize): v128 {
  return more ? v128.load(p) : f32x4.splat(0);
}

/** The SIMD lanes of out row at `op` (+)= Σ_t p[t] · v row t for t < len (p: weights at `sp`; v
 * rows `vs` bytes apart from `vh`; `more`: add to the stored sums). Slices of 32 dims held in eight
 * registers across all t (no per-t stores). */
@inline function weightedSum1<T>(sp: usize, vh: usize, vs: usize, len: i32, hd: i32, op: usize, more: bool): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  let c = 0;
  for (; c + 32 <= hd; c += 32) {
    const dst = op + (<usize>c << 2);
    let o0 = acc0(more, dst), o1 = acc0(more, dst + 16), o2 = acc0(more, dst + 32), o3 = acc0(more, dst + 48);
    let o4 = acc0(more, dst + 64), o5 = acc0(more, dst + 80), o6 = acc0(more, dst + 96), o7 = acc0(more, dst + 112);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) {
      const ps = v128.load32_splat(sp + (<usize>t << 2));
      o0 = madd(ps, vRaw4<T>(vp, c, hm), o0); o1 = madd(ps, vRaw4<T>(vp, c + 4, hm), o1);
      o2 = madd(ps, vRaw4<T>(vp, c + 8, hm), o2); o3 = madd(ps, vRaw4<T>(vp, c + 12, hm), o3);
      o4 = madd(ps, vRaw4<T>(vp, c + 16, hm), o4); o5 = madd(ps, vRaw4<T>(vp, c + 20, hm), o5);
      o6 = madd(ps, vRaw4<T>(vp, c + 24, hm), o6); o7 = madd(ps, vRaw4<T>(vp, c + 28, hm), o7);
    }
    v128.store(dst, o0); v128.store(dst + 16, o1); v128.store(dst + 32, o2); v128.store(dst + 48, o3);
    v128.store(dst + 64, o4); v128.store(dst + 80, o5); v128.store(dst + 96, o6); v128.store(dst + 112, o7);
  }
  for (; c + 4 <= hd; c += 4) {
    const dst = op + (<usize>c << 2);
    let o0 = acc0(more, dst);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) o0 = madd(v128.load32_splat(sp + (<usize>t << 2)), vRaw4<T>(vp, c, hm), o0);
    v128.store(dst, o0);
  }
}

/** `weightedSum1` for two rows of one position (weights `ss` bytes apart, outputs `os` apart) over
 * the same value rows, each loaded once: slices of 16 dims, four registers per row. */
@inline function weightedSum2<T>(sp: usize, ss: usize, vh: usize, vs: usize, len: i32, hd: i32, op: usize, os: usize, more: bool): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  let c = 0;
  for (; c + 16 <= hd; c += 16) {
    const da = op + (<usize>c << 2), db = da + os;
    let a0 = acc0(more, da), a1 = acc0(more, da + 16), a2 = acc0(more, da + 32), a3 = acc0(more, da + 48);
    let b0 = acc0(more, db), b1 = acc0(more, db + 16), b2 = acc0(more, db + 32), b3 = acc0(more, db + 48);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) {
      const pa = v128.load32_splat(sp + (<usize>t << 2)), pb = v128.load32_splat(sp + ss + (<usize>t << 2));
      const v0 = vRaw4<T>(vp, c, hm), v1 = vRaw4<T>(vp, c + 4, hm), v2 = vRaw4<T>(vp, c + 8, hm), v3 = vRaw4<T>(vp, c + 12, hm);
      a0 = madd(pa, v0, a0); a1 = madd(pa, v1, a1); a2 = madd(pa, v2, a2); a3 = madd(pa, v3, a3);
      b0 = madd(pb, v0, b0); b1 = madd(pb, v1, b1); b2 = madd(pb, v2, b2); b3 = madd(pb, v3, b3);
    }
    v128.store(da, a0); v128.store(da + 16, a1); v128.store(da + 32, a2); v128.store(da + 48, a3);
    v128.store(db, b0); v128.store(db + 16, b1); v128.store(db + 32, b2); v128.store(db + 48, b3);
  }
  for (; c + 4 <= hd; c += 4) {
    const da = op + (<usize>c << 2);
    let a0 = acc0(more, da), b0 = acc0(more, da + os);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) {
      const v0 = vRaw4<T>(vp, c, hm);
      a0 = madd(v128.load32_splat(sp + (<usize>t << 2)), v0, a0);
      b0 = madd(v128.load32_splat(sp + ss + (<usize>t << 2)), v0, b0);
    }
    v128.store(da, a0);
    v128.store(da + os, b0);
  }
}

/** `weightedSum1` for four rows of one position over the same value rows, each loaded once: slices
 * of 8 dims, two registers per row. */
@inline function weightedSum4<T>(sp: usize, ss: usize, vh: usize, vs: usize, len: i32, hd: i32, op: usize, os: usize, more: bool): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  let c = 0;
  for (; c + 8 <= hd; c += 8) {
    const d = op + (<usize>c << 2);
    let a0 = acc0(more, d), a1 = acc0(more, d + 16), b0 = acc0(more, d + os), b1 = acc0(more, d + os + 16);
    let c0 = acc0(more, d + 2 * os), c1 = acc0(more, d + 2 * os + 16), d0 = acc0(more, d + 3 * os), d1 = acc0(more, d + 3 * os + 16);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) {
      const w = sp + (<usize>t << 2);
      const v0 = vRaw4<T>(vp, c, hm), v1 = vRaw4<T>(vp, c + 4, hm);
      const pa = v128.load32_splat(w), pb = v128.load32_splat(w + ss);
      a0 = madd(pa, v0, a0); a1 = madd(pa, v1, a1); b0 = madd(pb, v0, b0); b1 = madd(pb, v1, b1);
      const pc = v128.load32_splat(w + 2 * ss), pd = v128.load32_splat(w + 3 * ss);
      c0 = madd(pc, v0, c0); c1 = madd(pc, v1, c1); d0 = madd(pd, v0, d0); d1 = madd(pd, v1, d1);
    }
    v128.store(d, a0); v128.store(d + 16, a1); v128.store(d + os, b0); v128.store(d + os + 16, b1);
    v128.store(d + 2 * os, c0); v128.store(d + 2 * os + 16, c1); v128.store(d + 3 * os, d0); v128.store(d + 3 * os + 16, d1);
  }
  for (; c + 4 <= hd; c += 4) {
    const d = op + (<usize>c << 2);
    let a0 = acc0(more, d), b0 = acc0(more, d + os), c0 = acc0(more, d + 2 * os), d0 = acc0(more, d + 3 * os);
    let vp = vh;
    for (let t = 0; t < len; t++, vp += vs) {
      const w = sp + (<usize>t << 2);
      const v0 = vRaw4<T>(vp, c, hm);
      a0 = madd(v128.load32_splat(w), v0, a0); b0 = madd(v128.load32_splat(w + ss), v0, b0);
      c0 = madd(v128.load32_splat(w + 2 * ss), v0, c0); d0 = madd(v128.load32_splat(w + 3 * ss), v0, d0);
    }
    v128.store(d, a0); v128.store(d + os, b0); v128.store(d + 2 * os, c0); v128.store(d + 3 * os, d0);
  }
}

/** One work item: query positions ia .. ib - 1 × the `group` heads of kv head g, over that head's
 * key rows at `kh` and value rows at `vh` (`ks` bytes apart, element T). `raw`: the rows hold halves'
 * 2^-112-scaled bits (`vRaw4`), so the weights get × 2^112 (and `scale` came × 2^112). */
function tile<T>(q: usize, out: usize, scratch: usize, qpack: usize, stride: usize, start: i32, ia: i32, ib: i32, heads: i32, g: i32, group: i32, hd: i32, kh: usize, vh: usize, ks: usize, scale: f32, raw: bool): void {
  const rs = <usize>hd << 2; // bytes per q / out row
  const m = (ib - ia) * group; // score rows: r = (i - ia) · group + j
  const tlen = start + ib; // keys any row of the tile sees
  const qh = q + <usize>(ia * heads + g * group) * rs; // row r's q: qh + qOff(r)
  const qs = <usize>heads * rs; // bytes between positions
  // The tile's q rows, packed: in q they sit `heads · hd · 4` bytes apart per position — a multiple
  // of 4 KiB for common shapes, so the rows of a tile would share L1 sets and evict each other.
  for (let r = 0; r < m; r++) memory.copy(qpack + <usize>r * rs, qh + qOff(r, group, qs, rs), rs);
  // A decode item (one position) touches each value row's cache lines beside its key row, so the
  // value rows come in from DRAM while the dots compute and the weighted sums find them in cache
  // (Qwen3-0.6B's 28 layers at 551 positions, AMD EPYC Zen 5: 8.9 -> 5.7 ms on 1 thread, 4.9 -> 3.2
  // on 2; the sums alone took 6.2 ms from DRAM, 2.6 from cache, and widening the value rows first,
  // one sequential read, still 5.7: what costs is the wait, not the stride).
  // Its scores also go over the keys in ATT_SEGS equal segments, one key of each in turn (`segKey`),
  // the rest in order: four K and four V streams instead of one each, which the prefetcher serves
  // faster (cf. streams.ts). With two rows (GQA groups of two), keys go in pairs from two segments
  // (dot2Rows2Keys): four dot chains in flight instead of two. Each score is computed as before, so
  // the same bits. Qwen3-0.6B-shaped attention at 577 positions, f16 cache, Intel Xeon, 2 threads:
  // 250 layers from DRAM 50.7 / 53.2 → 47.1 / 47.7 ms (segments) → 43.6 / 44.1 (pairs); 28 layers
  // from the L3 (480 MiB on that host) 6.2 → 4.5–4.8 → 4.2–4.4 ms.
  const touch = ib - ia == 1;
  let touched = i32x4.splat(0);
  const seg = touch ? tlen / ATT_SEGS : 0;
  let u0 = 0;
  if (touch && m == 2) {
    for (; u0 + 2 <= seg * ATT_SEGS; u0 += 2) {
      const t = segKey(u0, seg), t2 = segKey(u0 + 1, seg);
      touched = touchRow(touchRow(touched, vh + <usize>t * ks, ks), vh + <usize>t2 * ks, ks);
      dot2Rows2Keys<T>(qpack, qpack + rs, kh + <usize>t * ks, kh + <usize>t2 * ks, hd, scale, scratch + (<usize>t << 2), scratch + (<usize>t2 << 2), stride);
    }
  }
  for (let u = u0; u < tlen; u++) {
    const t = segKey(u, seg);
    const kp = kh + <usize>t * ks;
    const dst = scratch + (<usize>t << 2);
    if (touch) touched = touchRow(touched, vh + <usize>t * ks, ks);
    let r = 0;
    for (; r + 4 <= m; r += 4) {
      const qa = qpack + <usize>r * rs;
      dot4Rows<T>(qa, qa + rs, qa + 2 * rs, qa + 3 * rs, kp, hd, scale, dst + <usize>r * stride, stride);
    }
    if (r + 2 <= m) {
      dot2Rows<T>(qpack + <usize>r * rs, qpack + <usize>(r + 1) * rs, kp, hd, scale, dst + <usize>r * stride, stride);
      r += 2;
    }
    for (; r < m; r++) dotRow<T>(qpack + <usize>r * rs, kp, hd, scale, dst + <usize>r * stride);
  }
  if (touch) v128.store(qpack, touched); // keeps the loads; the packed q rows are not read again
  // Per position, its group rows share their causal length, so they share each value row's load;
  // a block of value rows at a time for all the tile's positions (each block read from L2 / L3 once
  // per tile, not once per position: 512 new positions after 3,584, 4 layers, 1.47 -> 1.12 s).
  for (let r = 0; r < m; r++) prepareWeights(scratch + <usize>r * stride, start + ia + r / group + 1, raw);
  const vb = vBlock(ks);
  for (let t0 = 0; t0 < tlen; t0 += vb) {
    const more = t0 > 0, vr = vh + <usize>t0 * ks;
    for (let i = max(ia, t0 - start); i < ib; i++) { // positions that see row t0
      const cnt = min(vb, start + i + 1 - t0);
      const sb = scratch + <usize>((i - ia) * group) * stride + (<usize>t0 << 2);
      const op = out + <usize>(i * heads + g * group) * rs;
      let j = 0;
      for (; j + 4 <= group; j += 4) weightedSum4<T>(sb + <usize>j * stride, stride, vr, ks, cnt, hd, op + <usize>j * rs, rs, more);
      if (j + 2 <= group) {
        weightedSum2<T>(sb + <usize>j * stride, stride, vr, ks, cnt, hd, op + <usize>j * rs, rs, more);
        j += 2;
      }
      for (; j < group; j++) weightedSum1<T>(sb + <usize>j * stride, vr, ks, cnt, hd, op + <usize>j * rs, more);
    }
  }
  if (hd & 3) {
    for (let r = 0; r < m; r++) {
      const i = ia + r / group;
      sumTail<T>(scratch + <usize>r * stride, vh, ks, start + i + 1, hd, out + <usize>(i * heads + g * group + r % group) * rs);
    }
  }
}

/** `count` halves at `src` → their 2^-112-scaled bits as f32 at `dst` (what `vRaw4<u16>` reads). */
@inline function widen(src: usize, dst: usize, count: i32): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), halfBitsX4(src + (<usize>i << 1), hm));
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), vRaw1<u16>(src, i));
}

/** Items i0..i1 of the [ceil(n / qtile), kvHeads] grid with cache element T. A prefill tile over an
 * f16 cache first widens its head's key and value rows into `wide` (this thread's 2 · (start + n) ·
 * hd f32; 0: not allocated) — once per tile instead of once per 4 query rows (keys) and per position
 * (values) — and runs the f32 code on them: the same values, so the same bits. */
function items<T>(q: usize, k: usize, v: usize, out: usize, scratch: usize, stride: usize, start: i32, n: i32, heads: i32, kvHeads: i32, hd: i32, capacity: i32, qtile: i32, scale: f32, wide: usize, i0: i32, i1: i32): void {
  const group = heads / kvHeads;
  const ks = <usize>hd * sizeof<T>(); // bytes per cache row
  const kscale = isInteger<T>() ? scale * HALF_REBIAS : scale; // raw half bits: see vRaw4
  const qpack = scratch + <usize>(qtile * group) * stride; // this thread's packed q rows
  for (let it = i0; it < i1; it++) {
    const g = it % kvHeads;
    const ia = (it / kvHeads) * qtile, ib = min(n, ia + qtile);
    const kh = k + <usize>g * <usize>capacity * ks, vh = v + <usize>g * <usize>capacity * ks;
    if (isInteger<T>() && wide != 0 && ib - ia > 1) {
      const count = (start + ib) * hd; // one head's rows are contiguous
      const wk = wide, wv = wide + (<usize>count << 2);
      widen(kh, wk, count);
      widen(vh, wv, count);
      tile<f32>(q, out, scratch, qpack, stride, start, ia, ib, heads, g, group, hd, wk, wv, <usize>hd << 2, kscale, true);
    } else {
      tile<T>(q, out, scratch, qpack, stride, start, ia, ib, heads, g, group, hd, kh, vh, ks, kscale, isInteger<T>());
    }
  }
}

/** Items i0..i1 of the [ceil(n / qtile), kvHeads] grid. q, out: [n, heads, hd] f32; k, v:
 * [kvHeads, capacity, hd], f32 or (f16 ≠ 0) IEEE halves; scratch: this thread's
 * [qtile · heads / kvHeads, stride / 4] f32 (stride ≥ 4·(start + n) bytes), one score row per
 * (query position, head of the group); wide: see `items`. */
export function attentionItems(q: usize, k: usize, v: usize, out: usize, scratch: usize, stride: usize, start: i32, n: i32, heads: i32, kvHeads: i32, hd: i32, capacity: i32, qtile: i32, scale: f32, f16: i32, wide: usize, i0: i32, i1: i32): void {
  if (f16 != 0) items<u16>(q, k, v, out, scratch, stride, start, n, heads, kvHeads, hd, capacity, qtile, scale, wide, i0, i1);
  else items<f32>(q, k, v, out, scratch, stride, start, n, heads, kvHeads, hd, capacity, qtile, scale, 0, i0, i1);
}

/** Byte offset of score row r's query (and output) row from the tile's first: position r / group,
 * head r % group of the group. */
@inline function qOff(r: i32, group: i32, qs: usize, rs: usize): usize {
  return <usize>(r / group) * qs + <usize>(r % group) * rs;
}
