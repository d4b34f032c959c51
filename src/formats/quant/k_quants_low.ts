/**
 * ggml's 2- and 3-bit super-block formats Q2_K and Q3_K (`ggml-common.h` layouts, `ggml-quants.c`
 * decoding and `quantize_row_*_ref` encoding, bit-exact).
 *
 * Layouts (bytes, little-endian halves):
 * - q2_k: scales:u8[16] (lo nibble scale, hi nibble min) | qs:u8[64] (4 × 2 bits) | d:f16 | dmin:f16 = 84
 * - q3_k: hmask:u8[32] (3rd bits) | qs:u8[64] (low 2 bits) | scales:u8[12] (16 × 6 bits) | d:f16   = 110
 */
import { checkBlocks, f, nearestInt, readHalf, writeHalf } from "./block_util.js";
import { makeQ3Quants, makeQkx2Quants } from "./k_quants_search.js";
import { QK_K } from "./k_quants.js";
import type { BlockFormat } from "./types.js";

/** Pack 256 two-bit levels: byte 32·h + l holds levels 128·h + l + 32·k at bits 2k. */
function pack2(L: Uint8Array, dst: Uint8Array, o: number): void {
  for (let h = 0; h < 2; h++) {
    const j = 128 * h;
    for (let l = 0; l < 32; l++) {
      dst[o + 32 * h + l] = L[j + l]! | (L[j + l + 32]! << 2) | (L[j + l + 64]! << 4) | (L[j + l + 96]! << 6);
    }
  }
}

export const q2_kFormat: BlockFormat = {
  type: "q2_k",
  blockSize: QK_K,
  blockBytes: 84,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q2_k", count, QK_K, src.length, 84);
    for (let i = 0; i < nb; i++) {
      const o = i * 84;
      const d = readHalf(src, o + 80);
      const min = readHalf(src, o + 82);
      let y = i * QK_K;
      for (let h = 0; h < 2; h++) {
        const q = o + 16 + 32 * h;
        for (let j = 0; j < 4; j++) {
          const shift = 2 * j;
          for (let s = 0; s < 2; s++) {
            const sc = src[o + 8 * h + 2 * j + s]!;
            const dl = d * (sc & 0x0f);
            const ml = min * (sc >> 4);
            for (let l = 0; l < 16; l++) dst[y + l] = dl * ((src[q + 16 * s + l]! >> shift) & 3) - ml;
            y += 16;
          }
        }
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q2_k", count, QK_K, dst.length, 84);
    const L = new Uint8Array(QK_K); // [256] levels 0..3
    const laux = new Uint8Array(16);
    const weights = new Float32Array(16); // [16] |x|
    const scales = new Float32Array(16);
    const mins = new Float32Array(16);
    for (let i = 0; i < nb; i++) {
      const x = i * QK_K;
      const o = i * 84;
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 16; j++) {
        for (let l = 0; l < 16; l++) weights[l] = Math.abs(src[x + 16 * j + l]!);
        const fit = makeQkx2Quants(16, 3, src, x + 16 * j, weights, L, 16 * j, laux, -0.5, f(0.1), 15, true);
        scales[j] = fit.scale;
        mins[j] = fit.min;
        if (scales[j]! > maxScale) maxScale = scales[j]!;
        if (mins[j]! > maxMin) maxMin = mins[j]!;
      }
      if (maxScale > 0) {
        const iscale = f(15 / maxScale);
        for (let j = 0; j < 16; j++) dst[o + j] = nearestInt(f(iscale * scales[j]!)) & 0xff;
        writeHalf(dst, o + 80, f(maxScale / 15));
      } else {
        dst.fill(0, o, o + 16);
        writeHalf(dst, o + 80, 0);
      }
      if (maxMin > 0) {
        const iscale = f(15 / maxMin);
        for (let j = 0; j < 16; j++) dst[o + j] |= nearestInt(f(iscale * mins[j]!)) << 4;
        writeHalf(dst, o + 82, f(maxMin / 15));
      } else {
        writeHalf(dst, o + 82, 0);
      }
      const d = readHalf(dst, o + 80);
      const dmin = readHalf(dst, o + 82);
      for (let j = 0; j < 16; j++) {
        const dj = f(d * (dst[o + j]! & 0x0f));
        if (dj === 0) continue;
        const dm = f(dmin * (dst[o + j]! >> 4));
        for (let ii = 0; ii < 16; ii++) {
          L[16 * j + ii] = Math.max(0, Math.min(3, nearestInt(f(f(src[x + 16 * j + ii]! + dm) / dj))));
        }
      }
      pack2(L, dst, o + 16);
    }
  },
};

