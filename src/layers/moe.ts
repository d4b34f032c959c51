/**
 * Sparse mixture-of-experts feed-forward (Qwen3-MoE): a linear router, softmax over all experts,
 * top-k, optional renormalisation of the k weights (`norm_topk_prob`), then only the selected
 * experts run. Routing and the grouping of rows by expert are one kernel (`KernelBackend.moe`), so a
 * device backend keeps the router's choices on the device.
 */
import type { MoeWeights, Tensor } from "../kernels/types.js";
import type { BatchContext, FeedForward, WeightSpec, Weights } from "./context.js";
import { swigluWeightSpecs } from "./mlp.js";

/** Declared tensors of an MoE block under `prefix` (e.g. `model.layers.0.mlp`). */
export function moeWeightSpecs(prefix: string, hidden: number, inter: number, experts: number): WeightSpec[] {
  const specs: WeightSpec[] = [{ name: `${prefix}.gate.weight`, shape: [experts, hidden], kind: "matrix" }];
  for (let e = 0; e < experts; e++) specs.push(...swigluWeightSpecs(`${prefix}.experts.${e}`, hidden, inter));
  return specs;
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
