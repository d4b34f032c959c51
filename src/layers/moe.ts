/**
 * Sparse mixture-of-experts feed-forward (Qwen3-MoE): a linear router, softmax over all experts,
 * top-k, optional renormalisation of the k weights (`norm_topk_prob`), then only the selected
 * experts run — rows are grouped by expert and each expert gets one matmul of its row count.
 */
import type { Matrix } from "../kernels/types.js";
import type { BatchContext, FeedForward, WeightSpec, Weights } from "./context.js";
import { SwiGlu, swigluWeightSpecs } from "./mlp.js";

/** Declared tensors of an MoE block under `prefix` (e.g. `model.layers.0.mlp`). */
export function moeWeightSpecs(prefix: string, hidden: number, inter: number, experts: number): WeightSpec[] {
  const specs: WeightSpec[] = [{ name: `${prefix}.gate.weight`, shape: [experts, hidden], kind: "matrix" }];
  for (let e = 0; e < experts; e++) specs.push(...swigluWeightSpecs(`${prefix}.experts.${e}`, hidden, inter));
  return specs;
}

/**
 * Router: for each of `n` rows of `logits[n, experts]`, softmax (float64, rounded to float32 as the
 * reference's float32 softmax), pick the `k` largest (ties → lower index), optionally renormalise.
 * Writes `ids[n, k]` and `weights[n, k]`.
 *
 * @example
 * routeTopK(Float32Array.of(1, 3, 2), 1, 3, 2, true, ids, w); // ids = [1, 2]
 */
export function routeTopK(
  logits: Float32Array, // [n, experts]
  n: number,
  experts: number,
  k: number,
  normalize: boolean,
  ids: Int32Array, // [n, k]
  weights: Float32Array, // [n, k]
): void {
  const probs = new Float64Array(experts);
  for (let r = 0; r < n; r++) {
    const o = r * experts;
    let max = -Infinity;
    for (let e = 0; e < experts; e++) if (logits[o + e]! > max) max = logits[o + e]!;
    let sum = 0;
    for (let e = 0; e < experts; e++) {
      const x = Math.exp(logits[o + e]! - max);
      probs[e] = x;
      sum += x;
    }
    for (let e = 0; e < experts; e++) probs[e] = Math.fround(probs[e]! / sum);
    let picked = 0;
    for (let j = 0; j < k; j++) {
      let best = -1;
      for (let e = 0; e < experts; e++) if (probs[e]! >= 0 && (best < 0 || probs[e]! > probs[best]!)) best = e;
      ids[r * k + j] = best;
      weights[r * k + j] = probs[best]!;
      picked += probs[best]!;
      probs[best] = -1; // taken
    }
    if (normalize) for (let j = 0; j < k; j++) weights[r * k + j] = Math.fround(weights[r * k + j]! / picked);
  }
}

/** A loaded MoE block. */
export class SparseMoe implements FeedForward {
  private readonly router: Matrix; // [experts, hidden]
  private readonly experts: SwiGlu[];
  private ids = new Int32Array(0); // [n, k] chosen experts
  private weights = new Float32Array(0); // [n, k] their weights

  constructor(
    w: Weights,
    prefix: string,
    private readonly numExperts: number,
    private readonly topK: number,
    private readonly normalize: boolean,
  ) {
    this.router = w.matrix(`${prefix}.gate.weight`);
    this.experts = [];
    for (let e = 0; e < numExperts; e++) this.experts.push(new SwiGlu(w, `${prefix}.experts.${e}`));
  }

  /** `out[n, hidden]` = Σ over each row's top-k experts of weight × expert(x). */
  forward(ctx: BatchContext, x: Float32Array, n: number, out: Float32Array): void {
    const { backend: be, scratch } = ctx;
    const hidden = this.router.cols;
    const E = this.numExperts;
    const k = this.topK;
    const logits = scratch.get("moe.logits", n * E); // [n, experts]
    be.matmul(this.router, x, n, logits);
    if (this.ids.length < n * k) {
      this.ids = new Int32Array(n * k);
      this.weights = new Float32Array(n * k);
    }
    routeTopK(logits, n, E, k, this.normalize, this.ids, this.weights);

    // Group (row, weight) pairs by expert: counting sort over the n*k choices.
    const counts = new Int32Array(E + 1);
    for (let i = 0; i < n * k; i++) counts[this.ids[i]! + 1]!++;
    for (let e = 0; e < E; e++) counts[e + 1]! += counts[e]!;
    const order = new Int32Array(n * k); // choice indices sorted by expert, rows ascending
    const fill = counts.slice(0, E);
    for (let i = 0; i < n * k; i++) order[fill[this.ids[i]!]!++] = i;

    out.fill(0, 0, n * hidden);
    const xs = scratch.get("moe.x", n * hidden); // [rows of one expert, hidden]
    const ys = scratch.get("moe.y", n * hidden); // [rows of one expert, hidden]
    for (let e = 0; e < E; e++) {
      const from = counts[e]!;
      const m = counts[e + 1]! - from;
      if (m === 0) continue;
      for (let j = 0; j < m; j++) {
        const row = Math.floor(order[from + j]! / k);
        xs.set(x.subarray(row * hidden, (row + 1) * hidden), j * hidden);
      }
      this.experts[e]!.forward(ctx, xs, m, ys);
      for (let j = 0; j < m; j++) {
        const choice = order[from + j]!;
        const row = Math.floor(choice / k);
        const wgt = this.weights[choice]!;
        const oo = row * hidden;
        const yo = j * hidden;
        for (let d = 0; d < hidden; d++) out[oo + d] += wgt * ys[yo + d]!;
      }
    }
  }
}
