/**
 * Helpers of the shared kernel case suite (cases.ts and its parts): seeded inputs, host matrices of
 * any type, tolerances, and moving values into and out of a backend through its own calls only
 * (`allocF32` + `write`, `read`), so any backend — host or device — runs the cases unchanged.
 */
import assert from "node:assert/strict";
import { f16ToF32, f32ToF16 } from "../formats/quant/float.js";
import { getFormat, rowBytes } from "../formats/quant/index.js";
import type { HostKernelBackend, HostMatrix, KernelBackend, KvBuffer, Tensor, WeightType } from "./types.js";

/** Deterministic uniform floats in [-scale, scale) (mulberry32). */
export function seededFloats(seed: number, length: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Encode float32 values as a `[rows, cols]` host matrix of `type` (through the format registry). */
export function hostMatrix(type: WeightType, rows: number, cols: number, values: Float32Array): HostMatrix {
  const f = getFormat(type);
  if (f.quantize === undefined) throw new Error(`no encoder for ${type}`);
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  f.quantize(values, bytes, rows * cols);
  return { type, rows, cols, bytes };
}

/** The exact float32 values of a host matrix, `[rows, cols]` (what `ref` holds after loading it). */
export function dequantized(m: HostMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  getFormat(m.type).dequantize(m.bytes, out, out.length);
  return out;
}

/** Assert `|a - b| <= atol + rtol * |b|` elementwise, reporting the worst index. */
export function assertClose(a: Float32Array, b: Float32Array, atol: number, rtol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - b[i]!) - (atol + rtol * Math.abs(b[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}: index ${worst}: got ${a[worst]}, expected ${b[worst]} (atol ${atol}, rtol ${rtol})`);
}

/** Assert `|a[i] - b[i]| <= bound[i]` elementwise, reporting the worst index. */
export function assertWithin(a: Float32Array, b: Float32Array, bound: Float64Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= bound[i]!)) assert.fail(`${what}: index ${i}: got ${a[i]}, expected ${b[i]} (bound ${bound[i]})`);
  }
}

/** Tolerances of a backend against ref (defaults suit float32 kernels with float32 accumulation). */
export interface CaseTolerances {
  readonly atol: number;
  readonly rtol: number;
}

/** What every part of the suite gets: the backend under test, the oracle and the tolerances. */
export interface CaseContext {
  readonly be: KernelBackend;
  readonly ref: HostKernelBackend;
  readonly tol: CaseTolerances;
}

/** A tensor of `be` holding `data` (allocF32 + write). */
export function upload(be: KernelBackend, data: Float32Array): Tensor {
  const t = be.allocF32(data.length);
  be.write(t, data);
  return t;
}

/** A KV cache pair of `be` holding `capacity` positions of seeded rows, and ref's float32 copy of the
 * values as `be` stores them (rounded to halves for an f16 cache). */
export function seededKv(
  be: KernelBackend,
  ref: HostKernelBackend,
  kvHeads: number,
  capacity: number,
  headDim: number,
  seed: number,
): { k: KvBuffer; v: KvBuffer; kf: Float32Array; vf: Float32Array } {
  const len = kvHeads * capacity * headDim;
  const asStored = (x: Float32Array): Float32Array => (be.kvType === "f16" ? x.map((y) => f16ToF32(f32ToF16(y))) : x);
  const make = (s: number): { kv: KvBuffer; f32: Float32Array } => {
    const rows = seededFloats(s, len, 2); // [capacity, kvHeads, headDim], as the model appends them
    const kv = be.allocKv(len), f32 = new Float32Array(len); // ref takes host float32 caches
    be.writeKv(upload(be, rows), capacity, kvHeads, headDim, kv, capacity, 0);
    ref.writeKv(asStored(rows), capacity, kvHeads, headDim, f32, capacity, 0);
    return { kv, f32 };
  };
  const k = make(seed), v = make(seed + 1);
  return { k: k.kv, v: v.kv, kf: k.f32, vf: v.f32 };
}

/** Values per block over which a backend may quantize activations for a weight of `type` (as llama.cpp
 * does: Q8_0 blocks of 32 beside *_0 / *_1 weights, Q8_K blocks of 256 beside k-quants); 0: float. */
export function activationBlock(type: WeightType): number {
  if (type === "f32" || type === "f16" || type === "bf16") return 0;
  return type.endsWith("_k") ? 256 : 32;
}

/**
 * Per output of `y[n, rows] = x · Wᵀ` (W the exact values of `m`), how far a backend may be from the
 * float reference: for quantized weights, x rounded to int8 per activation block (scale amax / 127,
 * so each value moves at most half a step) costs up to Σ |w| · halfStep; plus float rounding, 1e-5 of
 * Σ |w·x| (and `atol`).
 */
export function quantizedBound(m: HostMatrix, x: Float32Array, n: number, atol: number): Float64Array {
  const { rows, cols } = m;
  const w = dequantized(m);
  const block = activationBlock(m.type);
  const step = new Float64Array(cols); // half a quantization step of each x value of one row
  const out = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    const xo = i * cols;
    for (let b = 0; block > 0 && b < cols; b += block) {
      let amax = 0;
      for (let c = b; c < b + block; c++) amax = Math.max(amax, Math.abs(x[xo + c]!));
      step.fill((amax / 127 / 2) * 1.001, b, b + block);
    }
    for (let r = 0; r < rows; r++) {
      let q = 0, mag = 0;
      for (let c = 0; c < cols; c++) {
        const a = Math.abs(w[r * cols + c]!);
        q += a * step[c]!;
        mag += a * Math.abs(x[xo + c]!);
      }
      out[i * rows + r] = q + 1e-5 * mag + atol;
    }
  }
  return out;
}
