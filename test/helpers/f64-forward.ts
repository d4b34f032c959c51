/**
 * An independent float64 forward pass of the Qwen2 / Qwen3 / Qwen3-MoE decoder, written straight
 * from the published architecture (no shared code with src/ beyond reading the checkpoint bytes),
 * used to check the runtime on configurations the golden fixtures do not cover.
 */

export interface F64Config {
  modelType: "qwen3" | "qwen3_moe" | "qwen2";
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
  eps: number;
  theta: number;
  yarn?: { factor: number; original: number; betaFast: number; betaSlow: number; attentionFactor: number };
  attentionBias: boolean;
  tied: boolean;
  numExperts: number;
  topK: number;
  normTopk: boolean;
  sparseStep: number;
  mlpOnly: number[];
}

/** A float64 tensor by name (decoded independently of src/formats). */
export type F64Weights = Map<string, { shape: number[]; data: Float64Array }>;

/** Decode a safetensors file's bytes (BF16/F16/F32) to float64, without src/ helpers. */
export function decodeSafetensorsF64(buf: Uint8Array): F64Weights {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out: F64Weights = new Map();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const count = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(count);
    const base = 8 + n + e.data_offsets[0];
    for (let i = 0; i < count; i++) {
      if (e.dtype === "F32") data[i] = dv.getFloat32(base + 4 * i, true);
      else {
        const h = dv.getUint16(base + 2 * i, true);
        if (e.dtype === "BF16") {
          const tmp = new DataView(new ArrayBuffer(4));
          tmp.setUint32(0, h << 16);
          data[i] = tmp.getFloat32(0);
        } else {
          const s = h & 0x8000 ? -1 : 1, ex = (h >> 10) & 31, m = h & 1023;
          data[i] = ex === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (ex - 15);
        }
      }
    }
    out.set(name, { shape: e.shape, data });
  }
  return out;
}

function linear(w: F64Weights, name: string, x: Float64Array, bias?: string): Float64Array {
  const t = w.get(name)!;
  const [rows, cols] = t.shape as [number, number];
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += t.data[r * cols + c]! * x[c]!;
    y[r] = s + (bias !== undefined && w.has(bias) ? w.get(bias)!.data[r]! : 0);
  }
  return y;
}

function rms(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * inv * weight[i]!);
}

function invFreqs(c: F64Config): { inv: Float64Array; scale: number } {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.theta, (2 * i) / c.headDim);
  if (c.yarn === undefined) return { inv, scale: 1 };
  const { factor, original, betaFast, betaSlow, attentionFactor } = c.yarn;
  const dimOf = (rot: number): number => (c.headDim * Math.log(original / (rot * 2 * Math.PI))) / (2 * Math.log(c.theta));
  const low = Math.max(Math.floor(dimOf(betaFast)), 0);
  let high = Math.min(Math.ceil(dimOf(betaSlow)), c.headDim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrap = 1 - ramp;
    inv[i] = (inv[i]! / factor) * (1 - extrap) + inv[i]! * extrap;
  }
  return { inv, scale: attentionFactor };
}

function rotate(x: Float64Array, off: number, dim: number, pos: number, inv: Float64Array, scale: number): void {
  const half = dim / 2;
  for (let i = 0; i < half; i++) {
    const a = x[off + i]!, b = x[off + half + i]!;
    const cs = Math.cos(pos * inv[i]!) * scale, sn = Math.sin(pos * inv[i]!) * scale;
    x[off + i] = a * cs - b * sn;
    x[off + half + i] = b * cs + a * sn;
  }
}

function swiglu(w: F64Weights, p: string, x: Float64Array): Float64Array {
  const g = linear(w, `${p}.gate_proj.weight`, x);
  const u = linear(w, `${p}.up_proj.weight`, x);
  return linear(w, `${p}.down_proj.weight`, g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!));
}

/** Logits at every position of `ids` (uncached, whole-sequence), in float64. */
export function forwardF64(c: F64Config, w: F64Weights, ids: number[]): Float64Array[] {
  const head = c.tied ? "model.embed_tokens.weight" : "lm_head.weight";
  return hiddenF64(c, w, ids).map((x) => linear(w, head, x));
}

