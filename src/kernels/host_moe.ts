/**
 * `KernelBackend.moe` for the host backends (`ref`, `wasm`), written once on top of the backend's
 * own `matmul` and `swiGlu`: router logits, softmax and top-k on the host, then rows grouped by
 * expert (a counting sort) so each used expert runs one SwiGLU and one down projection over all of
 * its rows. Scratch tensors come from the backend, so a wasm backend's kernels take them in place.
 */
import { QwenrtError } from "../util/errors.js";
import { hostF32, need } from "./host.js";
import type { HostKernelBackend, MoeWeights, Tensor } from "./types.js";

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

/**
 * A backend's fused path for one row's routed experts: `out[hidden]` = Σ_j weights[j] ·
 * expert_{ids[j]}(x), the same values as the per-expert loop; false (nothing written) sends the row
 * down that loop instead.
 */
export type RoutedExperts = (w: MoeWeights, ids: Int32Array, weights: Float32Array, x: Float32Array, out: Float32Array) => boolean;

/** A batch's routes grouped by expert: expert e's choices are `order[counts[e] .. counts[e + 1])`
 * (indices into the n · k choices, rows ascending; choice i is row ⌊i / k⌋ with weight weights[i]). */
export interface Routes {
  readonly k: number;
  readonly counts: Int32Array;
  readonly order: Int32Array;
  readonly weights: Float32Array;
}

/**
 * A backend's fused path for a batch of rows (n > 1): `out[n, hidden]` = the per-expert loop's
 * values, bit for bit (each expert over its rows in ascending order, the weighted sums added in
 * ascending expert order); false (nothing written) sends the batch down that loop instead.
 */
export type RoutedBatch = (w: MoeWeights, routes: Routes, x: Float32Array, n: number, out: Float32Array) => boolean;

/**
 * The sparse-MoE composite of one host backend. Keeps its grow-only scratch between calls.
 *
 * @example
 * const moe = new HostMoe(backend);
 * moe.forward(weights, x, n, out); // out[n, hidden]
 */
export class HostMoe {
  private readonly tensors = new Map<string, Float32Array>();
  private ids = new Int32Array(0); // [n, k] chosen experts
  private weights = new Float32Array(0); // [n, k] their weights
  private order = new Int32Array(0); // [n · k] choice indices sorted by expert, rows ascending

  /** `routed`: the backend's fused decode path for a single row (n = 1), tried first; `batch`: its
   * fused path for n > 1, tried once the rows are grouped by expert. */
  constructor(
    private readonly be: HostKernelBackend,
    private readonly routed?: RoutedExperts,
    private readonly batch?: RoutedBatch,
  ) {}

  /** `out[n, hidden]` = Σ over each row's top-k experts of weight × expert SwiGLU(x). `out` must not
   * overlap `x`. */
  forward(w: MoeWeights, xt: Tensor, n: number, outt: Tensor): void {
    const x = hostF32(xt, "moe x"), out = hostF32(outt, "moe out");
    const { router, experts, topK: k } = w;
    const E = router.rows, hidden = router.cols;
    if (experts.length !== E) throw new QwenrtError("moe", `the router has ${E} rows but there are ${experts.length} experts`);
    if (!Number.isInteger(k) || k < 1 || k > E) throw new QwenrtError("moe", `topK must be an integer in 1..${E}, got ${k}`);
    need("moe x", x, n * hidden);
    need("moe out", out, n * hidden);
    if (n <= 0) return;
    if (x.buffer === out.buffer && x.byteOffset < out.byteOffset + n * hidden * 4 && out.byteOffset < x.byteOffset + n * hidden * 4) {
      throw new QwenrtError("moe", "out must not overlap x");
    }
    const logits = this.tensor("logits", n * E); // [n, experts]
    this.be.matmul(router, x, n, logits);
    if (this.ids.length < n * k) {
      this.ids = new Int32Array(n * k);
      this.weights = new Float32Array(n * k);
      this.order = new Int32Array(n * k);
    }
    const { ids, weights, order } = this;
    routeTopK(logits, n, E, k, w.normalize, ids, weights);
    if (n === 1 && this.routed?.(w, ids.subarray(0, k), weights.subarray(0, k), x.subarray(0, hidden), out.subarray(0, hidden))) return;

    // Group (row, weight) pairs by expert: counting sort over the n·k choices.
    const counts = new Int32Array(E + 1);
    for (let i = 0; i < n * k; i++) counts[ids[i]! + 1]!++;
    for (let e = 0; e < E; e++) counts[e + 1]! += counts[e]!;
    const fill = counts.slice(0, E);
    for (let i = 0; i < n * k; i++) order[fill[ids[i]!]!++] = i;
    if (n > 1 && this.batch?.(w, { k, counts, order: order.subarray(0, n * k), weights: weights.subarray(0, n * k) }, x.subarray(0, n * hidden), n, out.subarray(0, n * hidden))) return;

    out.fill(0, 0, n * hidden);
    const xs = this.tensor("x", n * hidden); // [rows of one expert, hidden]
    const ys = this.tensor("y", n * hidden); // [rows of one expert, hidden]
    for (let e = 0; e < E; e++) {
      const from = counts[e]!;
      const m = counts[e + 1]! - from;
      if (m === 0) continue;
      for (let j = 0; j < m; j++) {
        const row = Math.floor(order[from + j]! / k);
        xs.set(x.subarray(row * hidden, (row + 1) * hidden), j * hidden);
      }
      const ex = experts[e]!;
      const g = this.tensor("gate", m * ex.gate.rows); // [m, inter] silu(gate) · up
      this.be.swiGlu(ex.gate, ex.up, xs, m, g);
      this.be.matmul(ex.down, g, m, ys);
      for (let j = 0; j < m; j++) {
        const choice = order[from + j]!;
        const row = Math.floor(choice / k);
        const wgt = weights[choice]!;
        const oo = row * hidden;
        const yo = j * hidden;
        for (let d = 0; d < hidden; d++) out[oo + d] += wgt * ys[yo + d]!;
      }
    }
  }

  /** Scratch tensor `name` of exactly `length` values (a view of a grow-only backend tensor). */
  private tensor(name: string, length: number): Float32Array {
    let t = this.tensors.get(name);
    if (t === undefined || t.length < length) {
      if (t !== undefined) this.be.freeF32(t);
      t = this.be.allocF32(Math.max(length, t === undefined ? 0 : Math.ceil(t.length * 1.5)));
      this.tensors.set(name, t);
    }
    return t.subarray(0, length);
  }
}
