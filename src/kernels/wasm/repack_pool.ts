/**
 * The load-time repack on the worker pool (assembly/repack.ts): ggml rows staged into the bank that
 * holds their matrix are rewritten into the kernels' layout by every thread, the same bytes as
 * repack.ts — which stays the reference, and the path of the layouts the kernel does not have
 * (q5_0, q5_k, float types). On one thread in JavaScript the repack was most of a GGUF start
 * (Qwen3-0.6B: 1.5 of 2.4 s for Q4_K_M, 2.7 of 4.6 s for Q8_0).
 */
import { rowBytes } from "../../formats/quant/index.js";
import type { WeightType } from "../../formats/quant/types.js";
import type { JobRunner } from "./pool.js";
import { globalValue, type KernelExports } from "./protocol.js";
import { repack } from "./repack.js";

/** Writes ggml rows `r0 .. r0 + rows` (`ggml`: [rows, rowBytes(type, cols)], host memory) into a matrix. */
export type RowSink = (ggml: Uint8Array, rows: number, r0: number) => void;

/** Bytes of one matrix's staging buffer (two halves when reads overlap the repack). */
export const STAGE_AREA = 8 << 20;

/** The memory of the bank: views of staging buffers. */
export interface StageMemory {
  u8(ptr: number, length: number): Uint8Array;
}

/** One matrix (or part) being filled: its place in the bank and layout. */
export interface RepackTarget {
  readonly type: WeightType;
  readonly il: boolean;
  /** q8_0 interleaved in the dot-add order (repack.ts). */
  readonly dot: boolean;
  readonly ptr: number;
  readonly rows: number;
  readonly cols: number;
}

export class PoolRepacker {
  private readonly kernel: number;
  private readonly ids: Readonly<Record<"q8_0" | "q4_0" | "q4_k" | "q6_k", readonly [plain: number, il: number]>>;
  private readonly q8Dot: number; // RP_Q8_0_ILD

  constructor(
    private readonly runner: JobRunner,
    kernels: KernelExports,
    private readonly memory: StageMemory,
  ) {
    const id = globalValue;
    this.kernel = id(kernels.K_REPACK);
    this.ids = {
      q8_0: [id(kernels.RP_Q8_0), id(kernels.RP_Q8_0_IL)],
      q4_0: [id(kernels.RP_Q4_0), id(kernels.RP_Q4_0_IL)],
      q4_k: [id(kernels.RP_Q4_K), id(kernels.RP_Q4_K_SB)],
      q6_k: [id(kernels.RP_Q6_K), id(kernels.RP_Q6_K_SB)],
    };
    this.q8Dot = id(kernels.RP_Q8_0_ILD);
  }

  /** Threads of the pool. */
  get threads(): number {
    return this.runner.threads;
  }

  /** The kernel's layout id for `t`, or undefined where repack.ts does it. */
  kind(t: RepackTarget): number | undefined {
    if (t.dot) return this.q8Dot;
    const ids = this.ids[t.type as keyof typeof this.ids] as readonly [number, number] | undefined;
    return ids?.[t.il ? 1 : 0];
  }

  /** Rows `r0 .. r0 + rows` of `t` from the ggml rows staged at `src` in this bank. */
  runStaged(kind: number, t: RepackTarget, src: number, rows: number, r0: number): void {
    const chunk = Math.max(1, Math.ceil(rows / (this.runner.threads * 4)));
    this.runner.run(this.kernel, rows, chunk, [kind, src, t.ptr, t.cols, r0, t.rows]);
  }

  view(ptr: number, bytes: number): Uint8Array {
    return this.memory.u8(ptr, bytes);
  }

  /**
   * A sink for host rows of `t`: copied into `stage` (a buffer of this bank, at least a row) a slab
   * at a time and repacked there by the pool, or repack.ts into `dst` (the matrix's bytes) for the
   * other layouts.
   */
  sink(t: RepackTarget, dst: Uint8Array, stage: { readonly ptr: number; readonly bytes: number }): RowSink {
    const kind = this.kind(t);
    if (kind === undefined) return (ggml, n, r0) => repack(t.type, ggml, n, t.cols, dst, t.il, r0, t.rows, t.dot);
    const row = rowBytes(t.type, t.cols);
    const slab = Math.min(t.rows, Math.floor(stage.bytes / row));
    if (stage.ptr < 0 || slab < 1) throw new Error(`internal: no staging buffer for rows of ${row} bytes`);
    return (ggml, n, r0) => {
      for (let r = 0; r < n; r += slab) {
        const m = Math.min(slab, n - r);
        this.view(stage.ptr, m * row).set(ggml.subarray(r * row, (r + m) * row));
        this.runStaged(kind, t, stage.ptr, m, r0 + r);
      }
    };
  }
}
