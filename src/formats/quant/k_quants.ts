/**
 * ggml's 256-value super-block formats Q4_K, Q5_K, Q6_K (`ggml-common.h` layouts, `ggml-quants.c`
 * decoding and `quantize_row_*_ref` encoding, bit-exact). Q2_K and Q3_K live in `k_quants_low.ts`.
 *
 * Layouts (bytes, little-endian halves):
 * - q4_k: d:f16 | dmin:f16 | scales:u8[12] (8 × 6-bit scale + 6-bit min) | qs:u8[128]            = 144
 * - q5_k: d:f16 | dmin:f16 | scales:u8[12] | qh:u8[32] (5th bits) | qs:u8[128]                   = 176
 * - q6_k: ql:u8[128] (low nibbles) | qh:u8[64] (2 high bits) | scales:int8[16] | d:f16             = 210
 */
import { checkBlocks, f, nearestInt, readHalf, writeHalf } from "./block_util.js";
import { makeQkx2Quants, makeQxQuants, GROUP_MAX_EPS } from "./k_quants_search.js";
import type { BlockFormat } from "./types.js";

export const QK_K = 256;

/** ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block `j` (0..7) from `scales` at `o`. */
export function scaleMinK4(j: number, q: Uint8Array, o: number): [number, number] {
  if (j < 4) return [q[o + j]! & 63, q[o + j + 4]! & 63];
  const sc = (q[o + j + 4]! & 0x0f) | ((q[o + j - 4]! >> 6) << 4);
  const m = (q[o + j + 4]! >> 4) | ((q[o + j]! >> 6) << 4);
  return [sc, m];
}

/** Pack 8 six-bit scales and mins into the 12 scale bytes at `dst[o..o+12)`. */
function packScaleMinK4(ls: Uint8Array, lm: Uint8Array, dst: Uint8Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      dst[o + j] = ls[j]!;
      dst[o + j + 4] = lm[j]!;
    } else {
      dst[o + j + 4] = (ls[j]! & 0x0f) | ((lm[j]! & 0x0f) << 4);
      dst[o + j - 4] |= (ls[j]! >> 4) << 6;
      dst[o + j] |= (lm[j]! >> 4) << 6;
    }
  }
}

/**
 * The shared front half of `quantize_row_q4_K_ref` / `q5_K_ref`: fit each 32-value sub-block with
 * make_qkx2_quants, quantize the scales and mins to 6 bits, write d/dmin/scales, then requantize
 * the values against the stored (rounded) scales into `L[0..256)` in [0, nmax].
 */
function quantizeScaleMinBlock(
  x: Float32Array,
  xo: number,
  dst: Uint8Array,
  o: number,
  nmax: number,
  rmin: number,
  nstep: number,
  L: Uint8Array,
): void {
  const weights = new Float32Array(32); // [32] per-value importance: rms(sub-block) + |x|
  const laux = new Uint8Array(32);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(x[xo + 32 * j + l]! * x[xo + 32 * j + l]!));
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(x[xo + 32 * j + l]!));
    const fit = makeQkx2Quants(32, nmax, x, xo + 32 * j, weights, L, 32 * j, laux, rmin, f(0.1), nstep, false);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    if (scales[j]! > maxScale) maxScale = scales[j]!;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const ls = new Uint8Array(8);
  const lm = new Uint8Array(8);
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, nearestInt(f(invScale * scales[j]!)) & 0xff);
    lm[j] = Math.min(63, nearestInt(f(invMin * mins[j]!)) & 0xff);
  }
  writeHalf(dst, o, f(maxScale / 63));
  writeHalf(dst, o + 2, f(maxMin / 63));
  packScaleMinK4(ls, lm, dst, o + 4);
  const d = readHalf(dst, o);
  const dmin = readHalf(dst, o + 2);
  for (let j = 0; j < 8; j++) {
    const [sc, m] = scaleMinK4(j, dst, o + 4);
    const dj = f(d * sc);
    if (dj === 0) continue;
    const dm = f(dmin * m);
    for (let ii = 0; ii < 32; ii++) {
      L[32 * j + ii] = Math.max(0, Math.min(nmax, nearestInt(f(f(x[xo + 32 * j + ii]! + dm) / dj))));
    }
  }
}

export const q4_kFormat: BlockFormat = {
  type: "q4_k",
  blockSize: QK_K,
  blockBytes: 144,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q4_k", count, QK_K, src.length, 144);
    for (let i = 0; i < nb; i++) {
      const o = i * 144;
      const d = readHalf(src, o);
      const dmin = readHalf(src, o + 2);
      let y = i * QK_K;
      for (let c = 0; c < 4; c++) {
        const q = o + 16 + 32 * c;
        const [sc1, m1] = scaleMinK4(2 * c, src, o + 4);
        const [sc2, m2] = scaleMinK4(2 * c + 1, src, o + 4);
        const d1 = d * sc1;
        const mm1 = dmin * m1;
        const d2 = d * sc2;
        const mm2 = dmin * m2;
        for (let l = 0; l < 32; l++) dst[y + l] = d1 * (src[q + l]! & 0x0f) - mm1;
        for (let l = 0; l < 32; l++) dst[y + 32 + l] = d2 * (src[q + l]! >> 4) - mm2;
        y += 64;
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q4_k", count, QK_K, dst.length, 144);
    const L = new Uint8Array(QK_K); // [256] levels 0..15
    for (let i = 0; i < nb; i++) {
      const o = i * 144;
      quantizeScaleMinBlock(src, i * QK_K, dst, o, 15, -1, 20, L);
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) dst[o + 16 + 32 * c + l] = L[64 * c + l]! | (L[64 * c + l + 32]! << 4);
      }
    }
  },
};

