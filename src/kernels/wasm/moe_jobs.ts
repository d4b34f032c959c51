/**
 * Decode-time MoE jobs of one bank (assembly/moe.ts): the routed experts' gate/up projections with
 * silu(gate) · up in one pool job, then their down projections — each on its own expert's row — in
 * a second, instead of two jobs per expert. Each matrix runs the same row kernel on the same
 * prepared x as dispatch.ts's `swiGlu` and `matmul` would give it, so the values are the same bits.
 */
import type { JobArg, JobRunner } from "./pool.js";
import type { KernelExports, KernelIds } from "./protocol.js";
import type { Staging } from "./staging.js";
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

  /** `pairs` = [gate₀, up₀, gate₁, up₁, …] (`uniform`), all reading x [n, cols] at `xp`:
   * out [pairs, n, rows] = silu(x · gateᵀ) · (x · upᵀ), one job; n > 0. */
  gateUp(pairs: readonly PackedMatrix[], xp: number, n: number, op: number): void {
    const m0 = pairs[0]!, { rows, cols } = m0, family = familyOf(m0.type)!;
    const x = this.prepare("moe.gu", m0, xp, n);
    const halves = this.staging.tmp("moe.halves", pairs.length * n * rows * 4); // [2 · pairs, n, rows]
    const table = this.fill("moe.gu.table", pairs, x, false, (j) => halves + j * n * rows * 4, () => 0);
    const total = (pairs.length / 2) * rows;
    this.pool.run(this.ids.moeGateUp, total, this.chunk(total), [family, pairs.length / 2, table, x.xa, x.xb, x.xc, x.xd, n, cols, op] satisfies JobArg[]);
  }

  /** `downs` (`uniform`): y_j [rows] = x_j · down_jᵀ with x_j row j of x [downs, cols] at `xp`, y_j at
   * `yp + 4 · j · rows`; one job. */
  down(downs: readonly PackedMatrix[], xp: number, yp: number): void {
    const m0 = downs[0]!, { rows, cols } = m0, family = familyOf(m0.type)!;
    const x = this.prepare("moe.down", m0, xp, downs.length);
    const table = this.fill("moe.down.table", downs, x, true, (j) => yp + j * rows * 4, (j) => j * rows);
    const total = downs.length * rows;
    const block = family === FAMILY_K ? 256 : 32;
    this.pool.run(this.ids.moeDown, total, this.chunk(total), [family, downs.length, table, x.xa, x.xb, x.xc, x.xd, cols, block] satisfies JobArg[]);
  }

  private chunk(total: number): number {
    return Math.max(4, Math.ceil(total / (this.pool.threads * 8) / 4) * 4);
  }

  /** The job table: entry j of matrix `ms[j]` writing at `y(j)`, its items from `first(j)`; `rowOwn`:
   * K entries read the sums of x row j (down job), else all read row 0's (one shared x). */
  private fill(name: string, ms: readonly PackedMatrix[], x: PreparedX, rowOwn: boolean, y: (j: number) => number, first: (j: number) => number): number {
    const table = this.staging.tmp(name, ms.length * ENTRY_BYTES);
    const t = this.staging.u32(table, ms.length * (ENTRY_BYTES / 4));
    ms.forEach((m, j) => {
      const sums = x.sums === 0 ? 0 : x.sums + (rowOwn ? j * x.sumsRow : 0);
      t.set([m.kind, m.ptr, m.scales, y(j), 0, m.rows, first(j), sums], j * (ENTRY_BYTES / 4));
    });
    return table;
  }

  /** x [n, cols] at `xp` prepared for `m`'s kernel as dispatch.ts prepares it (quantizeQ8 on this
   * thread: decode batches are a few rows). */
  private prepare(slot: string, m: PackedMatrix, xp: number, n: number): PreparedX {
    const family = familyOf(m.type), cols = m.cols;
    const tmp = (name: string, bytes: number): number => this.staging.tmp(`${slot}.${name}`, bytes);
    if (family === FAMILY_Q) {
      const xa = tmp("xq", n * cols * 2), xc = tmp("xd", n * (cols / 32) * 4), xd = tmp("xs", n * (cols / 32) * 4);
      const xb = this.relaxed && m.type === "q4_0" ? tmp("xq8", n * cols) : 0;
      this.kernels.quantizeQ8(xp, xa, xb, m.ilBits, xc, xd, n, cols, 32);
      return { xa, xb, xc, xd, sums: 0, sumsRow: 0 };
    }
    if (family === FAMILY_K) {
      const xa = tmp("xq", n * cols * 2), xc = tmp("xd", n * (cols / 256) * 4), xs = tmp("xs", n * (cols / 256) * 4);
      const xb = this.relaxed && m.type !== "q5_k" ? tmp("xq8", n * cols) : 0;
      this.kernels.quantizeQ8(xp, xa, xb, m.ilBits, xc, xs, n, cols, 256);
      const group = m.type === "q6_k" ? 16 : 32; // dispatch.ts sumGroup
      const sums = tmp("sums", n * (cols / 16) * 4);
      this.kernels.blockSums(xa, sums, n * cols, group);
      return { xa, xb, xc, xd: 0, sums, sumsRow: (cols / group) * 2 }; // i16 sums
    }
    return { xa: xp, xb: 0, xc: 0, xd: 0, sums: 0, sumsRow: 0 };
  }
}
