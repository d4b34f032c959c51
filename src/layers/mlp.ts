/** SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`, the dense MLP. */
import type { Matrix, Tensor } from "../kernels/types.js";
import type { BatchContext, FeedForward, WeightSpec, Weights } from "./context.js";

/** Declared tensors of a SwiGLU block under `prefix` (e.g. `model.layers.0.mlp`). */
export function swigluWeightSpecs(prefix: string, hidden: number, inter: number): WeightSpec[] {
  return [
    { name: `${prefix}.gate_proj.weight`, shape: [inter, hidden], kind: "matrix" },
    { name: `${prefix}.up_proj.weight`, shape: [inter, hidden], kind: "matrix" },
    { name: `${prefix}.down_proj.weight`, shape: [hidden, inter], kind: "matrix" },
  ];
}

/** A loaded SwiGLU block. */
export class SwiGlu implements FeedForward {
  readonly gate: Matrix; // [inter, hidden]
  readonly up: Matrix; // [inter, hidden]
  readonly down: Matrix; // [hidden, inter]
  private readonly inter: number;

  constructor(w: Weights, prefix: string) {
    this.gate = w.matrix(`${prefix}.gate_proj.weight`);
    this.up = w.matrix(`${prefix}.up_proj.weight`);
    this.down = w.matrix(`${prefix}.down_proj.weight`);
    this.inter = this.gate.rows;
  }

  /** `out[n, hidden]` from `x[n, hidden]`. */
  forward(ctx: BatchContext, x: Tensor, n: number, out: Tensor): void {
    const { backend: be, scratch } = ctx;
    const g = scratch.get("mlp.gate", n * this.inter); // [n, inter] silu(gate) · up
    be.swiGlu(this.gate, this.up, x, n, g); // one job: both projections and the product
    be.matmul(this.down, g, n, out);
  }
}
