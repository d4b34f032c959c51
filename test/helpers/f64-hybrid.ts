/**
 * An independent float64 forward pass of the hybrid Qwen decoders (Qwen3-Next, Qwen3.5 dense and
 * MoE), written from transformers' `modeling_qwen3_next.py` / `modeling_qwen3_5*.py` and the Gated
 * DeltaNet paper, sharing nothing with src/ but the checkpoint bytes (decoded by f64-forward.ts's
 * own reader). Whole sequence, uncached; the delta rule by its recurrence.
 */
import type { F64Weights } from "./f64-forward.js";

export interface F64HybridConfig {
  hidden: number;
  layers: number;
  layerTypes: ("linear_attention" | "full_attention")[];
  eps: number;
  // gated attention
  heads: number;
  kvHeads: number;
  headDim: number;
  rotaryDim: number;
  theta: number;
  // Gated DeltaNet
  convKernel: number;
  keyHeads: number;
  valueHeads: number;
  keyDim: number;
  valueDim: number;
  /** Qwen3-Next's fused in_proj_qkvz / in_proj_ba, grouped per key head. */
  fusedProjections: boolean;
  // feed-forward: dense SwiGLU, or MoE + shared expert on the layers `sparse` says
  sparse: (layer: number) => boolean;
  topK: number;
  normTopk: boolean;
  /** Weight root: "model." or "model.language_model.". */
  root: string;
  tied: boolean;
}

type Vec = Float64Array;

function get(w: F64Weights, name: string): { shape: number[]; data: Float64Array } {
  const t = w.get(name);
  if (t === undefined) throw new Error(`f64-hybrid: no tensor ${name}`);
  return t;
}

/** y = W x for W [rows, cols] stored at row offset `from` of a (possibly stacked) tensor. */
function mv(data: Float64Array, rows: number, cols: number, x: Vec, from = 0): Vec {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = (from + r) * cols;
    for (let c = 0; c < cols; c++) s += data[o + c]! * x[c]!;
    y[r] = s;
  }
  return y;
}

function linear(w: F64Weights, name: string, x: Vec): Vec {
  const t = get(w, name);
  return mv(t.data, t.shape[0]!, t.shape[t.shape.length - 1]!, x);
}

/** Qwen3NextRMSNorm (Gemma style): x / rms · (1 + w). */
function rmsZeroCentred(x: Vec, w: Float64Array, eps: number): Vec {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * (1 + w[i]!));
}

/** Plain RMSNorm: x / rms · w. */
function rms(x: Vec, w: Float64Array, eps: number): Vec {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * w[i]!);
}

const silu = (v: number): number => v / (1 + Math.exp(-v));
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));
const softplus = (v: number): number => (v > 20 ? v : Math.log1p(Math.exp(v)));

function l2norm(x: Vec): Vec {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss + 1e-6);
  return x.map((v) => v * inv);
}

function swiglu(w: F64Weights, p: string, x: Vec): Vec {
  const g = linear(w, `${p}.gate_proj.weight`, x);
  const u = linear(w, `${p}.up_proj.weight`, x);
  return linear(w, `${p}.down_proj.weight`, g.map((v, i) => silu(v) * u[i]!));
}

/** One routed expert's SwiGLU, from per-expert tensors or transformers 5's fused ones. */
function expert(w: F64Weights, p: string, e: number, x: Vec): Vec {
  if (!w.has(`${p}.experts.gate_up_proj`)) return swiglu(w, `${p}.experts.${e}`, x);
  const gu = get(w, `${p}.experts.gate_up_proj`); // [E, 2I, H]
  const dn = get(w, `${p}.experts.down_proj`); // [E, H, I]
  const [, twoI, H] = gu.shape as [number, number, number];
  const I = twoI / 2;
  const both = mv(gu.data, twoI, H, x, e * twoI);
  const act = new Float64Array(I).map((_, i) => silu(both[i]!) * both[I + i]!);
  return mv(dn.data, H, I, act, e * H);
}

/** Softmax router, top-k (ties to the lower index), optional renormalisation, plus the shared expert. */
function sharedMoe(c: F64HybridConfig, w: F64Weights, p: string, x: Vec): Vec {
  const logits = linear(w, `${p}.gate.weight`, x);
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const z = e.reduce((a, b) => a + b, 0);
  const chosen = [...e].map((v, i) => [v / z, i] as [number, number]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, c.topK);
  const total = chosen.reduce((a, [pr]) => a + pr, 0);
  const out = new Float64Array(c.hidden);
  for (const [pr, ex] of chosen) {
    const y = expert(w, p, ex, x);
    const wt = c.normTopk ? pr / total : pr;
    for (let i = 0; i < c.hidden; i++) out[i] += wt * y[i]!;
  }
  const s = swiglu(w, `${p}.shared_expert`, x);
  const g = sigmoid(linear(w, `${p}.shared_expert_gate.weight`, x)[0]!);
  return out.map((v, i) => v + g * s[i]!);
}

