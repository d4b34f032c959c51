/**
 * The Gated DeltaNet token mixer (Qwen3-Next, Qwen3.5): input projections to q/k/v (through a
 * depthwise causal conv + SiLU), the output gate z, and the per-head beta/decay inputs b, a; the
 * gated delta rule over each sequence's recurrent state; then `RMSNorm(o) · silu(z)` per head and
 * `out_proj`. Two checkpoint layouts: Qwen3-Next fuses q/k/v/z and b/a and interleaves them per key
 * head (`in_proj_qkvz`, `in_proj_ba`); Qwen3.5 has them split (`in_proj_qkv`, `in_proj_z`,
 * `in_proj_b`, `in_proj_a`). The fused ones are split into the same four matrices on load, so the
 * forward pass is one.
 */
import type { DeltaNetShape, KernelBackend, Matrix, Tensor } from "../kernels/types.js";
import type { BatchContext, CacheSlot, MatrixPart, Mixer, SlotOptions, WeightSpec, Weights } from "./context.js";
import { DeltaNetSlot } from "./deltanet_slot.js";

/** Shape and checkpoint layout of a Gated DeltaNet layer. */
export interface DeltaNetOptions {
  readonly hidden: number;
  readonly convKernel: number;
  readonly keyHeads: number;
  readonly valueHeads: number;
  readonly keyHeadDim: number;
  readonly valueHeadDim: number;
  readonly eps: number; // the gated RMSNorm's
  /** "interleaved": `in_proj_qkvz` / `in_proj_ba` grouped per key head (Qwen3-Next's checkpoints);
   * "split": `in_proj_qkv`, `in_proj_z`, `in_proj_b`, `in_proj_a` (Qwen3.5's); "qkvz-split": q/k/v
   * and z split but b/a still interleaved (llama.cpp's Qwen3-Next GGUF). */
  readonly projections: "interleaved" | "split" | "qkvz-split";
  /** As the checkpoint holds them: "hf" (`conv1d` [channels, 1, kernel], `A_log`) or "gguf"
   * (`conv1d` [channels, kernel], `A = −exp(A_log)` already). */
  readonly format: "hf" | "gguf";
  /** Value heads in llama.cpp's tiled order (`KernelBackend.gatedDeltaNet`). */
  readonly tiledHeads: boolean;
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Internal names of the four input projections under `prefix`. */
function projectionNames(prefix: string, o: DeltaNetOptions): { qkv: string; z: string; b: string; a: string } {
  const fused = `${prefix}.in_proj_qkvz.weight`, ba = `${prefix}.in_proj_ba.weight`;
  const qkvz = o.projections === "interleaved";
  const baFused = o.projections !== "split";
  return {
    qkv: qkvz ? `${fused}[qkv]` : `${prefix}.in_proj_qkv.weight`,
    z: qkvz ? `${fused}[z]` : `${prefix}.in_proj_z.weight`,
    b: baFused ? `${ba}[b]` : `${prefix}.in_proj_b.weight`,
    a: baFused ? `${ba}[a]` : `${prefix}.in_proj_a.weight`,
  };
}

/** Declared tensors of a Gated DeltaNet layer under `prefix` (e.g. `model.layers.0.linear_attn`). */
export function deltaNetWeightSpecs(prefix: string, o: DeltaNetOptions): WeightSpec[] {
  const { hidden, keyHeads: nk, valueHeads: nv, keyHeadDim: dk, valueHeadDim: dv, convKernel: K } = o;
  const r = nv / nk;
  const conv = 2 * nk * dk + nv * dv;
  const names = projectionNames(prefix, o);
  const specs: WeightSpec[] = [];
  if (o.projections === "interleaved") {
    // Per key head g: q (dk rows), k (dk), its r value heads (r·dv), their z (r·dv).
    const group = 2 * dk + 2 * r * dv;
    const qkv: number[] = [], z: number[] = [];
    for (let g = 0; g < nk; g++) qkv.push(...range(g * group, dk));
    for (let g = 0; g < nk; g++) qkv.push(...range(g * group + dk, dk));
    for (let g = 0; g < nk; g++) qkv.push(...range(g * group + 2 * dk, r * dv));
    for (let g = 0; g < nk; g++) z.push(...range(g * group + 2 * dk + r * dv, r * dv));
    const parts: MatrixPart[] = [{ name: names.qkv, rows: qkv }, { name: names.z, rows: z }];
    specs.push({ name: `${prefix}.in_proj_qkvz.weight`, shape: [2 * nk * dk + 2 * nv * dv, hidden], kind: "matrix", parts });
  } else {
    specs.push(
      { name: names.qkv, shape: [conv, hidden], kind: "matrix" },
      { name: names.z, shape: [nv * dv, hidden], kind: "matrix" },
    );
  }
  if (o.projections === "split") {
    specs.push({ name: names.b, shape: [nv, hidden], kind: "matrix" }, { name: names.a, shape: [nv, hidden], kind: "matrix" });
  } else {
    // Per key head g: b of its r value heads, then their a.
    const b: number[] = [], a: number[] = [];
    for (let g = 0; g < nk; g++) {
      b.push(...range(g * 2 * r, r));
      a.push(...range(g * 2 * r + r, r));
    }
    specs.push({ name: `${prefix}.in_proj_ba.weight`, shape: [2 * nv, hidden], kind: "matrix", parts: [{ name: names.b, rows: b }, { name: names.a, rows: a }] });
  }
  specs.push(
    { name: `${prefix}.conv1d.weight`, shape: o.format === "hf" ? [conv, 1, K] : [conv, K], kind: "vector" },
    { name: `${prefix}.A_log`, shape: [nv], kind: "vector", ...(o.format === "hf" ? { transform: "negExp" as const } : {}) },
    { name: `${prefix}.dt_bias`, shape: [nv], kind: "vector" },
    { name: `${prefix}.norm.weight`, shape: [dv], kind: "vector" },
    { name: `${prefix}.out_proj.weight`, shape: [hidden, nv * dv], kind: "matrix" },
  );
  return specs;
}

/** A loaded Gated DeltaNet layer; its cache slot is a `DeltaNetSlot`. */
export class GatedDeltaNet implements Mixer {
  private readonly wqkv: Matrix; // [conv, hidden] q, k of every key head, then v of every value head
  private readonly wz: Matrix; // [valueHeads · valueDim, hidden]
  private readonly wb: Matrix; // [valueHeads, hidden]
  private readonly wa: Matrix; // [valueHeads, hidden]
  private readonly convWeight: Tensor; // [conv, kernel]
  private readonly negA: Tensor; // [valueHeads] −exp(A_log)
  private readonly dtBias: Tensor; // [valueHeads]
  private readonly norm: Tensor; // [valueDim]
  private readonly wout: Matrix; // [hidden, valueHeads · valueDim]
  private readonly shape: DeltaNetShape;
  private readonly channels: number;
  readonly bytesPerToken = 0; // a fixed-size state

