/**
 * The wasm backend's fused decode MoE (the `RoutedExperts` hook of ../host_moe.ts): one token's routed
 * experts grouped by the bank that holds their gate/up (one job per bank), then by the bank that
 * holds their down projections (one job per bank, inputs gathered there) — instead of two jobs per
 * expert — then the weighted sum on the host in ascending expert order — the order and
 * float32 rounding of HostMoe's per-expert loop, so the result is the same bits.
 */
import type { ExpertWeights, Matrix, MoeWeights } from "../types.js";
import type { Banks } from "./bank.js";
import { MoeJobs } from "./moe_jobs.js";
import type { PackedMatrix, WasmMatrix } from "./matrix.js";

/** One routed expert: its index, weight and the parts its three matrices run on. */
interface Routed {
  readonly e: number;
  readonly w: number;
  readonly gate: PackedMatrix;
  readonly up: PackedMatrix;
  readonly down: PackedMatrix;
}

/**
 * `out[hidden]` = Σ_j weights[j] · expert_{ids[j]}(x) for one row; false (nothing written) when the
 * experts cannot take the fused path (a matrix split across banks, an expert's gate and up in
 * different banks, or kinds that cannot share a job).
 */
export function routedExperts(banks: Banks, own: (m: Matrix) => WasmMatrix, w: MoeWeights, ids: Int32Array, weights: Float32Array, x: Float32Array, out: Float32Array): boolean {
  const routed: Routed[] = [];
  for (let j = 0; j < ids.length; j++) {
    const parts = expertParts(own, w.experts[ids[j]!]!);
    if (parts === undefined) return false;
    routed.push({ e: ids[j]!, w: weights[j]!, ...parts });
  }
  const groups = fusedGroups(routed);
  if (groups === undefined) return false;
  const { byGate, byDown } = groups;
  const hidden = x.length, inter = routed[0]!.gate.rows;
  // silu(gate) · up of each expert, by the bank holding its gate and up: [experts of the bank, inter].
  const acts = new Map<Routed, Float32Array>();
  for (const [index, list] of byGate) {
    const bank = banks.all[index]!, s = bank.staging;
    const gp = s.tmp("moe.g", list.length * inter * 4);
    bank.moe.gateUp(list.flatMap((r) => [r.gate, r.up]), s.input("moe.x", x, hidden), 1, list.map((_, j) => ({ x: 0, n: 1, out: j })), gp);
    list.forEach((r, j) => acts.set(r, bank.heap.f32(gp + j * inter * 4, inter)));
  }
  // Down projections by the bank holding them, their inputs gathered there as rows: [experts, inter].
  const ys: { e: number; w: number; y: Float32Array }[] = [];
  for (const [index, list] of byDown) {
    const bank = banks.all[index]!, s = bank.staging;
    const xp = s.tmp("moe.down.x", list.length * inter * 4), yp = s.tmp("moe.y", list.length * hidden * 4);
    const xs = bank.heap.f32(xp, list.length * inter);
    list.forEach((r, j) => xs.set(acts.get(r)!, j * inter));
    bank.moe.down(list.map((r) => r.down), xp, list.length, list.map((_, j) => ({ x: j, n: 1, out: j })), yp);
    list.forEach((r, j) => ys.push({ e: r.e, w: r.w, y: bank.heap.f32(yp + j * hidden * 4, hidden) }));
  }
  ys.sort((a, b) => a.e - b.e);
  out.fill(0, 0, hidden);
  for (const { w: wgt, y } of ys) for (let d = 0; d < hidden; d++) out[d] += wgt * y[d]!;
  return true;
}

/** The single parts of an expert's three matrices, or undefined when one is split across banks or
 * its gate and up sit in different banks (then the fused paths decline). */
export function expertParts(own: (m: Matrix) => WasmMatrix, ex: ExpertWeights): { gate: PackedMatrix; up: PackedMatrix; down: PackedMatrix } | undefined {
  const [g, u, d] = [own(ex.gate), own(ex.up), own(ex.down)];
  if (g.parts.length !== 1 || u.parts.length !== 1 || d.parts.length !== 1 || u.parts[0]!.bank !== g.parts[0]!.bank) return undefined;
  return { gate: g.parts[0]!, up: u.parts[0]!, down: d.parts[0]! };
}

/** Experts grouped by the bank of their gate / up and of their down projection, in list order;
 * undefined when a group's matrices cannot share one job (MoeJobs.uniform). */
export function fusedGroups<T extends { gate: PackedMatrix; up: PackedMatrix; down: PackedMatrix }>(list: readonly T[]): { byGate: Map<number, T[]>; byDown: Map<number, T[]> } | undefined {
  const byGate = groupBy(list, (r) => r.gate.bank), byDown = groupBy(list, (r) => r.down.bank);
  for (const g of byGate.values()) if (!MoeJobs.uniform(g.flatMap((r) => [r.gate, r.up]))) return undefined;
  for (const g of byDown.values()) if (!MoeJobs.uniform(g.map((r) => r.down))) return undefined;
  return { byGate, byDown };
}

/** `xs` grouped by `key`, each group in `xs` order. */
export function groupBy<T>(xs: readonly T[], key: (x: T) => number): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const x of xs) {
    const list = m.get(key(x));
    if (list === undefined) m.set(key(x), [x]);
    else list.push(x);
  }
  return m;
}
