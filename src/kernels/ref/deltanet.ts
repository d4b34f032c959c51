/**
 * The reference gated delta rule: the recurrence itself, token by token, exactly as
 * `KernelBackend.gatedDeltaNet` states it (dot products in float64, the state stored as float32
 * after each token, as transformers' `torch_recurrent_gated_delta_rule` keeps it). The wasm backend's
 * SIMD recurrence (wasm/deltanet.ts) is checked against this (kernels/cases_hybrid.ts).
 */
import { deltaNetArrays, keyHeadOf, softplus } from "../host_hybrid.js";
import type { DeltaNetShape, Tensor } from "../types.js";

/** `x / sqrt(Σx² + 1e-6)` of `src[off .. off + len)` into `dst`, times `scale`. */
function l2normInto(src: Float32Array, off: number, len: number, scale: number, dst: Float64Array): void {
  let ss = 0;
  for (let i = 0; i < len; i++) ss += src[off + i]! * src[off + i]!;
  const inv = scale / Math.sqrt(ss + 1e-6);
  for (let i = 0; i < len; i++) dst[i] = src[off + i]! * inv;
}

/** `KernelBackend.gatedDeltaNet` by the recurrence. */
export function refGatedDeltaNet(qkvT: Tensor, aT: Tensor, bT: Tensor, negAT: Tensor, dtT: Tensor, stateT: Tensor, n: number, shape: DeltaNetShape, outT: Tensor): void {
  const { qkv, a, b, negA, dtBias, state, out, width } = deltaNetArrays(qkvT, aT, bT, negAT, dtT, stateT, n, shape, outT);
  const { keyHeads: hk, valueHeads: hv, keyDim: dk, valueDim: dv } = shape;
  const q = new Float64Array(dk), k = new Float64Array(dk);
  const kv = new Float64Array(dv), delta = new Float64Array(dv), o = new Float64Array(dv);
  const qScale = 1 / Math.sqrt(dk);
  for (let t = 0; t < n; t++) {
    const row = t * width;
    for (let h = 0; h < hv; h++) {
      const kh = keyHeadOf(h, shape);
      l2normInto(qkv, row + kh * dk, dk, qScale, q);
      l2normInto(qkv, row + hk * dk + kh * dk, dk, 1, k);
      const vOff = row + 2 * hk * dk + h * dv;
      const decay = Math.exp(negA[h]! * softplus(a[t * hv + h]! + dtBias[h]!));
      const beta = 1 / (1 + Math.exp(-b[t * hv + h]!));
      const S = state.subarray(h * dk * dv, (h + 1) * dk * dv); // [keyDim, valueDim]
      // S ← decay · S, then kv = Sᵀk.
      kv.fill(0);
      for (let i = 0; i < dk; i++) {
        const ki = k[i]!;
        const r = i * dv;
        for (let j = 0; j < dv; j++) {
          const s = Math.fround(S[r + j]! * decay);
          S[r + j] = s;
          kv[j] += s * ki;
        }
      }
      for (let j = 0; j < dv; j++) delta[j] = beta * (qkv[vOff + j]! - kv[j]!);
      // S ← S + k deltaᵀ, then out = Sᵀq.
      o.fill(0);
      for (let i = 0; i < dk; i++) {
        const ki = k[i]!, qi = q[i]!;
        const r = i * dv;
        for (let j = 0; j < dv; j++) {
          const s = Math.fround(S[r + j]! + ki * delta[j]!);
          S[r + j] = s;
          o[j] += s * qi;
        }
      }
      out.set(o, (t * hv + h) * dv);
    }
  }
}