/** The signed 6-bit scale of sub-block `j` (0..15) from the 12 bytes at `q[o..o+12)`, minus 32. */
function scaleQ3(j: number, q: Uint8Array, o: number): number {
  const lo = j < 8 ? q[o + j]! & 0x0f : q[o + j - 8]! >> 4;
  const hi = (q[o + 8 + (j % 4)]! >> (2 * (j >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

export const q3_kFormat: BlockFormat = {
  type: "q3_k",
  blockSize: QK_K,
  blockBytes: 110,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q3_k", count, QK_K, src.length, 110);
    for (let i = 0; i < nb; i++) {
      const o = i * 110;
      const dAll = readHalf(src, o + 108);
      let y = i * QK_K;
      for (let h = 0; h < 2; h++) {
        const q = o + 32 + 32 * h;
        for (let j = 0; j < 4; j++) {
          const shift = 2 * j;
          const m = 1 << (4 * h + j);
          for (let s = 0; s < 2; s++) {
            const dl = dAll * scaleQ3(8 * h + 2 * j + s, src, o + 96);
            for (let l = 0; l < 16; l++) {
              const k = 16 * s + l;
              dst[y + l] = dl * (((src[q + k]! >> shift) & 3) - (src[o + k]! & m ? 0 : 4));
            }
            y += 16;
          }
        }
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q3_k", count, QK_K, dst.length, 110);
    const L = new Uint8Array(QK_K); // [256] levels 0..7
    const scales = new Float32Array(16);
    for (let i = 0; i < nb; i++) {
      const x = i * QK_K;
      const o = i * 110;
      let maxScale = 0;
      let amax = 0;
      for (let j = 0; j < 16; j++) {
        scales[j] = makeQ3Quants(16, 4, src, x + 16 * j, L, 16 * j);
        const s = Math.abs(scales[j]!);
        if (s > amax) {
          amax = s;
          maxScale = scales[j]!;
        }
      }
      const sc = o + 96;
      dst.fill(0, sc, sc + 12);
      if (maxScale !== 0) {
        const iscale = f(-32 / maxScale);
        for (let j = 0; j < 16; j++) {
          const l0 = (nearestInt(f(iscale * scales[j]!)) << 24) >> 24; // C stores into int8_t
          const l = Math.max(-32, Math.min(31, l0)) + 32;
          if (j < 8) dst[sc + j] = l & 0x0f;
          else dst[sc + j - 8] |= (l & 0x0f) << 4;
          dst[sc + 8 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
        }
        writeHalf(dst, o + 108, f(1 / iscale));
      } else {
        writeHalf(dst, o + 108, 0);
      }
      const d = readHalf(dst, o + 108);
      for (let j = 0; j < 16; j++) {
        const dj = f(d * scaleQ3(j, dst, sc));
        if (dj === 0) continue;
        for (let ii = 0; ii < 16; ii++) {
          L[16 * j + ii] = Math.max(-4, Math.min(3, nearestInt(f(src[x + 16 * j + ii]! / dj)))) + 4;
        }
      }
      dst.fill(0, o, o + 32);
      for (let j = 0; j < QK_K; j++) {
        if (L[j]! > 3) {
          dst[o + (j % 32)] |= 1 << (j >> 5);
          L[j] = L[j]! - 4;
        }
      }
      pack2(L, dst, o + 32);
    }
  },
};
