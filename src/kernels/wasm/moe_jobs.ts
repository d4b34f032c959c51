/**
 * MoE jobs of one bank (assembly/moe.ts): the routed experts' gate/up projections with silu(gate) ·
 * up in one pool job, then their down projections — each on its own x rows (spans) — in a second,
 * instead of two jobs per expert; for a decode row (every expert reads row 0) and for a prefill
 * batch (each expert its own gathered tokens). Each matrix runs the same row kernel on the same
 * prepared x as dispatch.ts's `swiGlu` and `matmul` would give it, so the values are the same bits.
 */
import type { JobArg, JobRunner } from "./pool.js";
import type { KernelExports, KernelIds } from "./protocol.js";
import type { Staging } from "./staging.js";
import { quantizeRows } from "./dispatch.js";
import { FAMILY_K, FAMILY_Q, familyOf, type PackedMatrix } from "./matrix.js";

const ENTRY_BYTES = 32; // one assembly/multi.ts table entry

/** A prepared x: the arguments the row kernels of one family read (see assembly/multi.ts). */
interface PreparedX {
  readonly xa: number;
  readonly xb: number;
  readonly xc: number;
  readonly xd: number;
  /** K family: Σq groups of each row, `sumsRow` bytes apart; else 0. */
  readonly sums: number;
  readonly sumsRow: number;
}

/** The x rows one expert reads (from row `x`, `n` of them) and its first output row. */
export interface Span {
  readonly x: number;
  readonly n: number;
  readonly out: number;
}

export class MoeJobs {
  constructor(
    private readonly kernels: KernelExports,
    private readonly ids: KernelIds,
    private readonly pool: JobRunner,
    private readonly staging: Staging,
    private readonly relaxed: boolean,
  ) {}

  /** Whether `ms` share one kernel kind and shape (one prepared x layout serves them all). */
  static uniform(ms: readonly PackedMatrix[]): boolean {
    const m0 = ms[0];
    if (m0 === undefined || familyOf(m0.type) === undefined) return false;
    return ms.every((m) => m.type === m0.type && m.il === m0.il && m.rows === m0.rows && m.cols === m0.cols);
  }

  /** `pairs` = [gate₀, up₀, gate₁, up₁, …] (`uniform`) over x [xRows, cols] at `xp`: pair p reads
   * x rows spans[p].x .. + spans[p].n and writes out rows spans[p].out .. + n of out [outRows, rows]
   * = silu(x · gateᵀ) · (x · upᵀ); one job. */
  gateUp(pairs: readonly PackedMatrix[], xp: number, xRows: number, spans: readonly Span[], op: number): void {
    const m0 = pairs[0]!, { rows, cols } = m0, family = familyOf(m0.type)!;
    const x = this.prepare("moe.gu", m0, xp, xRows);
    const outRows = Math.max(...spans.map((s) => s.out + s.n));
    const halves = this.staging.tmp("moe.halves", 2 * outRows * rows * 4); // [gate, up] × [outRows, rows]
    const y = (j: number): number => halves + ((j & 1) * outRows + spans[j >> 1]!.out) * rows * 4;
    const table = this.fill("moe.gu.table", pairs, x, (j) => spans[j >> 1]!.x, y, () => 0);
    const sp = this.spans("moe.gu.spans", spans);
    const total = (pairs.length / 2) * rows;
    this.pool.run(this.ids.moeGateUp, total, this.chunk(total), [family, pairs.length / 2, table, sp, x.xa, x.xb, x.xc, x.xd, cols, blockOf(family), op] satisfies JobArg[]);
  }

