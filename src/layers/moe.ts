/**
 * Sparse mixture-of-experts feed-forward (Qwen3-MoE): a linear router, softmax over all experts,
 * top-k, optional renormalisation of the k weights (`norm_topk_prob`), then only the selected
 * experts run. Routing and the grouping of rows by expert are one kernel (`KernelBackend.moe`), so a
 * device backend keeps the router's choices on the device. The hybrid models add a shared expert
 * beside the routed ones, scaled per row by `sigmoid(shared_expert_gate · x)`.
 */
import type { Matrix, MoeWeights, Tensor } from "../kernels/types.js";
import type { BatchContext, FeedForward, WeightSpec, Weights } from "./context.js";
import { SwiGlu, swigluWeightSpecs } from "./mlp.js";

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

/**
 * Declared tensors of an MoE block under `prefix` (e.g. `model.layers.0.mlp`). Experts come one
 * SwiGLU per expert (`experts.E.gate_proj.weight`, …), or `fused` as transformers 5 saves them:
 * `experts.gate_up_proj` [experts, 2·inter, hidden] (gate rows, then up rows) and
 * `experts.down_proj` [experts, hidden, inter], split on load into the same per-expert matrices.
 */
export function moeWeightSpecs(prefix: string, hidden: number, inter: number, experts: number, fused = false): WeightSpec[] {
  const specs: WeightSpec[] = [{ name: `${prefix}.gate.weight`, shape: [experts, hidden], kind: "matrix" }];
  if (!fused) {
    for (let e = 0; e < experts; e++) specs.push(...swigluWeightSpecs(`${prefix}.experts.${e}`, hidden, inter));
    return specs;
  }
  const expert = (e: number, part: string): string => `${prefix}.experts.${e}.${part}.weight`;
  const gateUp = Array.from({ length: experts }, (_, e) => [
    { name: expert(e, "gate_proj"), rows: range(e * 2 * inter, inter) },
    { name: expert(e, "up_proj"), rows: range(e * 2 * inter + inter, inter) },
  ]).flat();
  const down = Array.from({ length: experts }, (_, e) => ({ name: expert(e, "down_proj"), rows: range(e * hidden, hidden) }));
  specs.push(
    { name: `${prefix}.experts.gate_up_proj`, shape: [experts, 2 * inter, hidden], kind: "matrix", parts: gateUp },
    { name: `${prefix}.experts.down_proj`, shape: [experts, hidden, inter], kind: "matrix", parts: down },
  );
  return specs;
}

/** Declared tensors of the shared expert beside an MoE block under `prefix`. */
export function sharedExpertWeightSpecs(prefix: string, hidden: number, inter: number): WeightSpec[] {
  return [...swigluWeightSpecs(`${prefix}.shared_expert`, hidden, inter), { name: `${prefix}.shared_expert_gate.weight`, shape: [1, hidden], kind: "matrix" }];
}

/** A loaded MoE block. */
export class SparseMoe implements FeedForward {
  readonly weights: MoeWeights;

  constructor(w: Weights, prefix: string, numExperts: number, topK: number, normalize: boolean) {
    const experts = [];
    for (let e = 0; e < numExperts; e++) {
      const p = `${prefix}.experts.${e}`;
      experts.push({ gate: w.matrix(`${p}.gate_proj.weight`), up: w.matrix(`${p}.up_proj.weight`), down: w.matrix(`${p}.down_proj.weight`) });
    }
    this.weights = { router: w.matrix(`${prefix}.gate.weight`), experts, topK, normalize };
  }

  /** `out[n, hidden]` = Σ over each row's top-k experts of weight × expert(x). */
  forward(ctx: BatchContext, x: Tensor, n: number, out: Tensor): void {
    ctx.backend.moe(this.weights, x, n, out);
  }
}

/** Routed experts plus a shared expert gated per row: `moe(x) + sigmoid(x · g) · shared(x)`. */
export class SharedExpertMoe implements FeedForward {
  private readonly routed: SparseMoe;
  private readonly shared: SwiGlu;
  private readonly gate: Matrix; // [1, hidden]

  constructor(w: Weights, prefix: string, numExperts: number, topK: number, normalize: boolean) {
    this.routed = new SparseMoe(w, prefix, numExperts, topK, normalize);
    this.shared = new SwiGlu(w, `${prefix}.shared_expert`);
    this.gate = w.matrix(`${prefix}.shared_expert_gate.weight`);
  }

  forward(ctx: BatchContext, x: Tensor, n: number, out: Tensor): void {
    const { backend: be, scratch } = ctx;
    const hidden = this.gate.cols;
    const s = scratch.get("moe.shared", n * hidden); // [n, hidden] the shared expert's output
    const g = scratch.get("moe.shared_gate", n); // [n, 1]
    this.routed.forward(ctx, x, n, out);
    this.shared.forward(ctx, x, n, s);
    be.matmul(this.gate, x, n, g);
    be.sigmoidMul(s, g, n, hidden, 1, s);
    be.add(out, s, out, n * hidden);
  }
}
