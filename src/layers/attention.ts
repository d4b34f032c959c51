/**
 * Grouped-query self-attention with optional per-head q/k RMSNorm (Qwen3) and optional projection
 * biases (Qwen2: q/k/v; Qwen3 with `attention_bias`: q/k/v/o). Rows of all segments share the
 * projections; attention runs per segment over that segment's own KV cache.
 */
import type { Matrix } from "../kernels/types.js";
import type { BatchContext, WeightSpec, Weights } from "./context.js";

/** Shape and variant of one attention block. */
export interface AttentionOptions {
  readonly hidden: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly eps: number; // for q/k norm
  readonly qkNorm: boolean; // q_norm / k_norm over each head (Qwen3)
  readonly qkvBias: boolean;
  readonly oBias: boolean;
}

/** Declared tensors of an attention block under `prefix` (e.g. `model.layers.0.self_attn`). */
export function attentionWeightSpecs(prefix: string, o: AttentionOptions): WeightSpec[] {
  const q = o.heads * o.headDim;
  const kv = o.kvHeads * o.headDim;
  const specs: WeightSpec[] = [
    { name: `${prefix}.q_proj.weight`, shape: [q, o.hidden], kind: "matrix" },
    { name: `${prefix}.k_proj.weight`, shape: [kv, o.hidden], kind: "matrix" },
    { name: `${prefix}.v_proj.weight`, shape: [kv, o.hidden], kind: "matrix" },
    { name: `${prefix}.o_proj.weight`, shape: [o.hidden, q], kind: "matrix" },
  ];
  if (o.qkvBias) {
    specs.push(
      { name: `${prefix}.q_proj.bias`, shape: [q], kind: "vector" },
      { name: `${prefix}.k_proj.bias`, shape: [kv], kind: "vector" },
      { name: `${prefix}.v_proj.bias`, shape: [kv], kind: "vector" },
    );
  }
  if (o.oBias) specs.push({ name: `${prefix}.o_proj.bias`, shape: [o.hidden], kind: "vector" });
  if (o.qkNorm) {
    specs.push(
      { name: `${prefix}.q_norm.weight`, shape: [o.headDim], kind: "vector" },
      { name: `${prefix}.k_norm.weight`, shape: [o.headDim], kind: "vector" },
    );
  }
  return specs;
}

/** A loaded attention block. */
export class Attention {
  private readonly wq: Matrix; // [heads * headDim, hidden]
  private readonly wk: Matrix; // [kvHeads * headDim, hidden]
  private readonly wv: Matrix; // [kvHeads * headDim, hidden]
  private readonly wo: Matrix; // [hidden, heads * headDim]
  private readonly bq?: Float32Array; // [heads * headDim]
  private readonly bk?: Float32Array; // [kvHeads * headDim]
  private readonly bv?: Float32Array; // [kvHeads * headDim]
  private readonly bo?: Float32Array; // [hidden]
  private readonly qNorm?: Float32Array; // [headDim]
  private readonly kNorm?: Float32Array; // [headDim]
  private readonly scale: number;

  constructor(
    w: Weights,
    prefix: string,
    private readonly o: AttentionOptions,
    private readonly layer: number,
  ) {
    this.wq = w.matrix(`${prefix}.q_proj.weight`);
    this.wk = w.matrix(`${prefix}.k_proj.weight`);
    this.wv = w.matrix(`${prefix}.v_proj.weight`);
    this.wo = w.matrix(`${prefix}.o_proj.weight`);
    if (o.qkvBias) {
      this.bq = w.vector(`${prefix}.q_proj.bias`);
      this.bk = w.vector(`${prefix}.k_proj.bias`);
      this.bv = w.vector(`${prefix}.v_proj.bias`);
    }
    if (o.oBias) this.bo = w.vector(`${prefix}.o_proj.bias`);
    if (o.qkNorm) {
      this.qNorm = w.vector(`${prefix}.q_norm.weight`);
      this.kNorm = w.vector(`${prefix}.k_norm.weight`);
    }
    this.scale = 1 / Math.sqrt(o.headDim);
  }

  /** `out[n, hidden]` = attention of the batch rows `x[n, hidden]`; appends k/v to each segment's cache. */
  forward(ctx: BatchContext, x: Float32Array, out: Float32Array): void {
    const { backend: be, scratch, rows: n } = ctx;
    const { heads, kvHeads, headDim } = this.o;
    const qw = heads * headDim;
    const kvw = kvHeads * headDim;
    const q = scratch.get("attn.q", n * qw); // [n, heads, headDim]
    const k = scratch.get("attn.k", n * kvw); // [n, kvHeads, headDim]
    const v = scratch.get("attn.v", n * kvw); // [n, kvHeads, headDim]
    const att = scratch.get("attn.out", n * qw); // [n, heads, headDim]
    be.matmulMany([this.wq, this.wk, this.wv], x, n, [q, k, v], [this.bq, this.bk, this.bv]); // x read once
    if (this.qNorm !== undefined && this.kNorm !== undefined) {
      be.rmsNorm(q, this.qNorm, this.o.eps, n * heads, headDim, q);
      be.rmsNorm(k, this.kNorm, this.o.eps, n * kvHeads, headDim, k);
    }
    be.rope(q, n, heads, headDim, ctx.cos, ctx.sin);
    be.rope(k, n, kvHeads, headDim, ctx.cos, ctx.sin);
    for (const s of ctx.segments) {
      const keys = s.keys[this.layer]!;
      const values = s.values[this.layer]!;
      // k, v rows [rows, kvHeads, headDim] → cache [kvHeads, capacity, headDim] at s.start.
      const rowsK = k.subarray(s.rowStart * kvw, (s.rowStart + s.rows) * kvw);
      const rowsV = v.subarray(s.rowStart * kvw, (s.rowStart + s.rows) * kvw);
      be.writeKv(rowsK, s.rows, kvHeads, headDim, keys, s.capacity, s.start);
      be.writeKv(rowsV, s.rows, kvHeads, headDim, values, s.capacity, s.start);
      be.attention(
        q.subarray(s.rowStart * qw, (s.rowStart + s.rows) * qw),
        keys,
        values,
        s.rows,
        s.start,
        s.capacity,
        heads,
        kvHeads,
        headDim,
        this.scale,
        att.subarray(s.rowStart * qw, (s.rowStart + s.rows) * qw),
      );
    }
    be.matmul(this.wo, att, n, out, this.bo);
  }
}
