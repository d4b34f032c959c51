/** Plain float storage types: f32, f16 (IEEE half) and bf16 (upper half of an f32). */
import type { BlockFormat } from "./types.js";

/** IEEE 754 half → float, exact for every input (subnormals, inf, NaN). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float → IEEE half, round to nearest even (as numpy / ggml's `GGML_FP32_TO_FP16`). */
export function f32ToF16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** float → bf16 bits, round to nearest even (as PyTorch's `.to(torch.bfloat16)`). */
export function f32ToBf16(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function u16View(src: Uint8Array, count: number): Uint16Array {
  if (src.byteOffset % 2 === 0) return new Uint16Array(src.buffer, src.byteOffset, count);
  return new Uint16Array(src.slice(0, count * 2).buffer);
}

export const f32Format: BlockFormat = {
  type: "f32",
  blockSize: 1,
  blockBytes: 4,
  dequantize(src, dst, count) {
    const bytes = src.subarray(0, count * 4);
    dst.set(src.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, count) : new Float32Array(bytes.slice().buffer));
  },
  quantize(src, dst, count) {
    new Uint8Array(dst.buffer, dst.byteOffset, count * 4).set(new Uint8Array(src.buffer, src.byteOffset, count * 4));
  },
};

export const bf16Format: BlockFormat = {
  type: "bf16",
  blockSize: 1,
  blockBytes: 2,
  dequantize(src, dst, count) {
    const h = u16View(src, count);
    const out = new Uint32Array(dst.buffer, dst.byteOffset, count);
    for (let i = 0; i < count; i++) out[i] = h[i]! << 16;
  },
  quantize(src, dst, count) {
    for (let i = 0; i < count; i++) {
      const b = f32ToBf16(src[i]!);
      dst[2 * i] = b & 0xff;
      dst[2 * i + 1] = b >>> 8;
    }
  },
};

export const f16Format: BlockFormat = {
  type: "f16",
  blockSize: 1,
  blockBytes: 2,
  dequantize(src, dst, count) {
    const h = u16View(src, count);
    for (let i = 0; i < count; i++) dst[i] = f16ToF32(h[i]!);
  },
  quantize(src, dst, count) {
    for (let i = 0; i < count; i++) {
      const b = f32ToF16(src[i]!);
      dst[2 * i] = b & 0xff;
      dst[2 * i + 1] = b >>> 8;
    }
  },
};
