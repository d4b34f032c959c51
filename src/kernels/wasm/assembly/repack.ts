// Load-time repack jobs (`K_REPACK` in index.ts): rows of ggml blocks staged in this memory → the
// kernels' layouts of the matrix that holds them, the same bytes as the host's repack.ts (its
// module comment describes every layout; repack_sb.ts the sub-block lanes). A job's items are the
// staged slab's rows; row r of the slab is row r0 + r of a `totalRows`-row matrix at `dst`.
// Halves become f32 exactly (a NaN becomes 0x7fc00000, as the host's Float32Array store writes it).

export const RP_Q8_0: i32 = 0; // q8_0 plain
export const RP_Q4_0: i32 = 1; // q4_0 plain
export const RP_Q8_0_IL: i32 = 2; // q8_0 interleaved quads
export const RP_Q4_0_IL: i32 = 3; // q4_0 interleaved quads
export const RP_Q4_K: i32 = 4;
export const RP_Q4_K_SB: i32 = 5; // q4_k in sub-block lanes
export const RP_Q6_K: i32 = 6;
export const RP_Q6_K_SB: i32 = 7; // q6_k in sub-block lanes
export const RP_Q8_0_ILD: i32 = 8; // q8_0 interleaved quads in the dot-add order (matmul_q8il_dot.ts)

/** The f32 value of the half at `p`, exactly. */
@inline function half(p: usize): f32 {
  const h = <u32>load<u16>(p);
  const s = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0x1f) return reinterpret<f32>(m == 0 ? s | 0x7f800000 : 0x7fc00000);
  if (e == 0) {
    const v = <f32>m * reinterpret<f32>(0x33800000); // m · 2^-24: exact
    return s != 0 ? -v : v;
  }
  return reinterpret<f32>(s | ((e + 112) << 23) | (m << 13));
}

/** Word j of the result is word j of a, b, c, d in turn: (a.j, b.j, c.j, d.j) for output `j`. */
@inline function col0(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<i32>(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 0, 4, 1, 5), 0, 1, 4, 5);
}
@inline function col1(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<i32>(v128.shuffle<i32>(a, b, 0, 4, 1, 5), v128.shuffle<i32>(c, d, 0, 4, 1, 5), 2, 3, 6, 7);
}
@inline function col2(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<i32>(v128.shuffle<i32>(a, b, 2, 6, 3, 7), v128.shuffle<i32>(c, d, 2, 6, 3, 7), 0, 1, 4, 5);
}
@inline function col3(a: v128, b: v128, c: v128, d: v128): v128 {
  return v128.shuffle<i32>(v128.shuffle<i32>(a, b, 2, 6, 3, 7), v128.shuffle<i32>(c, d, 2, 6, 3, 7), 2, 3, 6, 7);
}

/** Four blocks' 16 nibble bytes (q4_0) → one interleaved tile row: word j of block b at word 4j + b. */
@inline function q4Tile(s: usize, d: usize): void {
  const a = v128.load(s + 2), b = v128.load(s + 20), c = v128.load(s + 38), e = v128.load(s + 56);
  v128.store(d, col0(a, b, c, e));
  v128.store(d, col1(a, b, c, e), 16);
  v128.store(d, col2(a, b, c, e), 32);
  v128.store(d, col3(a, b, c, e), 48);
}

