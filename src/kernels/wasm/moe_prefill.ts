/**
 * The wasm backend's fused prefill MoE (the `RoutedBatch` hook of ../host_moe.ts), mul_mat_id-style:
 * a batch's routed rows gathered by expert into one x per bank — expert e's tokens contiguous, in
 * ascending expert order — then every used expert's gate/up in one job and every down projection in
 * a second (per bank), instead of a SwiGLU and a matmul job per expert (Qwen3.5-35B-A3B: 256 used
 * experts per layer for a 256-token prompt). Each expert runs the same kernel on the same rows as
 * HostMoe's loop would give it, and the weighted sums are added in the same order, so the result is
 * the same bits.
 */
import type { Routes } from "../host_moe.js";
import type { Matrix, MoeWeights } from "../types.js";
import type { Bank, Banks } from "./bank.js";
import { expertParts, fusedGroups } from "./moe_decode.js";
import type { Span } from "./moe_jobs.js";
import type { PackedMatrix, WasmMatrix } from "./matrix.js";

/** One used expert: its index, its choices (order[from .. from + m)) and its matrices' parts. */
interface Used {
  readonly e: number;
  readonly from: number;
  readonly m: number;
  readonly gate: PackedMatrix;
  readonly up: PackedMatrix;
  readonly down: PackedMatrix;
}

/** Where a used expert's rows of an intermediate result live: a bank and a byte offset there. */
interface At {
  readonly bank: Bank;
  readonly ptr: number;
}

/**
 * `out[n, hidden]` for a batch's grouped routes; false (nothing written) when the experts cannot
 * take the fused path (a matrix split across banks, a gate and up in different banks, or kinds that
 * cannot share a job).
 */
export function batchedExperts(banks: Banks, own: (m: Matrix) => WasmMatrix, w: MoeWeights, routes: Routes, x: Float32Array, n: number, out: Float32Array): boolean {
  const { k, counts, order, weights } = routes;
  const used: Used[] = [];
  for (let e = 0; e < w.experts.length; e++) {
    const from = counts[e]!, m = counts[e + 1]! - from;
    if (m === 0) continue;
    const parts = expertParts(own, w.experts[e]!);
    if (parts === undefined) return false;
    used.push({ e, from, m, ...parts });
  }
  const groups = used.length === 0 ? undefined : fusedGroups(used);
  if (groups === undefined) return false;
  const { byGate, byDown } = groups;
  const hidden = x.length / n, inter = used[0]!.gate.rows;

  // silu(gate) · up, by the bank holding each expert's gate and up: [its rows, inter] per expert.
  const acts = new Map<Used, At>();
  const gateOut = new Map<number, number>(); // bank → its [rows, inter] result, for a down list equal to the gate list
  for (const [index, list] of byGate) {
    const bank = banks.all[index]!, s = bank.staging, spans = spansOf(list), rows = total(list);
    const xp = s.tmp("moe.b.x", rows * hidden * 4), gp = s.tmp("moe.b.act", rows * inter * 4);
    const xs = bank.heap.f32(xp, rows * hidden);
    list.forEach((r, j) => {
      for (let i = 0; i < r.m; i++) {
        const row = Math.floor(order[r.from + i]! / k);
        xs.set(x.subarray(row * hidden, (row + 1) * hidden), (spans[j]!.x + i) * hidden);
      }
    });
    bank.moe.gateUp(list.flatMap((r) => [r.gate, r.up]), xp, rows, spans, gp);
    list.forEach((r, j) => acts.set(r, { bank, ptr: gp + spans[j]!.x * inter * 4 }));
    gateOut.set(index, gp);
  }
  // Down projections by the bank holding them; their inputs are gathered there unless that bank ran
  // the same experts' gate/up (then its result is already the [rows, inter] batch in this order).
  const ys = new Map<Used, At>();
  for (const [index, list] of byDown) {
    const bank = banks.all[index]!, s = bank.staging, spans = spansOf(list), rows = total(list);
    const same = byGate.get(index);
    let xp = gateOut.get(index) ?? 0;
    if (same === undefined || same.length !== list.length || same.some((r, j) => r !== list[j])) {
      xp = s.tmp("moe.b.dx", rows * inter * 4);
      const xs = bank.heap.f32(xp, rows * inter);
      list.forEach((r, j) => {
        const a = acts.get(r)!;
        xs.set(a.bank.heap.f32(a.ptr, r.m * inter), spans[j]!.x * inter);
      });
    }
    const yp = s.tmp("moe.b.y", rows * hidden * 4);
    bank.moe.down(list.map((r) => r.down), xp, rows, spans, yp);
    list.forEach((r, j) => ys.set(r, { bank, ptr: yp + spans[j]!.x * hidden * 4 }));
  }
  // The weighted sums in ascending expert order, each expert's rows in order: HostMoe's loop.
  out.fill(0, 0, n * hidden);
  for (const r of used) {
    const at = ys.get(r)!, y = at.bank.heap.f32(at.ptr, r.m * hidden);
    for (let i = 0; i < r.m; i++) {
      const choice = order[r.from + i]!, wgt = weights[choice]!;
      const oo = Math.floor(choice / k) * hidden, yo = i * hidden;
      for (let d = 0; d < hidden; d++) out[oo + d] += wgt * y[yo + d]!;
    }
  }
  return true;
}

/** Experts' rows laid end to end in list order: expert j reads and writes rows x .. x + m. */
function spansOf(list: readonly Used[]): Span[] {
  let row = 0;
  return list.map((r) => {
    const s = { x: row, n: r.m, out: row };
    row += r.m;
    return s;
  });
}

const total = (list: readonly Used[]): number => list.reduce((a, r) => a + r.m, 0);