/** Final-normed hidden states (`model.norm` applied) at every position of `ids`, in float64:
 * what embedding pooling and classifier heads read. */
export function hiddenF64(c: F64Config, w: F64Weights, ids: number[]): Float64Array[] {
  const { hidden, heads, kvHeads, headDim: hd } = c;
  const emb = w.get("model.embed_tokens.weight")!;
  const { inv, scale } = invFreqs(c);
  let h = ids.map((id) => emb.data.slice(id * hidden, (id + 1) * hidden));
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}`;
    const qs: Float64Array[] = [], ks: Float64Array[] = [], vs: Float64Array[] = [];
    h.forEach((x, pos) => {
      const xn = rms(x, w.get(`${p}.input_layernorm.weight`)!.data, c.eps);
      const q = linear(w, `${p}.self_attn.q_proj.weight`, xn, `${p}.self_attn.q_proj.bias`);
      const k = linear(w, `${p}.self_attn.k_proj.weight`, xn, `${p}.self_attn.k_proj.bias`);
      const v = linear(w, `${p}.self_attn.v_proj.weight`, xn, `${p}.self_attn.v_proj.bias`);
      for (const [t, nh, norm] of [[q, heads, "q_norm"], [k, kvHeads, "k_norm"]] as const) {
        for (let hh = 0; hh < nh; hh++) {
          if (c.modelType !== "qwen2") {
            const normed = rms(t.slice(hh * hd, (hh + 1) * hd), w.get(`${p}.self_attn.${norm}.weight`)!.data, c.eps);
            t.set(normed, hh * hd);
          }
          rotate(t, hh * hd, hd, pos, inv, scale);
        }
      }
      qs.push(q); ks.push(k); vs.push(v);
    });
    h = h.map((x, pos) => {
      const att = new Float64Array(heads * hd);
      for (let hh = 0; hh < heads; hh++) {
        const kvh = Math.floor(hh / (heads / kvHeads));
        const sc = Array.from({ length: pos + 1 }, (_, j) => {
          let s = 0;
          for (let d = 0; d < hd; d++) s += qs[pos]![hh * hd + d]! * ks[j]![kvh * hd + d]!;
          return s / Math.sqrt(hd);
        });
        const mx = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, b) => a + b, 0);
        for (let d = 0; d < hd; d++) att[hh * hd + d] = e.reduce((a, pj, j) => a + pj * vs[j]![kvh * hd + d]!, 0) / z;
      }
      const o = linear(w, `${p}.self_attn.o_proj.weight`, att, `${p}.self_attn.o_proj.bias`);
      const h1 = x.map((v, i) => v + o[i]!);
      const xn = rms(h1, w.get(`${p}.post_attention_layernorm.weight`)!.data, c.eps);
      const sparse = c.numExperts > 0 && !c.mlpOnly.includes(l) && (l + 1) % c.sparseStep === 0;
      let f: Float64Array;
      if (!sparse) f = swiglu(w, `${p}.mlp`, xn);
      else {
        const logits = linear(w, `${p}.mlp.gate.weight`, xn);
        const mx = Math.max(...logits);
        const e = logits.map((v) => Math.exp(v - mx));
        const z = e.reduce((a, b) => a + b, 0);
        const probs = [...e].map((v, i) => [v / z, i] as [number, number]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
        const chosen = probs.slice(0, c.topK);
        const total = chosen.reduce((a, [pr]) => a + pr, 0);
        f = new Float64Array(hidden);
        for (const [pr, ex] of chosen) {
          const y = swiglu(w, `${p}.mlp.experts.${ex}`, xn);
          const wt = c.normTopk ? pr / total : pr;
          for (let i = 0; i < hidden; i++) f[i] += wt * y[i]!;
        }
      }
      return h1.map((v, i) => v + f[i]!);
    });
  }
  return h.map((x) => rms(x, w.get("model.norm.weight")!.data, c.eps));
}
