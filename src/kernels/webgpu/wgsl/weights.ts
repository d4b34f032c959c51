/**
 * Weight decoding in registers, one WGSL function per storage type: `loadW4(row, k, cols)` returns
 * the weights at columns `k .. k+3` of `row` (k a multiple of 4; float types give 0 past `cols`),
 * from the raw GGUF / safetensors bytes bound as `w: array<u32>`. Block formats are ggml's layouts;
 * blocks of 34, 18, 22 and 210 bytes start at even byte offsets, so a word at any of their fields is
 * at most one funnel shift away. Every value is computed with the reference's operations in its
 * order (each product of a half scale and a small integer is exact), so it equals `dequantize`.
 */
import { QwenrtError } from "../../../util/errors.js";
import type { WeightType } from "../../types.js";
import { HALF } from "./common.js";

/** Weight types the WebGPU kernels decode. */
export const GPU_WEIGHT_TYPES: readonly WeightType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"];

const BYTES = /* wgsl */ `
fn wByte(b: u32) -> u32 { return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu; }
fn wHalf(b: u32) -> u32 { return (w[b >> 2u] >> ((b & 2u) * 8u)) & 0xffffu; }
fn wWord(b: u32) -> u32 { // b even
  let i = b >> 2u;
  if ((b & 2u) == 0u) { return w[i]; }
  return (w[i] >> 16u) | (w[i + 1u] << 16u);
}
fn ubytes(q: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(q & 0xffu, (q >> 8u) & 0xffu, (q >> 16u) & 0xffu, q >> 24u));
}
/** Bits j .. j+3 of \`bits\` moved to bit 4 of bytes 0 .. 3 (the 5th bit of four q5 values). */
fn fifthBits(bits: u32, j: u32) -> u32 {
  let h = bits >> j;
  return ((h & 1u) << 4u) | ((h & 2u) << 11u) | ((h & 4u) << 18u) | ((h & 8u) << 25u);
}
fn sbytes(q: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(q << 24u), bitcast<i32>(q << 16u), bitcast<i32>(q << 8u), bitcast<i32>(q)) >> vec4<u32>(24u));
}
`;

/** A float type: element `e`'s value from `one(e)`, bounded by `cols`. */
function floatLoader(one: string): string {
  return /* wgsl */ `
fn wOne(e: u32) -> f32 { return ${one}; }
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let e = row * cols + k;
  if (k + 3u < cols) { return vec4<f32>(wOne(e), wOne(e + 1u), wOne(e + 2u), wOne(e + 3u)); }
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) { if (k + j < cols) { v[j] = wOne(e + j); } }
  return v;
}
`;
}

/** ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 scale bytes at o. */
const SCALE_MIN_K4 = /* wgsl */ `
fn scaleMinK4(j: u32, o: u32) -> vec2<u32> {
  if (j < 4u) { return vec2<u32>(wByte(o + j) & 63u, wByte(o + j + 4u) & 63u); }
  let a = wByte(o + j + 4u);
  return vec2<u32>((a & 0x0fu) | ((wByte(o + j - 4u) >> 6u) << 4u), (a >> 4u) | ((wByte(o + j) >> 6u) << 4u));
}
`;

const HALF_AT = "(w[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu";

