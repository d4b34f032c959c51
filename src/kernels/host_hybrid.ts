/**
 * Host loops of the hybrid-model kernels: the causal convolution, sigmoid gating and partial RoPE
 * (`ref`'s, and `wasm`'s partial RoPE and argument-error paths; wasm/deltanet.ts has the SIMD jobs),
 * plus the argument checks of `gatedDeltaNet` that both backends' delta rules (ref/deltanet.ts,
 * wasm/deltanet.ts) run first. Sums are in float64 (JS numbers) and stored as float32.
 */
import { QwenrtError } from "../util/errors.js";
import { hostArg, hostF32 } from "./host.js";
import type { DeltaNetShape, Tensor } from "./types.js";

/** `KernelBackend.causalConvSilu` on host memory. */
export function causalConvSiluLoop(xt: Tensor, n: number, channels: number, kernel: number, wt: Tensor, st: Tensor, outt: Tensor): void {
  if (!Number.isInteger(kernel) || kernel < 1) throw new QwenrtError("causalConvSilu", `kernel must be a positive integer, got ${kernel}`);
  const x = hostArg(xt, "x", n * channels), w = hostArg(wt, "weight", channels * kernel);
  const state = hostArg(st, "state", (kernel - 1) * channels), out = hostArg(outt, "out", n * channels);
  if (out.buffer === x.buffer && overlaps(out, n * channels, x, n * channels)) throw new QwenrtError("causalConvSilu", "out must not alias x");
  const past = kernel - 1;
  // Input row r of the concatenation [state; x]: state rows first.
  const at = (r: number, c: number): number => (r < past ? state[r * channels + c]! : x[(r - past) * channels + c]!);
  for (let t = 0; t < n; t++) {
    for (let c = 0; c < channels; c++) {
      let s = 0;
      for (let j = 0; j < kernel; j++) s += w[c * kernel + j]! * at(t + j, c);
      const y = Math.fround(s);
      out[t * channels + c] = y / (1 + Math.exp(-y));
    }
  }
  // The new state: the last `past` rows of [state; x].
  if (n >= past) state.set(x.subarray((n - past) * channels, n * channels));
  else {
    state.copyWithin(0, n * channels, past * channels); // the newest past - n old rows move up
    state.set(x.subarray(0, n * channels), (past - n) * channels);
  }
}

/** `KernelBackend.sigmoidMul` on host memory. */
export function sigmoidMulLoop(xt: Tensor, gt: Tensor, rows: number, width: number, gateWidth: number, outt: Tensor): void {
  if (!Number.isInteger(gateWidth) || gateWidth < 1 || width % gateWidth !== 0) {
    throw new QwenrtError("sigmoidMul", `width ${width} must be a multiple of gateWidth ${gateWidth}`);
  }
  const x = hostArg(xt, "x", rows * width), gate = hostArg(gt, "gate", rows * gateWidth), out = hostArg(outt, "out", rows * width);
  const per = width / gateWidth;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < gateWidth; g++) {
      const s = 1 / (1 + Math.exp(-gate[r * gateWidth + g]!));
      const o = r * width + g * per;
      for (let i = 0; i < per; i++) out[o + i] = x[o + i]! * s;
    }
  }
}

/** `KernelBackend.rope` on host memory, the rotated part `rotaryDim` of each head (partial RoPE). */
export function ropeLoop(xt: Tensor, n: number, heads: number, headDim: number, cost: Tensor, sint: Tensor, rotaryDim: number): void {
  if (rotaryDim % 2 !== 0 || rotaryDim < 2 || rotaryDim > headDim) {
    throw new QwenrtError("rope", `rotaryDim must be even and in [2, headDim ${headDim}], got ${rotaryDim}`);
  }
  const half = rotaryDim >> 1;
  const x = hostArg(xt, "x", n * heads * headDim), cos = hostArg(cost, "cos", n * half), sin = hostArg(sint, "sin", n * half);
  for (let t = 0; t < n; t++) {
    const co = t * half;
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = x[o + i]!, b = x[o + half + i]!;
        const c = cos[co + i]!, s = sin[co + i]!;
        x[o + i] = a * c - b * s;
        x[o + half + i] = b * c + a * s;
      }
    }
  }
}

/** The arrays of a `gatedDeltaNet` call on host memory, checked. */
export interface DeltaNetArrays {
  readonly qkv: Float32Array; // [n, width]
  readonly a: Float32Array; // [n, valueHeads]
  readonly b: Float32Array; // [n, valueHeads]
  readonly negA: Float32Array; // [valueHeads]
  readonly dtBias: Float32Array; // [valueHeads]
  readonly state: Float32Array; // [valueHeads, keyDim, valueDim]
  readonly out: Float32Array; // [n, valueHeads, valueDim]
  readonly width: number; // values per qkv row
  readonly group: number; // valueHeads / keyHeads
}

/** Check `gatedDeltaNet`'s arguments and hand back its host arrays. */
export function deltaNetArrays(qkv: Tensor, a: Tensor, b: Tensor, negA: Tensor, dtBias: Tensor, state: Tensor, n: number, s: DeltaNetShape, out: Tensor): DeltaNetArrays {
  const { keyHeads: hk, valueHeads: hv, keyDim: dk, valueDim: dv } = s;
  if (![hk, hv, dk, dv].every((v) => Number.isInteger(v) && v > 0) || hv % hk !== 0) {
    throw new QwenrtError("gatedDeltaNet", `bad shape: ${hk} key heads of ${dk}, ${hv} value heads of ${dv} (value heads must be a multiple of key heads)`);
  }
  if (!Number.isInteger(n) || n < 0) throw new QwenrtError("gatedDeltaNet", `n must be a non-negative integer, got ${n}`);
  const width = 2 * hk * dk + hv * dv;
  const arrays = {
    qkv: hostArg(qkv, "qkv", n * width),
    a: hostArg(a, "a", n * hv),
    b: hostArg(b, "b", n * hv),
    negA: hostArg(negA, "negA", hv),
    dtBias: hostArg(dtBias, "dtBias", hv),
    state: hostArg(state, "state", hv * dk * dv),
    out: hostArg(out, "out", n * hv * dv),
    width,
    group: hv / hk,
  };
  if (hostF32(out, "out").buffer === arrays.state.buffer && overlaps(arrays.out, n * hv * dv, arrays.state, hv * dk * dv)) {
    throw new QwenrtError("gatedDeltaNet", "out must not alias state");
  }
  return arrays;
}

function overlaps(a: Float32Array, la: number, b: Float32Array, lb: number): boolean {
  return a.byteOffset < b.byteOffset + lb * 4 && b.byteOffset < a.byteOffset + la * 4;
}

/** The key head value head `h` reads. */
export function keyHeadOf(h: number, s: DeltaNetShape): number {
  return s.tiledHeads ? h % s.keyHeads : Math.floor(h / (s.valueHeads / s.keyHeads));
}

/** torch's `softplus` (beta 1, threshold 20: linear above). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}