  /** `downs` (`uniform`) over x [xRows, cols] at `xp`: down j reads x rows spans[j].x .. + n and
   * writes y rows spans[j].out .. + n of y [.., rows] at `yp`; one job. */
  down(downs: readonly PackedMatrix[], xp: number, xRows: number, spans: readonly Span[], yp: number): void {
    const m0 = downs[0]!, { rows, cols } = m0, family = familyOf(m0.type)!;
    const x = this.prepare("moe.down", m0, xp, xRows);
    const table = this.fill("moe.down.table", downs, x, (j) => spans[j]!.x, (j) => yp + spans[j]!.out * rows * 4, (j) => j * rows);
    const sp = this.spans("moe.down.spans", spans);
    const total = downs.length * rows;
    this.pool.run(this.ids.moeDown, total, this.chunk(total), [family, downs.length, table, sp, x.xa, x.xb, x.xc, x.xd, cols, blockOf(family)] satisfies JobArg[]);
  }

  /** The span table of assembly/moe.ts: 4 u32 per entry. */
  private spans(name: string, spans: readonly Span[]): number {
    const p = this.staging.tmp(name, spans.length * 16);
    const t = this.staging.u32(p, spans.length * 4);
    spans.forEach((s, j) => t.set([s.x, s.n, s.out, 0], j * 4));
    return p;
  }

  private chunk(total: number): number {
    return Math.max(4, Math.ceil(total / (this.pool.threads * 8) / 4) * 4);
  }

  /** The job table: entry j of matrix `ms[j]` writing at `y(j)`, its items from `first(j)`; K entries
   * read the Σq sums of their first x row, `xRow(j)`. */
  private fill(name: string, ms: readonly PackedMatrix[], x: PreparedX, xRow: (j: number) => number, y: (j: number) => number, first: (j: number) => number): number {
    const table = this.staging.tmp(name, ms.length * ENTRY_BYTES);
    const t = this.staging.u32(table, ms.length * (ENTRY_BYTES / 4));
    ms.forEach((m, j) => {
      const sums = x.sums === 0 ? 0 : x.sums + xRow(j) * x.sumsRow;
      t.set([m.kind, m.ptr, m.scales, y(j), 0, m.rows, first(j), sums], j * (ENTRY_BYTES / 4));
    });
    return table;
  }

  /** x [n, cols] at `xp` prepared for `m`'s kernel as dispatch.ts prepares it. */
  private prepare(slot: string, m: PackedMatrix, xp: number, n: number): PreparedX {
    const family = familyOf(m.type), cols = m.cols;
    const tmp = (name: string, bytes: number): number => this.staging.tmp(`${slot}.${name}`, bytes);
    if (family === FAMILY_Q) {
      const xa = tmp("xq", n * cols * 2), xc = tmp("xd", n * (cols / 32) * 4), xd = tmp("xs", n * (cols / 32) * 4);
      const xb = this.relaxed && m.type === "q4_0" ? tmp("xq8", n * cols) : 0;
      quantizeRows(this.kernels, this.ids, this.pool, xp, xa, xb, m.ilBits, xc, xd, n, cols, 32);
      return { xa, xb, xc, xd, sums: 0, sumsRow: 0 };
    }
    if (family === FAMILY_K) {
      const xa = tmp("xq", n * cols * 2), xc = tmp("xd", n * (cols / 256) * 4), xs = tmp("xs", n * (cols / 256) * 4);
      const xb = this.relaxed && m.type !== "q5_k" ? tmp("xq8", n * cols) : 0;
      quantizeRows(this.kernels, this.ids, this.pool, xp, xa, xb, m.ilBits, xc, xs, n, cols, 256);
      const group = m.type === "q6_k" ? 16 : 32; // dispatch.ts sumGroup
      const sums = tmp("sums", n * (cols / 16) * 4);
      this.kernels.blockSums(xa, sums, n * cols, group);
      return { xa, xb, xc, xd: 0, sums, sumsRow: (cols / group) * 2 }; // i16 sums
    }
    return { xa: xp, xb: 0, xc: 0, xd: 0, sums: 0, sumsRow: 0 };
  }
}

/** Values per xc / xd scale of the prepared x (assembly/moe.ts `block`). */
const blockOf = (family: number): number => (family === FAMILY_K ? 256 : 32);
