/**
 * Weight matrices in wasm memory: a loaded matrix (`WasmMatrix`) and its parts (`PackedMatrix`: the
 * rows one bank holds, their stored type, layout and the kernel kind that reads them). Loading is
 * in load_matrix.ts.
 */
import type { Matrix, WeightType } from "../types.js";

/** Types `dtype` may convert float weights to on load. */
export type WasmDtype = "q8_0" | "q4_0" | "q4_k";

/** Kernel kind within each family (assembly/matmul_float.ts, matmul_q.ts, matmul_k.ts). */
export const FLOAT_KIND: Partial<Record<WeightType, number>> = { f32: 0, bf16: 1, f16: 2 };
export const Q_KIND: Partial<Record<WeightType, number>> = { q8_0: 0, q4_0: 1, q5_0: 3 };
const Q4_0_IL = 2; // assembly/matmul_q.ts Q_Q4_0_IL
const Q8_0_IL = 4; // assembly/matmul_q.ts Q_Q8_0_IL
export const K_KIND: Partial<Record<WeightType, number>> = { q4_k: 0, q6_k: 1, q5_k: 2 };
const K_SB: Partial<Record<WeightType, number>> = { q4_k: 3, q6_k: 4 }; // assembly/matmul_k.ts K_Q4_K_SB, K_Q6_K_SB

/** Kernel families of assembly/multi.ts (matrices of one family share the prepared x). */
export const FAMILY_FLOAT = 0, FAMILY_Q = 1, FAMILY_K = 2;
export function familyOf(t: WeightType): number | undefined {
  if (FLOAT_KIND[t] !== undefined) return FAMILY_FLOAT;
  if (Q_KIND[t] !== undefined) return FAMILY_Q;
  if (K_KIND[t] !== undefined) return FAMILY_K;
  return undefined;
}

/** A weight matrix's rows `first .. first + rows - 1`, repacked at `ptr` in one bank (see repack.ts).
 * The matmul kernels run on one of these. */
export class PackedMatrix {
  constructor(
    readonly bank: number, // index of the bank it lives in
    readonly type: WeightType, // as stored (after any conversion on load)
    readonly first: number, // first row of the whole matrix it holds
    readonly rows: number,
    readonly cols: number,
    readonly ptr: number, // byte offset of the repacked data
    readonly scales: number, // byte offset of q8_0 / q4_0 scales (0 for other types)
    readonly bytes: number, // repacked size
    readonly il: boolean, // q4_0 / q8_0 interleaved, or q4_k / q6_k in the sub-block-lane layout (repack.ts)
    readonly dot = false, // q8_0 interleaved in the dot-add order (a backend with the dot-add: repack.ts)
  ) {}

  /** q8_0 in the interleaved layout: reads x as i16 in its own order (quantizeQ8 `il` bit 2). */
  get il8(): boolean {
    return this.il && this.type === "q8_0";
  }

  /** quantizeQ8's `il` bits this matrix needs: 1 = i8 x in Q4_0_IL order (interleaved q4_0, and
   * the sub-block-lane q4_k / q6_k), 2 = i16 x in Q8_0_IL order. */
  get ilBits(): number {
    return this.il ? (this.il8 ? 2 : 1) : 0;
  }

  /** Kernel kind within its family (assembly/*.ts). */
  get kind(): number {
    if (this.il) return K_SB[this.type] ?? (this.il8 ? Q8_0_IL : Q4_0_IL);
    return FLOAT_KIND[this.type] ?? Q_KIND[this.type] ?? K_KIND[this.type]!;
  }
}

/** A weight matrix of the wasm backend: one part per bank it spans — one, unless the matrix is
 * larger than a bank (then split by rows, in whole row quads, all parts in the layout the whole
 * would have). */
export class WasmMatrix implements Matrix {
  readonly bytes: number;

  constructor(
    readonly owner: object, // the backend's banks (bank.ts `Banks`): whose memory it lives in
    readonly type: WeightType,
    readonly rows: number,
    readonly cols: number,
    readonly parts: readonly PackedMatrix[], // by first row
  ) {
    this.bytes = parts.reduce((a, p) => a + p.bytes, 0);
  }

  /** The part holding row `row` (0 ≤ row < rows). */
  partOf(row: number): PackedMatrix {
    const ps = this.parts;
    let lo = 0, hi = ps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ps[mid]!.first <= row) lo = mid;
      else hi = mid - 1;
    }
    return ps[lo]!;
  }
}