/** Four blocks' 32 quant bytes (q8_0) → one interleaved tile row: 16-bit word j of block b at word 4j + b. */
@inline function q8Tile(s: usize, d: usize): void {
  for (let h: usize = 0; h < 32; h += 16) {
    const a = v128.load(s + 2 + h), b = v128.load(s + 36 + h), c = v128.load(s + 70 + h), e = v128.load(s + 104 + h);
    const abLo = v128.shuffle<i16>(a, b, 0, 8, 1, 9, 2, 10, 3, 11), abHi = v128.shuffle<i16>(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
    const ceLo = v128.shuffle<i16>(c, e, 0, 8, 1, 9, 2, 10, 3, 11), ceHi = v128.shuffle<i16>(c, e, 4, 12, 5, 13, 6, 14, 7, 15);
    const o = d + (h << 2);
    v128.store(o, v128.shuffle<i32>(abLo, ceLo, 0, 4, 1, 5));
    v128.store(o, v128.shuffle<i32>(abLo, ceLo, 2, 6, 3, 7), 16);
    v128.store(o, v128.shuffle<i32>(abHi, ceHi, 0, 4, 1, 5), 32);
    v128.store(o, v128.shuffle<i32>(abHi, ceHi, 2, 6, 3, 7), 48);
  }
}

/** One row's Q8_0 group of four blocks (at s, ggml layout) in the dot-add order at d: chunk k (16
 * bytes) holds bytes 4k .. 4k + 3 of blocks 0..3 in turn, each byte + 128 (as unsigned). */
@inline function q8TileDot(s: usize, d: usize, flip: v128): void {
  for (let h: usize = 0; h < 32; h += 16) {
    const a = v128.load(s + 2 + h), b = v128.load(s + 36 + h), c = v128.load(s + 70 + h), e = v128.load(s + 104 + h);
    const o = d + (h << 2);
    v128.store(o, v128.xor(col0(a, b, c, e), flip));
    v128.store(o, v128.xor(col1(a, b, c, e), flip), 16);
    v128.store(o, v128.xor(col2(a, b, c, e), flip), 32);
    v128.store(o, v128.xor(col3(a, b, c, e), flip), 48);
  }
}

/** Q4_0 / Q8_0 rows (`qb` quant bytes per block) into the plain layout (quants, then all the scales
 * from `scales`) or the interleaved quads (Q8_0: `dot`, in the dot-add order). */
function legacyRows(qb: i32, il: bool, dot: bool, src: usize, dst: usize, cols: i32, r0: i32, totalRows: i32, i0: i32, i1: i32): void {
  const flip = i8x16.splat(-128);
  const nb = cols >> 5, inB = <usize>(qb + 2);
  const tile = <usize>(16 * qb + 64), tilesPerRow = <usize>(cols >> 7);
  const scales = dst + <usize>totalRows * <usize>nb * <usize>qb;
  for (let r = i0; r < i1; r++) {
    const s = src + <usize>r * <usize>nb * inB, row = r0 + r;
    if (!il) {
      const b0 = <usize>row * <usize>nb;
      for (let k = 0; k < nb; k++) {
        const o = s + <usize>k * inB, q = dst + (b0 + <usize>k) * <usize>qb;
        store<f32>(scales + ((b0 + <usize>k) << 2), half(o));
        v128.store(q, v128.load(o + 2));
        if (qb == 32) v128.store(q, v128.load(o + 18), 16);
      }
      continue;
    }
    const quad = dst + <usize>(row >> 2) * tilesPerRow * tile, lane = <usize>(row & 3);
    for (let t: usize = 0; t < tilesPerRow; t++) {
      const o = s + (t << 2) * inB, at = quad + t * tile;
      const sc = at + <usize>(16 * qb) + (lane << 4);
      for (let b: usize = 0; b < 4; b++) store<f32>(sc + (b << 2), half(o + b * inB));
      if (qb == 16) q4Tile(o, at + lane * 64);
      else if (dot) q8TileDot(o, at + lane * 128, flip);
      else q8Tile(o, at + lane * 128);
    }
  }
}

/** One Q4_K block's 128 quant bytes in sub-block lanes (repack_sb.ts): per half h, the nibbles of
 * sub-blocks 4h .. 4h + 3 as byte planes, then a 4 × 4 word transpose. */
@inline function q4kLanes(s: usize, d: usize, nib: v128): void {
  for (let h: usize = 0; h < 128; h += 64) {
    const aLo = v128.load(s + h), aHi = v128.load(s + h + 16), bLo = v128.load(s + h + 32), bHi = v128.load(s + h + 48);
    const l0 = v128.or(v128.and(aLo, nib), i32x4.shl(v128.and(aHi, nib), 4));
    const l1 = v128.or(v128.and(i32x4.shr_u(aLo, 4), nib), v128.andnot(aHi, nib));
    const l2 = v128.or(v128.and(bLo, nib), i32x4.shl(v128.and(bHi, nib), 4));
    const l3 = v128.or(v128.and(i32x4.shr_u(bLo, 4), nib), v128.andnot(bHi, nib));
    v128.store(d + h, col0(l0, l1, l2, l3));
    v128.store(d + h, col1(l0, l1, l2, l3), 16);
    v128.store(d + h, col2(l0, l1, l2, l3), 32);
    v128.store(d + h, col3(l0, l1, l2, l3), 48);
  }
}

/** Q4_K rows: f32 d and dmin, the 8 unpacked scales and mins, the quants (copied, or in lanes). */
function q4kRows(lanes: bool, src: usize, dst: usize, cols: i32, r0: i32, i0: i32, i1: i32): void {
  const nb = cols >> 8, nib = i8x16.splat(15);
  for (let r = i0; r < i1; r++) {
    const s = src + <usize>r * <usize>nb * 144, d0 = dst + <usize>(r0 + r) * <usize>nb * 152;
    for (let k = 0; k < nb; k++) {
      const o = s + <usize>k * 144, p = d0 + <usize>k * 152;
      store<f32>(p, half(o));
      store<f32>(p, half(o + 2), 4);
      const u0 = load<u32>(o, 4), u1 = load<u32>(o, 8), u2 = load<u32>(o, 12); // packed scale bytes 0–3, 4–7, 8–11
      store<u32>(p, u0 & 0x3f3f3f3f, 8); // scales 0–3
      store<u32>(p, (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4), 12); // scales 4–7
      store<u32>(p, u1 & 0x3f3f3f3f, 16); // mins 0–3
      store<u32>(p, ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4), 20); // mins 4–7
      if (lanes) q4kLanes(o + 16, p + 24, nib);
      else for (let i: usize = 0; i < 128; i += 16) v128.store(p + 24 + i, v128.load(o + 16 + i));
    }
  }
}