  constructor(
    private readonly backend: KernelBackend,
    w: Weights,
    prefix: string,
    private readonly o: DeltaNetOptions,
    private readonly layer: number,
  ) {
    const names = projectionNames(prefix, o);
    this.wqkv = w.matrix(names.qkv);
    this.wz = w.matrix(names.z);
    this.wb = w.matrix(names.b);
    this.wa = w.matrix(names.a);
    this.convWeight = w.vector(`${prefix}.conv1d.weight`);
    this.negA = w.vector(`${prefix}.A_log`);
    this.dtBias = w.vector(`${prefix}.dt_bias`);
    this.norm = w.vector(`${prefix}.norm.weight`);
    this.wout = w.matrix(`${prefix}.out_proj.weight`);
    this.shape = { keyHeads: o.keyHeads, valueHeads: o.valueHeads, keyDim: o.keyHeadDim, valueDim: o.valueHeadDim, tiledHeads: o.tiledHeads };
    this.channels = 2 * o.keyHeads * o.keyHeadDim + o.valueHeads * o.valueHeadDim;
  }

  newSlot(_capacity: number, opts?: SlotOptions): CacheSlot {
    const s = this.shape;
    return new DeltaNetSlot(this.backend, { convValues: (this.o.convKernel - 1) * this.channels, stateValues: s.valueHeads * s.keyDim * s.valueDim }, this.layer, opts);
  }

  /** `out[n, hidden]` from `x[n, hidden]`, advancing each segment's recurrent state. */
  forward(ctx: BatchContext, x: Tensor, out: Tensor): void {
    const { backend: be, scratch, rows: n } = ctx;
    const C = this.channels;
    const { valueHeads: hv, valueDim: dv } = this.shape;
    const vw = hv * dv;
    const mixed = scratch.get("dn.mixed", n * C); // [n, conv] projected q/k/v before the conv
    const conv = scratch.get("dn.conv", n * C); // [n, conv] after conv + SiLU
    const z = scratch.get("dn.z", n * vw); // [n, valueHeads, valueDim]
    const b = scratch.get("dn.b", n * hv); // [n, valueHeads]
    const a = scratch.get("dn.a", n * hv); // [n, valueHeads]
    const core = scratch.get("dn.core", n * vw); // [n, valueHeads, valueDim]
    be.matmulMany([this.wqkv, this.wz, this.wb, this.wa], x, n, [mixed, z, b, a]);
    for (const s of ctx.segments) {
      const slot = s.slots[this.layer];
      if (!(slot instanceof DeltaNetSlot)) throw new Error(`internal: layer ${this.layer} has no recurrent state slot`);
      if (slot.length !== s.start) throw new Error(`internal: layer ${this.layer}'s state holds ${slot.length} positions, the sequence ${s.start}`);
      // Stop at interval boundaries so the state there can be kept.
      for (let done = 0; done < s.rows; ) {
        const m = Math.min(s.rows - done, slot.nextStop() - slot.length);
        const row = s.rowStart + done;
        const rows = (t: Tensor, width: number): Tensor => (m === n ? t : be.view(t, row * width, m * width));
        be.causalConvSilu(rows(mixed, C), m, C, this.o.convKernel, this.convWeight, slot.conv, rows(conv, C));
        be.gatedDeltaNet(rows(conv, C), rows(a, hv), rows(b, hv), this.negA, this.dtBias, slot.state, m, this.shape, rows(core, vw));
        slot.advance(m);
        done += m;
      }
    }
    be.rmsNorm(core, this.norm, this.o.eps, n * hv, dv, core);
    be.siluMul(z, core, z, n * vw); // z ← silu(z) · RMSNorm(o)
    be.matmul(this.wout, z, n, out);
  }
}
