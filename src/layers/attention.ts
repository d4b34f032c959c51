/**
 * Grouped-query self-attention with optional per-head q/k RMSNorm (Qwen3) and optional projection
 * biases (Qwen2: q/k/v; Qwen3 with `attention_bias`: q/k/v/o), and the hybrid models' gated
 * attention: `q_proj` yields a query and a gate per head (interleaved per head: query, then gate),
 * the attention output is multiplied by `sigmoid(gate)` before `o_proj`, and RoPE may rotate only
 * the first `rotaryDim` dims of each head. Rows of all segments share the projections; attention
 * runs per segment over that segment's own KV cache.
 */
import type { KernelBackend, Matrix, Tensor } from "../kernels/types.js";
import type { BatchContext, CacheSlot, MatrixPart, Mixer, VectorTransform, WeightSpec, Weights } from "./context.js";
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
  /** Gated attention: `q_proj` is [heads · 2 · headDim, hidden], per head the query then its gate. */
  readonly outputGate?: boolean;
  /** Dims of each head RoPE rotates (default: all). */
  readonly rotaryDim?: number;
  /** How q/k norm weights are held on load (zero-centred norms of a checkpoint: `onePlus`). */
  readonly qkNormTransform?: VectorTransform;
}

/** The rows of a gated `q_proj` holding the queries (`gate: false`) or the gates: per head, the
 * first `headDim` rows are its query, the next `headDim` its gate. */
function gatedRows(o: AttentionOptions, gate: boolean): number[] {
  const rows: number[] = [];
  for (let h = 0; h < o.heads; h++) for (let d = 0; d < o.headDim; d++) rows.push((2 * h + (gate ? 1 : 0)) * o.headDim + d);
  return rows;
}

/** Names of a gated `q_proj`'s two parts. */
const queryPart = (prefix: string): string => `${prefix}.q_proj.weight[query]`;
const gatePart = (prefix: string): string => `${prefix}.q_proj.weight[gate]`;

/** Declared tensors of an attention block under `prefix` (e.g. `model.layers.0.self_attn`). */
export function attentionWeightSpecs(prefix: string, o: AttentionOptions): WeightSpec[] {
  const q = o.heads * o.headDim;
  const kv = o.kvHeads * o.headDim;
  const gated = o.outputGate === true;
  const parts: MatrixPart[] | undefined = gated ? [{ name: queryPart(prefix), rows: gatedRows(o, false) }, { name: gatePart(prefix), rows: gatedRows(o, true) }] : undefined;
  const specs: WeightSpec[] = [
    { name: `${prefix}.q_proj.weight`, shape: [gated ? 2 * q : q, o.hidden], kind: "matrix", ...(parts === undefined ? {} : { parts }) },
    { name: `${prefix}.k_proj.weight`, shape: [kv, o.hidden], kind: "matrix" },
    { name: `${prefix}.v_proj.weight`, shape: [kv, o.hidden], kind: "matrix" },
    { name: `${prefix}.o_proj.weight`, shape: [o.hidden, q], kind: "matrix" },
  ];
  if (o.qkvBias) {
    if (gated) throw new Error("internal: gated attention with q/k/v biases is not a published layout");
    specs.push(
      { name: `${prefix}.q_proj.bias`, shape: [q], kind: "vector" },
      { name: `${prefix}.k_proj.bias`, shape: [kv], kind: "vector" },
      { name: `${prefix}.v_proj.bias`, shape: [kv], kind: "vector" },
    );
  }
  if (o.oBias) specs.push({ name: `${prefix}.o_proj.bias`, shape: [o.hidden], kind: "vector" });
  if (o.qkNorm) {
    const transform = o.qkNormTransform === undefined ? {} : { transform: o.qkNormTransform };
    specs.push(
      { name: `${prefix}.q_norm.weight`, shape: [o.headDim], kind: "vector", ...transform },
      { name: `${prefix}.k_norm.weight`, shape: [o.headDim], kind: "vector", ...transform },
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
  private readonly wgate?: Matrix; // [heads * headDim, hidden] gated attention's gate rows of q_proj
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
    if (o.outputGate === true) {
      this.wq = w.matrix(queryPart(prefix));
      this.wgate = w.matrix(gatePart(prefix));
    } else this.wq = w.matrix(`${prefix}.q_proj.weight`);
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
    const gate = this.wgate === undefined ? undefined : scratch.get("attn.gate", n * qw); // [n, heads * headDim]
    if (gate === undefined || this.wgate === undefined) be.matmulMany([this.wq, this.wk, this.wv], x, n, [q, k, v], [this.bq, this.bk, this.bv]); // x read once
    else be.matmulMany([this.wq, this.wgate, this.wk, this.wv], x, n, [q, gate, k, v]);
    if (this.qNorm !== undefined && this.kNorm !== undefined) {
      be.rmsNorm(q, this.qNorm, this.o.eps, n * heads, headDim, q);
      be.rmsNorm(k, this.kNorm, this.o.eps, n * kvHeads, headDim, k);
    }
    const rot = this.o.rotaryDim ?? headDim;
    be.rope(q, n, heads, headDim, ctx.cos, ctx.sin, rot);
    be.rope(k, n, kvHeads, headDim, ctx.cos, ctx.sin, rot);
    for (const s of ctx.segments) {
      const slot = s.slots[this.layer];
      if (!(slot instanceof KvSlot)) throw new Error(`internal: layer ${this.layer} has no KV cache slot`);
      const rows = (t: Tensor, width: number): Tensor => (s.rows === n ? t : be.view(t, s.rowStart * width, s.rows * width));
      // k, v rows [rows, kvHeads, headDim] → cache [kvHeads, capacity, headDim] at s.start.
      be.writeKv(rows(k, kvw), s.rows, kvHeads, headDim, slot.keys, slot.capacity, s.start);
      be.writeKv(rows(v, kvw), s.rows, kvHeads, headDim, slot.values, slot.capacity, s.start);
      be.attention(rows(q, qw), slot.keys, slot.values, s.rows, s.start, slot.capacity, heads, kvHeads, headDim, this.scale, rows(att, qw));
    }
    if (gate !== undefined) be.sigmoidMul(att, gate, n, qw, qw, att);
    be.matmul(this.wo, att, n, out, this.bo);
  }
}