/** Per token: q [keyHeads·keyDim], k [keyHeads·keyDim], v [valueHeads·valueDim], z, b, a. */
function projections(c: F64HybridConfig, w: F64Weights, p: string, x: Vec): { qkv: Vec; z: Vec; b: Vec; a: Vec } {
  const { keyHeads: nk, valueHeads: nv, keyDim: dk, valueDim: dv } = c;
  if (!c.fusedProjections) {
    return { qkv: linear(w, `${p}.in_proj_qkv.weight`, x), z: linear(w, `${p}.in_proj_z.weight`, x), b: linear(w, `${p}.in_proj_b.weight`, x), a: linear(w, `${p}.in_proj_a.weight`, x) };
  }
  // fix_query_key_value_ordering: view [nk, 2dk + 2(nv/nk)dv] and [nk, 2(nv/nk)], split in that order.
  const r = nv / nk;
  const qkvz = linear(w, `${p}.in_proj_qkvz.weight`, x);
  const ba = linear(w, `${p}.in_proj_ba.weight`, x);
  const G = 2 * dk + 2 * r * dv;
  const q: number[] = [], k: number[] = [], v: number[] = [], z: number[] = [], b: number[] = [], a: number[] = [];
  for (let g = 0; g < nk; g++) {
    const o = g * G;
    q.push(...qkvz.subarray(o, o + dk));
    k.push(...qkvz.subarray(o + dk, o + 2 * dk));
    v.push(...qkvz.subarray(o + 2 * dk, o + 2 * dk + r * dv));
    z.push(...qkvz.subarray(o + 2 * dk + r * dv, o + G));
    b.push(...ba.subarray(g * 2 * r, g * 2 * r + r));
    a.push(...ba.subarray(g * 2 * r + r, g * 2 * r + 2 * r));
  }
  return { qkv: Float64Array.from([...q, ...k, ...v]), z: Float64Array.from(z), b: Float64Array.from(b), a: Float64Array.from(a) };
}

function gatedDeltaNet(c: F64HybridConfig, w: F64Weights, p: string, xs: Vec[]): Vec[] {
  const { keyHeads: nk, valueHeads: nv, keyDim: dk, valueDim: dv, convKernel: K } = c;
  const proj = xs.map((x) => projections(c, w, p, x));
  const C = 2 * nk * dk + nv * dv;
  const conv = get(w, `${p}.conv1d.weight`).data; // [C, 1, K]
  const Alog = get(w, `${p}.A_log`).data, dt = get(w, `${p}.dt_bias`).data, normW = get(w, `${p}.norm.weight`).data;
  const S = Array.from({ length: nv }, () => new Float64Array(dk * dv)); // per value head [dk, dv]
  return xs.map((_, t) => {
    // causal depthwise conv (zero left padding) + SiLU
    const m = new Float64Array(C);
    for (let ch = 0; ch < C; ch++) {
      let s = 0;
      for (let j = 0; j < K; j++) {
        const src = t - (K - 1) + j;
        if (src >= 0) s += conv[ch * K + j]! * proj[src]!.qkv[ch]!;
      }
      m[ch] = silu(s);
    }
    const { z, b, a } = proj[t]!;
    const out = new Float64Array(nv * dv);
    for (let h = 0; h < nv; h++) {
      const kh = Math.floor(h / (nv / nk)); // repeat_interleave of the key heads
      const q = l2norm(m.subarray(kh * dk, (kh + 1) * dk)).map((v) => v / Math.sqrt(dk));
      const k = l2norm(m.subarray(nk * dk + kh * dk, nk * dk + (kh + 1) * dk));
      const v = m.subarray(2 * nk * dk + h * dv, 2 * nk * dk + (h + 1) * dv);
      const g = -Math.exp(Alog[h]!) * softplus(a[h]! + dt[h]!);
      const beta = sigmoid(b[h]!);
      const st = S[h]!;
      for (let i = 0; i < dk * dv; i++) st[i] *= Math.exp(g);
      for (let j = 0; j < dv; j++) {
        let mem = 0;
        for (let i = 0; i < dk; i++) mem += st[i * dv + j]! * k[i]!;
        const delta = (v[j]! - mem) * beta;
        for (let i = 0; i < dk; i++) st[i * dv + j] += k[i]! * delta;
      }
      const o = new Float64Array(dv);
      for (let j = 0; j < dv; j++) for (let i = 0; i < dk; i++) o[j] += st[i * dv + j]! * q[i]!;
      // Qwen3NextRMSNormGated: RMSNorm(o) · w · silu(z)
      const normed = rms(o, normW, c.eps);
      for (let j = 0; j < dv; j++) out[h * dv + j] = normed[j]! * silu(z[h * dv + j]!);
    }
    return linear(w, `${p}.out_proj.weight`, out);
  });
}

