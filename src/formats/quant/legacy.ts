/**
 * ggml's 32-value block formats: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (`ggml-common.h` layouts,
 * `ggml-quants.c` decoding and `quantize_row_*_ref` encoding, bit-exact).
 *
 * Layouts (bytes, little-endian halves):
 * - q8_0: d:f16 | qs:int8[32]                      = 34
 * - q4_0: d:f16 | qs:u8[16] (lo nibble j, hi j+16) = 18
 * - q4_1: d:f16 | m:f16 | qs:u8[16]                = 20
 * - q5_0: d:f16 | qh:u32 (bit j = 5th bit of j) | qs:u8[16] = 22
 * - q5_1: d:f16 | m:f16 | qh:u32 | qs:u8[16]       = 24
 */
import { checkBlocks, f, readHalf, roundHalfAway, writeHalf } from "./block_util.js";
import type { BlockFormat } from "./types.js";

const QK = 32;

/** Index and sign-preserving max |v| of a block (the first one wins ties, as ggml's strict `<`). */
function signedAbsMax(x: Float32Array, o: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[o + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/** min and max of a block, as ggml's q4_1/q5_1 loops (start at ±FLT_MAX). */
function minMax(x: Float32Array, o: number): [number, number] {
  let min = 3.4028234663852886e38;
  let max = -3.4028234663852886e38;
  for (let j = 0; j < QK; j++) {
    const v = x[o + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** C's float → int8 conversion then to uint8 (truncation toward zero, wrap to 8 bits). */
function toU8(v: number): number {
  return Math.trunc(v) & 0xff;
}

export const q8_0Format: BlockFormat = {
  type: "q8_0",
  blockSize: QK,
  blockBytes: 34,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q8_0", count, QK, src.length, 34);
    for (let i = 0; i < nb; i++) {
      const o = i * 34;
      const d = readHalf(src, o);
      for (let j = 0; j < QK; j++) dst[i * QK + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q8_0", count, QK, dst.length, 34);
    for (let i = 0; i < nb; i++) {
      const x = i * QK;
      const o = i * 34;
      let amax = 0;
      for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(src[x + j]!));
      const d = f(amax / 127);
      const id = d !== 0 ? f(1 / d) : 0;
      writeHalf(dst, o, d);
      for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundHalfAway(f(src[x + j]! * id)) & 0xff;
    }
  },
};

export const q4_0Format: BlockFormat = {
  type: "q4_0",
  blockSize: QK,
  blockBytes: 18,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q4_0", count, QK, src.length, 18);
    for (let i = 0; i < nb; i++) {
      const o = i * 18;
      const d = readHalf(src, o);
      const y = i * QK;
      for (let j = 0; j < 16; j++) {
        const q = src[o + 2 + j]!;
        dst[y + j] = ((q & 0x0f) - 8) * d;
        dst[y + j + 16] = ((q >> 4) - 8) * d;
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q4_0", count, QK, dst.length, 18);
    for (let i = 0; i < nb; i++) {
      const x = i * QK;
      const o = i * 18;
      const d = f(signedAbsMax(src, x) / -8);
      const id = d !== 0 ? f(1 / d) : 0;
      writeHalf(dst, o, d);
      for (let j = 0; j < 16; j++) {
        const x0 = f(src[x + j]! * id);
        const x1 = f(src[x + 16 + j]! * id);
        const q0 = Math.min(15, (Math.trunc(f(x0 + 8.5)) << 24) >> 24) & 0xff;
        const q1 = Math.min(15, (Math.trunc(f(x1 + 8.5)) << 24) >> 24) & 0xff;
        dst[o + 2 + j] = (q0 | (q1 << 4)) & 0xff;
      }
    }
  },
};

export const q4_1Format: BlockFormat = {
  type: "q4_1",
  blockSize: QK,
  blockBytes: 20,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q4_1", count, QK, src.length, 20);
    for (let i = 0; i < nb; i++) {
      const o = i * 20;
      const d = readHalf(src, o);
      const m = readHalf(src, o + 2);
      const y = i * QK;
      for (let j = 0; j < 16; j++) {
        const q = src[o + 4 + j]!;
        dst[y + j] = (q & 0x0f) * d + m;
        dst[y + j + 16] = (q >> 4) * d + m;
      }
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q4_1", count, QK, dst.length, 20);
    for (let i = 0; i < nb; i++) {
      const x = i * QK;
      const o = i * 20;
      const [min, max] = minMax(src, x);
      const d = f(f(max - min) / 15);
      const id = d !== 0 ? f(1 / d) : 0;
      writeHalf(dst, o, d);
      writeHalf(dst, o + 2, min);
      for (let j = 0; j < 16; j++) {
        const x0 = f(f(src[x + j]! - min) * id);
        const x1 = f(f(src[x + 16 + j]! - min) * id);
        const q0 = Math.min(15, (Math.trunc(f(x0 + 0.5)) << 24) >> 24) & 0xff;
        const q1 = Math.min(15, (Math.trunc(f(x1 + 0.5)) << 24) >> 24) & 0xff;
        dst[o + 4 + j] = (q0 | (q1 << 4)) & 0xff;
      }
    }
  },
};

function readU32(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

function writeU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = (v >>> 24) & 0xff;
}

/** Decode one q5 block's 32 five-bit values (before offset/scale) into `q`. */
function unpack5(src: Uint8Array, qhAt: number, qsAt: number, q: Int32Array): void {
  const qh = readU32(src, qhAt);
  for (let j = 0; j < 16; j++) {
    const b = src[qsAt + j]!;
    q[j] = (b & 0x0f) | (((qh >>> j) << 4) & 0x10);
    q[j + 16] = (b >> 4) | ((qh >>> (j + 12)) & 0x10);
  }
}

/** Pack 32 five-bit values (low nibbles into qs, 5th bits into qh). */
function pack5(dst: Uint8Array, qhAt: number, qsAt: number, q: Int32Array): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = q[j]!;
    const b = q[j + 16]!;
    dst[qsAt + j] = (a & 0x0f) | ((b & 0x0f) << 4);
    qh |= ((a & 0x10) >>> 4) << j;
    qh |= ((b & 0x10) >>> 4) << (j + 16);
  }
  writeU32(dst, qhAt, qh >>> 0);
}

export const q5_0Format: BlockFormat = {
  type: "q5_0",
  blockSize: QK,
  blockBytes: 22,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q5_0", count, QK, src.length, 22);
    const q = new Int32Array(QK); // [32] unpacked 5-bit values
    for (let i = 0; i < nb; i++) {
      const o = i * 22;
      const d = readHalf(src, o);
      unpack5(src, o + 2, o + 6, q);
      for (let j = 0; j < QK; j++) dst[i * QK + j] = (q[j]! - 16) * d;
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q5_0", count, QK, dst.length, 22);
    const q = new Int32Array(QK);
    for (let i = 0; i < nb; i++) {
      const x = i * QK;
      const o = i * 22;
      const d = f(signedAbsMax(src, x) / -16);
      const id = d !== 0 ? f(1 / d) : 0;
      writeHalf(dst, o, d);
      for (let j = 0; j < QK; j++) {
        q[j] = Math.min(31, (Math.trunc(f(f(src[x + j]! * id) + 16.5)) << 24) >> 24) & 0xff;
      }
      pack5(dst, o + 2, o + 6, q);
    }
  },
};

export const q5_1Format: BlockFormat = {
  type: "q5_1",
  blockSize: QK,
  blockBytes: 24,
  dequantize(src, dst, count) {
    const nb = checkBlocks("q5_1", count, QK, src.length, 24);
    const q = new Int32Array(QK); // [32] unpacked 5-bit values
    for (let i = 0; i < nb; i++) {
      const o = i * 24;
      const d = readHalf(src, o);
      const m = readHalf(src, o + 2);
      unpack5(src, o + 4, o + 8, q);
      for (let j = 0; j < QK; j++) dst[i * QK + j] = q[j]! * d + m;
    }
  },
  quantize(src, dst, count) {
    const nb = checkBlocks("q5_1", count, QK, dst.length, 24);
    const q = new Int32Array(QK);
    for (let i = 0; i < nb; i++) {
      const x = i * QK;
      const o = i * 24;
      const [min, max] = minMax(src, x);
      const d = f(f(max - min) / 31);
      const id = d !== 0 ? f(1 / d) : 0;
      writeHalf(dst, o, d);
      writeHalf(dst, o + 2, min);
      for (let j = 0; j < QK; j++) q[j] = toU8(f(f(f(src[x + j]! - min) * id) + 0.5));
      pack5(dst, o + 4, o + 8, q);
    }
  },
};

/** All five legacy formats, for registration. */
export const legacyFormats: readonly BlockFormat[] = [q8_0Format, q4_0Format, q4_1Format, q5_0Format, q5_1Format];