export const q5_kFormat: BlockFormat = {
  type: "q5_k",
  blockSize: QK_K,
  blockBytes: 176,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q5_k", count, QK_K, src.length, 176);
    for (let i = 0; i < nb; i++) {
      const o = i * 176;
      const d = readHalf(src, o);
      const dmin = readHalf(src, o + 2);
      const qh = o + 16;
      let y = i * QK_K;
      for (let c = 0; c < 4; c++) {
        const ql = o + 48 + 32 * c;
        const u1 = 1 << (2 * c);
        const u2 = 2 << (2 * c);
        const [sc1, m1] = scaleMinK4(2 * c, src, o + 4);
        const [sc2, m2] = scaleMinK4(2 * c + 1, src, o + 4);
        const d1 = d * sc1;
        const mm1 = dmin * m1;
        const d2 = d * sc2;
        const mm2 = dmin * m2;
        for (let l = 0; l < 32; l++) dst[y + l] = d1 * ((src[ql + l]! & 0x0f) + (src[qh + l]! & u1 ? 16 : 0)) - mm1;
        for (let l = 0; l < 32; l++) dst[y + 32 + l] = d2 * ((src[ql + l]! >> 4) + (src[qh + l]! & u2 ? 16 : 0)) - mm2;
        y += 64;
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q5_k", count, QK_K, dst.length, 176);
    const L = new Uint8Array(QK_K); // [256] levels 0..31
    for (let i = 0; i < nb; i++) {
      const o = i * 176;
      quantizeScaleMinBlock(src, i * QK_K, dst, o, 31, -0.5, 15, L);
      dst.fill(0, o + 16, o + 48);
      for (let c = 0; c < 4; c++) {
        const m1 = 1 << (2 * c);
        const m2 = 2 << (2 * c);
        for (let j = 0; j < 32; j++) {
          let l1 = L[64 * c + j]!;
          if (l1 > 15) {
            l1 -= 16;
            dst[o + 16 + j] |= m1;
          }
          let l2 = L[64 * c + j + 32]!;
          if (l2 > 15) {
            l2 -= 16;
            dst[o + 16 + j] |= m2;
          }
          dst[o + 48 + 32 * c + j] = l1 | (l2 << 4);
        }
      }
    }
  },
};

export const q6_kFormat: BlockFormat = {
  type: "q6_k",
  blockSize: QK_K,
  blockBytes: 210,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q6_k", count, QK_K, src.length, 210);
    for (let i = 0; i < nb; i++) {
      const o = i * 210;
      const d = readHalf(src, o + 208);
      for (let h = 0; h < 2; h++) {
        const ql = o + 64 * h;
        const qh = o + 128 + 32 * h;
        const sc = o + 192 + 8 * h;
        const y = i * QK_K + 128 * h;
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const a = src[ql + l]!;
          const b = src[ql + l + 32]!;
          const hb = src[qh + l]!;
          const q1 = ((a & 0x0f) | ((hb & 3) << 4)) - 32;
          const q2 = ((b & 0x0f) | (((hb >> 2) & 3) << 4)) - 32;
          const q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
          const q4 = ((b >> 4) | (((hb >> 6) & 3) << 4)) - 32;
          // d·sc is exact in float32; the one rounding is on the product with q, as in ggml
          dst[y + l] = d * ((src[sc + is]! << 24) >> 24) * q1;
          dst[y + l + 32] = d * ((src[sc + is + 2]! << 24) >> 24) * q2;
          dst[y + l + 64] = d * ((src[sc + is + 4]! << 24) >> 24) * q3;
          dst[y + l + 96] = d * ((src[sc + is + 6]! << 24) >> 24) * q4;
        }
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q6_k", count, QK_K, dst.length, 210);
    const L = new Uint8Array(QK_K); // [256] levels 0..63
    const scales = new Float32Array(16);
    for (let i = 0; i < nb; i++) {
      const x = i * QK_K;
      const o = i * 210;
      let maxScale = 0;
      let maxAbsScale = 0;
      for (let ib = 0; ib < 16; ib++) {
        const s = makeQxQuants(16, 32, src, x + 16 * ib, L, 16 * ib);
        scales[ib] = s;
        if (Math.abs(s) > maxAbsScale) {
          maxAbsScale = Math.abs(s);
          maxScale = s;
        }
      }
      if (maxAbsScale < GROUP_MAX_EPS) {
        dst.fill(0, o, o + 210);
        continue;
      }
      const iscale = f(-128 / maxScale);
      writeHalf(dst, o + 208, f(1 / iscale));
      for (let ib = 0; ib < 16; ib++) dst[o + 192 + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]!))) & 0xff;
      const d = readHalf(dst, o + 208);
      for (let j = 0; j < 16; j++) {
        const dj = f(d * ((dst[o + 192 + j]! << 24) >> 24));
        if (dj === 0) continue;
        for (let ii = 0; ii < 16; ii++) {
          L[16 * j + ii] = Math.max(-32, Math.min(31, nearestInt(f(src[x + 16 * j + ii]! / dj)))) + 32;
        }
      }
      for (let h = 0; h < 2; h++) {
        const ql = o + 64 * h;
        const qh = o + 128 + 32 * h;
        const j = 128 * h;
        for (let l = 0; l < 32; l++) {
          const a = L[j + l]!;
          const b = L[j + l + 32]!;
          const c = L[j + l + 64]!;
          const e = L[j + l + 96]!;
          dst[ql + l] = (a & 0x0f) | ((c & 0x0f) << 4);
          dst[ql + l + 32] = (b & 0x0f) | ((e & 0x0f) << 4);
          dst[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
        }
      }
    }
  },
};