/** Vector A, B or C of a Q6_K part: a chunk's 6-bit quants (low 4 bits `lo`, top 2 `hi`) with
 * chunk 3's bits `shift`, `shift` + 1 (of `q3`) on top. */
@inline function q6kVec(lo: v128, hi: v128, q3: v128, shift: i32, two: v128): v128 {
  return v128.or(v128.or(lo, i32x4.shl(hi, 4)), i32x4.shl(v128.and(i32x4.shr_u(q3, shift), two), 6));
}

/** One Q6_K block's ql (128 bytes at `s`) and qh (64 at `s + 128`) in sub-block lanes (repack_sb.ts
 * q6kLanes, a part (h, m) at a time): the low nibbles' and the 2-bit planes' words transposed into
 * chunks 0..3, then chunks 0..2 stored whole with chunk 3's bits 0-1, 2-3, 4-5 on top of them. */
@inline function q6kLanes(s: usize, d: usize, nib: v128, two: v128): void {
  for (let h: usize = 0; h < 2; h++) {
    for (let m: usize = 0; m < 2; m++) {
      const x0 = v128.load(s + (h << 6) + (m << 4)), x1 = v128.load(s + (h << 6) + 32 + (m << 4));
      const p0 = v128.and(x0, nib), p1 = v128.and(x1, nib), p2 = v128.and(i32x4.shr_u(x0, 4), nib), p3 = v128.and(i32x4.shr_u(x1, 4), nib);
      const hh = v128.load(s + 128 + (h << 5) + (m << 4));
      const g0 = v128.and(hh, two), g1 = v128.and(i32x4.shr_u(hh, 2), two), g2 = v128.and(i32x4.shr_u(hh, 4), two), g3 = v128.and(i32x4.shr_u(hh, 6), two);
      // chunk j: lanes' low 4 bits colj(p), top 2 colj(g) (each byte ≤ 15 / ≤ 3: no carries across bytes)
      const q3 = v128.or(col3(p0, p1, p2, p3), i32x4.shl(col3(g0, g1, g2, g3), 4));
      const part = d + h * 96 + m * 48; // part hm = 2h + m: 48 bytes (matmul_ksb.ts k6At)
      v128.store(part, q6kVec(col0(p0, p1, p2, p3), col0(g0, g1, g2, g3), q3, 0, two));
      v128.store(part, q6kVec(col1(p0, p1, p2, p3), col1(g0, g1, g2, g3), q3, 2, two), 16);
      v128.store(part, q6kVec(col2(p0, p1, p2, p3), col2(g0, g1, g2, g3), q3, 4, two), 32);
    }
  }
}

/** Q6_K rows: f32 d, the 16 scales, then ql and qh (copied, or in lanes). */
function q6kRows(lanes: bool, src: usize, dst: usize, cols: i32, r0: i32, i0: i32, i1: i32): void {
  const nb = cols >> 8, nib = i8x16.splat(15), two = i8x16.splat(3);
  for (let r = i0; r < i1; r++) {
    const s = src + <usize>r * <usize>nb * 210, d0 = dst + <usize>(r0 + r) * <usize>nb * 212;
    for (let k = 0; k < nb; k++) {
      const o = s + <usize>k * 210, p = d0 + <usize>k * 212;
      store<f32>(p, half(o + 208));
      v128.store(p + 4, v128.load(o + 192)); // scales
      if (lanes) q6kLanes(o, p + 20, nib, two);
      else for (let i: usize = 0; i < 192; i += 16) v128.store(p + 20 + i, v128.load(o + i));
    }
  }
}

/** Rows i0..i1 of the staged slab at `src` (ggml blocks) into the matrix at `dst` as `kind`. */
export function repackRows(kind: i32, src: usize, dst: usize, cols: i32, r0: i32, totalRows: i32, i0: i32, i1: i32): void {
  if (kind <= RP_Q4_0_IL) legacyRows(kind == RP_Q8_0 || kind == RP_Q8_0_IL ? 32 : 16, kind >= RP_Q8_0_IL, false, src, dst, cols, r0, totalRows, i0, i1);
  else if (kind == RP_Q8_0_ILD) legacyRows(32, true, true, src, dst, cols, r0, totalRows, i0, i1);
  else if (kind <= RP_Q4_K_SB) q4kRows(kind == RP_Q4_K_SB, src, dst, cols, r0, i0, i1);
  else q6kRows(kind == RP_Q6_K_SB, src, dst, cols, r0, i0, i1);
}
