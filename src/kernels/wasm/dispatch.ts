/**
 * Matmul dispatch by weight type: which kernel family runs a matrix, how x is prepared for it
 * (float x as is; int8/int16 quantized x with block scales and sums for the Q and K families, in the
 * order an interleaved layout reads), and the multi-matrix job that serves matmulMany and swiGlu.
 * Everything here takes byte offsets of data already in wasm memory (see staging.ts).
 */
import type { JobArg, JobRunner } from "./pool.js";
import type { KernelExports, KernelIds } from "./protocol.js";
import type { Staging } from "./staging.js";
import { FAMILY_K, FAMILY_Q, FLOAT_KIND, K_KIND, Q_KIND, familyOf, type PackedMatrix } from "./matrix.js";
import type { WeightType } from "../types.js";

/** Σq group size of the K kernels' x sums: 16 for Q6_K's sub-blocks, else 32. */
const sumGroup = (t: WeightType): number => (t === "q6_k" ? 16 : 32);
const ENTRY_BYTES = 32; // one assembly/multi.ts table entry

/** Rows per pool chunk of a matmul over `total` rows with `n` x rows (a multiple of 4: interleaved
 * layouts run in quads). Prefill is bound by compute: eight chunks per thread, so a descheduled
 * thread's share moves to the others. Decode reads each chunk's weights as four streams
 * (assembly/streams.ts) that the prefetcher ramps up on anew, so it takes four: Qwen3-0.6B decode
 * on 2 threads (AMD EPYC Zen 5), eight → four chunks per thread: Q4_0 58-63 → 56-74 tok/s, Q4_K
 * 58-65 → 69-72, bf16 28-31 → 26-31 (two: 64-76, 57-76, 27-35 — less even); Qwen3-1.7B Q4_0
 * 26.8-27.3 → 28.4-28.6. */
function rowChunk(total: number, n: number, threads: number): number {
  const perThread = n === 1 ? 4 : 8;
  return Math.max(4, Math.ceil(total / (threads * perThread) / 4) * 4);
}

/** Where one matrix of a multi-matrix job writes: y (and its bias, 0 for none). */
export interface OutPtrs {
  readonly y: number;
  readonly b: number;
}

export class MatmulDispatch {
  constructor(
    private readonly kernels: KernelExports,
    private readonly ids: KernelIds,
    private readonly pool: JobRunner,
    private readonly staging: Staging,
    private readonly relaxed: boolean,
  ) {}

  /** Whether `ms` can run as one multi-matrix job on one prepared x (else: one matmul each, same values). */
  fusable(ms: readonly PackedMatrix[]): boolean {
    if (ms.length < 2 || ms.length > 8) return false;
    const family = familyOf(ms[0]!.type), cols = ms[0]!.cols;
    // q4_0 matrices read one i8 x, interleaved or plain: a mix of layouts (rows % 4 differs) cannot share it.
    const q4 = ms.filter((m) => m.type === "q4_0"), q4Mixed = q4.some((m) => m.il) && q4.some((m) => !m.il);
    return !q4Mixed && ms.every((m) => familyOf(m.type) === family && m.cols === cols);
  }

  /** `y[n, rows] = x[n, cols] · mᵀ (+ bias)`; n > 0. */
  matmul(m: PackedMatrix, xp: number, n: number, yp: number, bp: number): void {
    const { rows, cols } = m;
    const tmp = (name: string, bytes: number): number => this.staging.tmp(name, bytes);
    const chunk = rowChunk(rows, n, this.pool.threads);
    const fk = FLOAT_KIND[m.type], qk = Q_KIND[m.type], kk = K_KIND[m.type];
    if (fk !== undefined) {
      this.pool.run(this.ids.matmulFloat, rows, chunk, [fk, m.ptr, xp, yp, bp, n, rows, cols]);
    } else if (qk !== undefined) {
      const xq = tmp("xq", n * cols * 2), xd = tmp("xd", n * (cols / 32) * 4), xs = tmp("xs", n * (cols / 32) * 4);
      const xq8 = this.relaxed && m.type === "q4_0" ? tmp("xq8", n * cols) : 0;
      this.quantizeX(xp, xq, xq8, m.ilBits, xd, xs, n, cols, 32);
      this.pool.run(this.ids.matmulQ, rows, chunk, [m.kind, m.ptr, m.scales, xq, xq8, xd, xs, yp, bp, n, rows, cols]);
    } else if (kk !== undefined) {
      const xq = tmp("xq", n * cols * 2), xd = tmp("xd", n * (cols / 256) * 4), xs = tmp("xs", n * (cols / 256) * 4);
      const sums = tmp("sums", n * (cols / 16) * 4), xq8 = this.relaxed && m.type !== "q5_k" ? tmp("xq8", n * cols) : 0;
      this.quantizeX(xp, xq, xq8, m.ilBits, xd, xs, n, cols, 256);
      this.kernels.blockSums(xq, sums, n * cols, sumGroup(m.type));
      this.pool.run(this.ids.matmulK, rows, chunk, [m.kind, m.ptr, xq, xq8, xd, sums, yp, bp, n, rows, cols]);
    } else {
      throw new Error(`unreachable: no kernel for ${m.type}`);
    }
  }

