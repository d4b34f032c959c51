/**
 * Grouped-query self-attention with optional per-head q/k RMSNorm (Qwen3) and optional projection
 * biases (Qwen2: q/k/v; Qwen3 with `attention_bias`: q/k/v/o). Rows of all segments share the
 * projections; attention runs per segment over that segment's own KV cache.
 */
import type { KernelBackend, Matrix, Tensor } from "../kernels/types.js";
import type { BatchContext, CacheSlot, Mixer, WeightSpec, Weights } from "./context.js";
import { KvSlot } from "./kv_cache.js";

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

/** A loaded attention block; its cache slot is a `KvSlot`. */
export class Attention implements Mixer {
  private readonly wq: Matrix; // [heads * headDim, hidden]
  private readonly wk: Matrix; // [kvHeads * headDim, hidden]
  private readonly wv: Matrix; // [kvHeads * headDim, hidden]
  private readonly wo: Matrix; // [hidden, heads * headDim]
  private readonly bq?: Tensor; // [heads * headDim]
  private readonly bk?: Tensor; // [kvHeads * headDim]
  private readonly bv?: Tensor; // [kvHeads * headDim]
  private readonly bo?: Tensor; // [hidden]
  private readonly qNorm?: Tensor; // [headDim]
  private readonly kNorm?: Tensor; // [headDim]
  private readonly scale: number;
  readonly bytesPerToken: number;

  constructor(
    private readonly backend: KernelBackend,
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
    this.bytesPerToken = KvSlot.bytesPerToken(backend, o.kvHeads, o.headDim);
  }

  newSlot(capacity: number): CacheSlot {
    return new KvSlot(this.backend, this.o.kvHeads, this.o.headDim, capacity);
  }

  /** `out[n, hidden]` = attention of the batch rows `x[n, hidden]`; appends k/v to each segment's cache. */
  forward(ctx: BatchContext, x: Tensor, out: Tensor): void {
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
      const slot = s.slots[this.layer];
      if (!(slot instanceof KvSlot)) throw new Error(`internal: layer ${this.layer} has no KV cache slot`);
      const rows = (t: Tensor, width: number): Tensor => (s.rows === n ? t : be.view(t, s.rowStart * width, s.rows * width));
      // k, v rows [rows, kvHeads, headDim] → cache [kvHeads, capacity, headDim] at s.start.
      be.writeKv(rows(k, kvw), s.rows, kvHeads, headDim, slot.keys, slot.capacity, s.start);
      be.writeKv(rows(v, kvw), s.rows, kvHeads, headDim, slot.values, slot.capacity, s.start);
      be.attention(rows(q, qw), slot.keys, slot.values, s.rows, s.start, slot.capacity, heads, kvHeads, headDim, this.scale, rows(att, qw));
    }
    be.matmul(this.wo, att, n, out, this.bo);
  }
}
