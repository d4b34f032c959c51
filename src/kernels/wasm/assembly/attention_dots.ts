// The attention's score dots and cache reads (assembly/attention.ts). A score is one
// two-accumulator dot over hd, then the scalar tail: the 1-, 2- and 4-row dots and the two-key dot
// run the same operations per score, so every score is the same bits whichever of them computes it.
import { cHalfMask } from "./features";
import { halfBitsX4 } from "./half";
import { hsum, madd } from "./simd";

/** Four cache values of the row at `p` from dim `c` as f32; halves (T = u16) as their 2^-112-scaled
 * bits, without the multiply: the weighted sums take weights × 2^112 (`prepareWeights`) — the same
 * real products p · v, so the same rounded results — and the dots a scale × 2^112 (`items`), their
 * raw partial sums being 2^-112 times the true ones (only values below 2^-14 lose bits, ~2^-38
 * absolutely, far under a score's own rounding). One multiply fewer per four values. */
@inline export function vRaw4<T>(p: usize, c: i32, hm: v128): v128 {
  if (isInteger<T>()) return halfBitsX4(p + (<usize>c << 1), hm);
  return v128.load(p + (<usize>c << 2));
}

/** The scalar lane of `vRaw4`. */
@inline export function vRaw1<T>(p: usize, c: i32): f32 {
  if (isInteger<T>()) return reinterpret<f32>((<i32>load<i16>(p + (<usize>c << 1)) << 13) & <i32>0x8fffe000);
  return load<f32>(p + (<usize>c << 2));
}

/** Scalar tail of a dot over dims body .. hd. */
@inline function tail<T>(a: usize, kp: usize, body: i32, hd: i32): f32 {
  let s: f32 = 0;
  for (let c = body; c < hd; c++) s += load<f32>(a + (<usize>c << 2)) * vRaw1<T>(kp, c);
  return s;
}

/** One score: q row at `qa` · key row `kp` · scale, stored at `dst`. Two accumulators over
 * alternate 4-dim slices, then the scalar tail — the same order as `dot2Rows` and `dot4Rows`. */
@inline export function dotRow<T>(qa: usize, kp: usize, hd: i32, scale: f32, dst: usize): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  const body = hd & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
  for (let c = 0; c < body; c += 8) {
    const o = <usize>c << 2;
    a0 = madd(v128.load(qa + o), vRaw4<T>(kp, c, hm), a0);
    a1 = madd(v128.load(qa + o + 16), vRaw4<T>(kp, c + 4, hm), a1);
  }
  store<f32>(dst, (hsum(f32x4.add(a0, a1)) + tail<T>(qa, kp, body, hd)) * scale);
}

/** Two scores sharing key row `kp` (loaded once): q rows at qa, qb, stored `stride` bytes apart from `dst`. */
@inline export function dot2Rows<T>(qa: usize, qb: usize, kp: usize, hd: i32, scale: f32, dst: usize, stride: usize): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  const body = hd & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  for (let c = 0; c < body; c += 8) {
    const o = <usize>c << 2;
    const k0 = vRaw4<T>(kp, c, hm), k1 = vRaw4<T>(kp, c + 4, hm);
    a0 = madd(v128.load(qa + o), k0, a0); a1 = madd(v128.load(qa + o + 16), k1, a1);
    b0 = madd(v128.load(qb + o), k0, b0); b1 = madd(v128.load(qb + o + 16), k1, b1);
  }
  store<f32>(dst, (hsum(f32x4.add(a0, a1)) + tail<T>(qa, kp, body, hd)) * scale);
  store<f32>(dst + stride, (hsum(f32x4.add(b0, b1)) + tail<T>(qb, kp, body, hd)) * scale);
}

/** Four scores: q rows qa, qb × key row kp (stored at dA, dB) and qc, qd × key row kp2 (dC, dD);
 * `same` (a constant): kp2 is kp, loaded and converted once. Four independent sums of the
 * two-accumulator form. */
@inline function dot4<T>(same: bool, qa: usize, qb: usize, qc: usize, qd: usize, kp: usize, kp2: usize, hd: i32, scale: f32, dA: usize, dB: usize, dC: usize, dD: usize): void {
  const hm = cHalfMask; // features.ts: not an inline constant
  const body = hd & ~7;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  for (let c = 0; c < body; c += 8) {
    const o = <usize>c << 2;
    const k0 = vRaw4<T>(kp, c, hm), k1 = vRaw4<T>(kp, c + 4, hm);
    const l0 = same ? k0 : vRaw4<T>(kp2, c, hm), l1 = same ? k1 : vRaw4<T>(kp2, c + 4, hm);
    a0 = madd(v128.load(qa + o), k0, a0); a1 = madd(v128.load(qa + o + 16), k1, a1);
    b0 = madd(v128.load(qb + o), k0, b0); b1 = madd(v128.load(qb + o + 16), k1, b1);
    c0 = madd(v128.load(qc + o), l0, c0); c1 = madd(v128.load(qc + o + 16), l1, c1);
    d0 = madd(v128.load(qd + o), l0, d0); d1 = madd(v128.load(qd + o + 16), l1, d1);
  }
  store<f32>(dA, (hsum(f32x4.add(a0, a1)) + tail<T>(qa, kp, body, hd)) * scale);
  store<f32>(dB, (hsum(f32x4.add(b0, b1)) + tail<T>(qb, kp, body, hd)) * scale);
  store<f32>(dC, (hsum(f32x4.add(c0, c1)) + tail<T>(qc, kp2, body, hd)) * scale);
  store<f32>(dD, (hsum(f32x4.add(d0, d1)) + tail<T>(qd, kp2, body, hd)) * scale);
}

/** dot2Rows for two keys at once (kp, kp2; scores at dst, dst2): twice the chains in flight. */
@inline export function dot2Rows2Keys<T>(qa: usize, qb: usize, kp: usize, kp2: usize, hd: i32, scale: f32, dst: usize, dst2: usize, stride: usize): void {
  dot4<T>(false, qa, qb, qa, qb, kp, kp2, hd, scale, dst, dst + stride, dst2, dst2 + stride);
}

/** Four scores sharing key row `kp` (loaded once): q rows at qa..qd, stored `stride` bytes apart from `dst`. */
@inline export function dot4Rows<T>(qa: usize, qb: usize, qc: usize, qd: usize, kp: usize, hd: i32, scale: f32, dst: usize, stride: usize): void {
  dot4<T>(true, qa, qb, qc, qd, kp, kp, hd, scale, dst, dst + stride, dst + 2 * stride, dst + 3 * stride);
}