  /** matmulMany of `fusable` matrices: one prepared x, one job; n > 0. */
  many(ms: readonly PackedMatrix[], xp: number, n: number, outs: readonly OutPtrs[]): void {
    const total = ms.reduce((a, m) => a + m.rows, 0);
    this.runMulti(familyOf(ms[0]!.type)!, ms, outs, xp, n, ms[0]!.cols, total, 0);
  }

  /** swiGlu of a `fusable` pair (gate, up): both projections and silu(gate) · up in one job; n > 0. */
  swiGlu(g: PackedMatrix, u: PackedMatrix, xp: number, n: number, op: number): void {
    const gp = this.staging.tmp("swiglu.gate", n * g.rows * 4), upp = this.staging.tmp("swiglu.up", n * g.rows * 4);
    this.runMulti(familyOf(g.type)!, [g, u], [{ y: gp, b: 0 }, { y: upp, b: 0 }], xp, n, g.cols, g.rows, op);
  }

  /** Prepare x for `family` once and run the multi-matrix job over `total` items. */
  private runMulti(family: number, ms: readonly PackedMatrix[], ptrs: readonly OutPtrs[], xp: number, n: number, cols: number, total: number, out: number): void {
    const tmp = (name: string, bytes: number): number => this.staging.tmp(name, bytes);
    const table = tmp("multi.table", ms.length * ENTRY_BYTES);
    const t = this.staging.u32(table, ms.length * (ENTRY_BYTES / 4));
    let xa = xp, xb = 0, xc = 0, xd = 0;
    let xi = 0; // interleaved i16 x of q8_0 entries when others read the plain xa (table slot 7)
    if (family === FAMILY_Q) {
      xa = tmp("xq", n * cols * 2);
      xc = tmp("xd", n * (cols / 32) * 4);
      xd = tmp("xs", n * (cols / 32) * 4);
      xb = this.relaxed && ms.some((m) => m.type === "q4_0") ? tmp("xq8", n * cols) : 0;
      // q4_0 entries all share one layout (`fusable`); q8_0 entries may mix (xi below).
      const q4il = ms.some((m) => m.il && !m.il8) ? 1 : 0;
      const all8 = ms.every((m) => m.il8);
      this.quantizeX(xp, xa, xb, q4il | (all8 ? 2 : 0), xc, xd, n, cols, 32);
      if (!all8 && ms.some((m) => m.il8)) {
        xi = tmp("xqi", n * cols * 2);
        this.quantizeX(xp, xi, 0, 2, xc, xd, n, cols, 32); // same xd / xs values again
      }
    } else if (family === FAMILY_K) {
      xa = tmp("xq", n * cols * 2);
      xc = tmp("xd", n * (cols / 256) * 4);
      const xs = tmp("xs", n * (cols / 256) * 4); // xb: Q4_K / Q6_K's i8 copy of x (relaxed build)
      xb = this.relaxed && ms.some((m) => m.type !== "q5_k") ? tmp("xq8", n * cols) : 0;
      // The sub-block-lane q4_k / q6_k read it in Q4_0_IL order (the relaxed build has no others).
      this.quantizeX(xp, xa, xb, ms.some((m) => m.il) ? 1 : 0, xc, xs, n, cols, 256);
    }
    let first = 0;
    ms.forEach((m, j) => {
      const e = j * (ENTRY_BYTES / 4);
      let sums = 0;
      if (family === FAMILY_K) {
        const group = sumGroup(m.type);
        sums = tmp(`sums${group}`, n * (cols / 16) * 4);
        this.kernels.blockSums(xa, sums, n * cols, group);
      }
      t.set([m.kind, m.ptr, m.scales, ptrs[j]!.y, ptrs[j]!.b, m.rows, first, family === FAMILY_K ? sums : m.il8 ? xi : 0], e);
      first += m.rows;
    });
    const chunk = rowChunk(total, n, this.pool.threads);
    this.pool.run(this.ids.matmulMulti, total, chunk, [family, ms.length, table, xa, xb, xc, xd, n, cols, out] satisfies JobArg[]);
  }

  private quantizeX(x: number, xq: number, xq8: number, il: number, xd: number, xs: number, n: number, cols: number, block: number): void {
    quantizeRows(this.kernels, this.ids, this.pool, x, xq, xq8, il, xd, xs, n, cols, block);
  }
}

/** quantizeQ8 of n x rows: on this thread for a decode step's few, split by rows over the pool for a
 * prefill batch (rows are independent: the same bytes). */
export function quantizeRows(kernels: KernelExports, ids: KernelIds, pool: JobRunner, x: number, xq: number, xq8: number, il: number, xd: number, xs: number, n: number, cols: number, block: number): void {
  const threads = pool.threads;
  if (n < 16 || threads === 1) kernels.quantizeQ8(x, xq, xq8, il, xd, xs, n, cols, block);
  else pool.run(ids.quantize, n, Math.ceil(n / (threads * 4)), [x, xq, xq8, il, xd, xs, cols, block]);
}