const LOADERS: Partial<Record<WeightType, string>> = {
  f32: floatLoader("bitcast<f32>(w[e])"),
  f16: floatLoader(`halfToF32(${HALF_AT})`),
  bf16: floatLoader(`bitcast<f32>((${HALF_AT}) << 16u)`),
  // d:f16 | qs:i8[32]  →  q · d
  q8_0: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 5u) + (k >> 5u)) * 34u;
  return sbytes(wWord(o + 2u + (k & 31u))) * halfToF32(wHalf(o));
}
`,
  // d:f16 | qs:u8[16] (value j: low nibble of byte j, value 16 + j: high nibble)  →  (q - 8) · d
  q4_0: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 5u) + (k >> 5u)) * 18u;
  let j = k & 31u;
  let q = wWord(o + 2u + (j & 15u));
  return (ubytes(select(q, q >> 4u, j >= 16u) & 0x0f0f0f0fu) - 8.0) * halfToF32(wHalf(o));
}
`,
  // d:f16 | m:f16 | qs:u8[16]  →  q · d + m
  q4_1: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 5u) + (k >> 5u)) * 20u;
  let j = k & 31u;
  let q = w[(o + 4u + (j & 15u)) >> 2u];
  return ubytes(select(q, q >> 4u, j >= 16u) & 0x0f0f0f0fu) * halfToF32(wHalf(o)) + halfToF32(wHalf(o + 2u));
}
`,
  // d:f16 | qh:u32 (5th bits) | qs:u8[16]  →  (q - 16) · d
  q5_0: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 5u) + (k >> 5u)) * 22u;
  let j = k & 31u;
  let q = wWord(o + 6u + (j & 15u));
  let lo = select(q, q >> 4u, j >= 16u) & 0x0f0f0f0fu;
  return (ubytes(lo | fifthBits(wWord(o + 2u), j)) - 16.0) * halfToF32(wHalf(o));
}
`,
  // d:f16 | m:f16 | qh:u32 | qs:u8[16]  →  q · d + m
  q5_1: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 5u) + (k >> 5u)) * 24u;
  let j = k & 31u;
  let q = w[(o + 8u + (j & 15u)) >> 2u];
  let lo = select(q, q >> 4u, j >= 16u) & 0x0f0f0f0fu;
  return ubytes(lo | fifthBits(w[(o + 4u) >> 2u], j)) * halfToF32(wHalf(o)) + halfToF32(wHalf(o + 2u));
}
`,
  // d:f16 | dmin:f16 | scales:u8[12] | qs:u8[128]  →  (d · sc) · q − dmin · m per 32-value sub-block
  q4_k: /* wgsl */ `
${SCALE_MIN_K4}fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 8u) + (k >> 8u)) * 144u;
  let kk = k & 255u;
  let c = kk >> 6u;
  let hi = (kk >> 5u) & 1u;
  let sm = scaleMinK4(2u * c + hi, o + 4u);
  let q = (w[(o + 16u + 32u * c + (kk & 31u)) >> 2u] >> (4u * hi)) & 0x0f0f0f0fu;
  let d1 = halfToF32(wHalf(o)) * f32(sm.x);
  let m1 = halfToF32(wHalf(o + 2u)) * f32(sm.y);
  return d1 * ubytes(q) - m1;
}
`,
  // d:f16 | dmin:f16 | scales:u8[12] | qh:u8[32] | qs:u8[128]  →  (d · sc) · q − dmin · m, q with its 5th bit
  q5_k: /* wgsl */ `
${SCALE_MIN_K4}
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 8u) + (k >> 8u)) * 176u;
  let kk = k & 255u;
  let c = kk >> 6u;
  let hi = (kk >> 5u) & 1u;
  let l = kk & 31u;
  let sm = scaleMinK4(2u * c + hi, o + 4u);
  let q = (w[(o + 48u + 32u * c + l) >> 2u] >> (4u * hi)) & 0x0f0f0f0fu;
  let h = (w[(o + 16u + l) >> 2u] >> (2u * c + hi)) & 0x01010101u;
  let d1 = halfToF32(wHalf(o)) * f32(sm.x);
  let m1 = halfToF32(wHalf(o + 2u)) * f32(sm.y);
  return d1 * ubytes(q | (h << 4u)) - m1;
}
`,
  // ql:u8[128] | qh:u8[64] | scales:i8[16] | d:f16  →  (d · sc) · (q − 32) per 16-value group
  q6_k: /* wgsl */ `
fn loadW4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let o = (row * (cols >> 8u) + (k >> 8u)) * 210u;
  let kk = k & 255u;
  let h = kk >> 7u;
  let quarter = (kk >> 5u) & 3u;
  let l = kk & 31u;
  let lo = (wWord(o + 64u * h + l + (quarter & 1u) * 32u) >> (4u * (quarter >> 1u))) & 0x0f0f0f0fu;
  let hi = (wWord(o + 128u + 32u * h + l) >> (2u * quarter)) & 0x03030303u;
  let sc = f32(bitcast<i32>(wByte(o + 192u + 8u * h + (l >> 4u) + 2u * quarter) << 24u) >> 24u);
  return (halfToF32(wHalf(o + 208u)) * sc) * (ubytes(lo | (hi << 4u)) - 32.0);
}
`,
};

/** WGSL for `loadW4` over weights of `type` (expects a global `w: array<u32>`). */
export function weightLoader(type: WeightType): string {
  const body = LOADERS[type];
  if (body === undefined) {
    throw new QwenrtError("weights", `the webgpu backend has no ${type} kernels (it takes ${GPU_WEIGHT_TYPES.join(", ")})`, { code: "unsupported" });
  }
  return HALF + BYTES + body;
}