function gatedAttention(c: F64HybridConfig, w: F64Weights, p: string, xs: Vec[]): Vec[] {
  const { heads, kvHeads, headDim: hd, rotaryDim: rd } = c;
  const inv = Array.from({ length: rd / 2 }, (_, i) => 1 / Math.pow(c.theta, (2 * i) / rd));
  const rotate = (x: Vec, pos: number): void => {
    // rotate_half over the first rd dims; the rest passes through
    const half = rd / 2;
    for (let i = 0; i < half; i++) {
      const a = x[i]!, b = x[half + i]!;
      const cs = Math.cos(pos * inv[i]!), sn = Math.sin(pos * inv[i]!);
      x[i] = a * cs - b * sn;
      x[half + i] = b * cs + a * sn;
    }
  };
  const qn = get(w, `${p}.q_norm.weight`).data, kn = get(w, `${p}.k_norm.weight`).data;
  const qs: Vec[][] = [], gates: Vec[] = [], ks: Vec[][] = [], vs: Vec[] = [];
  xs.forEach((x, pos) => {
    const qg = linear(w, `${p}.q_proj.weight`, x); // per head: query (hd), gate (hd)
    const k = linear(w, `${p}.k_proj.weight`, x);
    vs.push(linear(w, `${p}.v_proj.weight`, x));
    const gate = new Float64Array(heads * hd);
    qs.push(Array.from({ length: heads }, (_, h) => {
      gate.set(qg.subarray((2 * h + 1) * hd, (2 * h + 2) * hd), h * hd);
      const q = rmsZeroCentred(qg.slice(2 * h * hd, (2 * h + 1) * hd), qn, c.eps);
      rotate(q, pos);
      return q;
    }));
    gates.push(gate);
    ks.push(Array.from({ length: kvHeads }, (_, h) => {
      const kk = rmsZeroCentred(k.slice(h * hd, (h + 1) * hd), kn, c.eps);
      rotate(kk, pos);
      return kk;
    }));
  });
  return xs.map((_, pos) => {
    const att = new Float64Array(heads * hd);
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / (heads / kvHeads));
      const sc = Array.from({ length: pos + 1 }, (_, j) => {
        let s = 0;
        for (let d = 0; d < hd; d++) s += qs[pos]![h]![d]! * ks[j]![kvh]![d]!;
        return s / Math.sqrt(hd);
      });
      const mx = Math.max(...sc);
      const e = sc.map((s) => Math.exp(s - mx));
      const zsum = e.reduce((x, y) => x + y, 0);
      for (let d = 0; d < hd; d++) att[h * hd + d] = e.reduce((acc, pj, j) => acc + pj * vs[j]![kvh * hd + d]!, 0) / zsum;
    }
    return linear(w, `${p}.o_proj.weight`, att.map((v, i) => v * sigmoid(gates[pos]![i]!)));
  });
}

/** Logits at every position of `ids` (uncached, whole sequence), in float64. */
export function forwardHybridF64(c: F64HybridConfig, w: F64Weights, ids: number[]): Float64Array[] {
  const emb = get(w, `${c.root}embed_tokens.weight`);
  let h = ids.map((id) => emb.data.slice(id * c.hidden, (id + 1) * c.hidden));
  for (let l = 0; l < c.layers; l++) {
    const p = `${c.root}layers.${l}`;
    const normed = h.map((x) => rmsZeroCentred(x, get(w, `${p}.input_layernorm.weight`).data, c.eps));
    const mixed = c.layerTypes[l] === "linear_attention" ? gatedDeltaNet(c, w, `${p}.linear_attn`, normed) : gatedAttention(c, w, `${p}.self_attn`, normed);
    h = h.map((x, t) => x.map((v, i) => v + mixed[t]![i]!));
    h = h.map((x) => {
      const xn = rmsZeroCentred(x, get(w, `${p}.post_attention_layernorm.weight`).data, c.eps);
      const f = c.sparse(l) ? sharedMoe(c, w, `${p}.mlp`, xn) : swiglu(w, `${p}.mlp`, xn);
      return x.map((v, i) => v + f[i]!);
    });
  }
  const head = c.tied ? `${c.root}embed_tokens.weight` : "lm_head.weight";
  return h.map((x) => linear(w, head, rmsZeroCentred(x, get(w, `${c.root}norm.weight`).data, c.eps)));
}
