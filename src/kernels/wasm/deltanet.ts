/**
 * The wasm backend's gated delta rule, a host-side implementation over the heap's Float32Array views
 * (correctness first; a SIMD kernel can replace it behind the same call). It evaluates tokens in
 * chunks of up to 64 by the chunk-parallel (WY) form of the recurrence rather than token by token,
 * which is the shape prefill kernels take: within a chunk starting from state S₀, with `gc` the
 * cumulative log-decay (`gc_i = Σ_{j≤i} g_j`),
 *
 *   δ_i = β_i (v_i − e^{gc_i} S₀ᵀk_i − Σ_{m<i} e^{gc_i − gc_m} (k_i·k_m) δ_m)   (forward substitution)
 *   o_i = e^{gc_i} S₀ᵀq_i + Σ_{j≤i} e^{gc_i − gc_j} (q_i·k_j) δ_j
 *   S   = e^{gc_last} S₀ + Σ_j e^{gc_last − gc_j} k_j δ_jᵀ
 *
 * which unrolls `S ← e^g S; δ = β (v − Sᵀk); S ← S + k δᵀ; o = Sᵀq` exactly (a chunk of one token is
 * the recurrence). Sums in float64; the state is stored as float32 after each chunk. The reference
 * backend runs the recurrence itself (ref/deltanet.ts); the shared cases compare the two.
 */
import { deltaNetArrays, keyHeadOf, softplus } from "../host_hybrid.js";
import type { DeltaNetShape, Tensor } from "../types.js";

/** Tokens per chunk (as transformers' and fla's chunked kernels). */
export const DELTA_CHUNK = 64;

/** Scratch of one chunk of one head. */
class ChunkScratch {
  readonly q: Float64Array; // [L, dk] l2-normed, scaled
  readonly k: Float64Array; // [L, dk] l2-normed
  readonly d: Float64Array; // [L, dv] δ
  readonly o: Float64Array; // [L, dv]
  readonly gc: Float64Array; // [L] cumulative log-decay
  readonly beta: Float64Array; // [L]
  readonly s0: Float64Array; // [dk, dv] the state entering the chunk
  readonly acc: Float64Array; // [dk, dv] the state leaving it
  readonly sk: Float64Array; // [dv] S₀ᵀk_i

  constructor(len: number, dk: number, dv: number) {
    this.q = new Float64Array(len * dk);
    this.k = new Float64Array(len * dk);
    this.d = new Float64Array(len * dv);
    this.o = new Float64Array(len * dv);
    this.gc = new Float64Array(len);
    this.beta = new Float64Array(len);
    this.s0 = new Float64Array(dk * dv);
    this.acc = new Float64Array(dk * dv);
    this.sk = new Float64Array(dv);
  }
}

function l2norm(src: Float32Array, off: number, len: number, scale: number, dst: Float64Array, dstOff: number): void {
  let ss = 0;
  for (let i = 0; i < len; i++) ss += src[off + i]! * src[off + i]!;
  const inv = scale / Math.sqrt(ss + 1e-6);
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[off + i]! * inv;
}

function dot(x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += x[xo + i]! * y[yo + i]!;
  return s;
}

/** `KernelBackend.gatedDeltaNet`, chunk by chunk. */
export function chunkedGatedDeltaNet(qkvT: Tensor, aT: Tensor, bT: Tensor, negAT: Tensor, dtT: Tensor, stateT: Tensor, n: number, shape: DeltaNetShape, outT: Tensor): void {
  const { qkv, a, b, negA, dtBias, state, out, width } = deltaNetArrays(qkvT, aT, bT, negAT, dtT, stateT, n, shape, outT);
  const { keyHeads: hk, valueHeads: hv, keyDim: dk, valueDim: dv } = shape;
  const sc = new ChunkScratch(Math.min(n, DELTA_CHUNK), dk, dv);
  const qScale = 1 / Math.sqrt(dk);
  for (let c0 = 0; c0 < n; c0 += DELTA_CHUNK) {
    const len = Math.min(DELTA_CHUNK, n - c0);
    for (let h = 0; h < hv; h++) {
      const kh = keyHeadOf(h, shape);
      let g = 0;
      for (let i = 0; i < len; i++) {
        const t = c0 + i, row = t * width;
        l2norm(qkv, row + kh * dk, dk, qScale, sc.q, i * dk);
        l2norm(qkv, row + hk * dk + kh * dk, dk, 1, sc.k, i * dk);
        g += negA[h]! * softplus(a[t * hv + h]! + dtBias[h]!);
        sc.gc[i] = g;
        sc.beta[i] = 1 / (1 + Math.exp(-b[t * hv + h]!));
      }
      const S = state.subarray(h * dk * dv, (h + 1) * dk * dv); // [dk, dv]
      for (let x = 0; x < dk * dv; x++) sc.s0[x] = S[x]!;
      // δ by forward substitution; o from the state entering the chunk and the chunk's own δ.
      for (let i = 0; i < len; i++) {
        const eg = Math.exp(sc.gc[i]!);
        const vOff = (c0 + i) * width + 2 * hk * dk + h * dv;
        const di = i * dv, oi = i * dv;
        sc.sk.fill(0);
        sc.o.fill(0, oi, oi + dv);
        for (let r = 0; r < dk; r++) {
          const kr = sc.k[i * dk + r]!, qr = sc.q[i * dk + r]!, so = r * dv;
          for (let j = 0; j < dv; j++) {
            const s = sc.s0[so + j]!;
            sc.sk[j] += s * kr;
            sc.o[oi + j] += s * qr;
          }
        }
        for (let j = 0; j < dv; j++) {
          sc.d[di + j] = qkv[vOff + j]! - eg * sc.sk[j]!;
          sc.o[oi + j] *= eg;
        }
        for (let m = 0; m < i; m++) {
          const w = Math.exp(sc.gc[i]! - sc.gc[m]!) * dot(sc.k, i * dk, sc.k, m * dk, dk);
          const dm = m * dv;
          for (let j = 0; j < dv; j++) sc.d[di + j] -= w * sc.d[dm + j]!;
        }
        const beta = sc.beta[i]!;
        for (let j = 0; j < dv; j++) sc.d[di + j] *= beta;
        for (let m = 0; m <= i; m++) {
          const w = Math.exp(sc.gc[i]! - sc.gc[m]!) * dot(sc.q, i * dk, sc.k, m * dk, dk);
          const dm = m * dv;
          for (let j = 0; j < dv; j++) sc.o[oi + j] += w * sc.d[dm + j]!;
        }
        out.set(sc.o.subarray(oi, oi + dv), ((c0 + i) * hv + h) * dv);
      }
      // The state leaving the chunk.
      const last = sc.gc[len - 1]!;
      const el = Math.exp(last);
      for (let x = 0; x < dk * dv; x++) sc.acc[x] = el * sc.s0[x]!;
      for (let m = 0; m < len; m++) {
        const w = Math.exp(last - sc.gc[m]!), dm = m * dv;
        for (let r = 0; r < dk; r++) {
          const kr = w * sc.k[m * dk + r]!, so = r * dv;
          for (let j = 0; j < dv; j++) sc.acc[so + j] += kr * sc.d[dm + j]!;
        }
      }
      S.set(sc.acc);
    }
  }
}
