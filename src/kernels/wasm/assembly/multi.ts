// Several weight matrices sharing one input x in one job (q/k/v projections; gate/up of SwiGLU):
// x is quantized once and the pool is woken once. Work items are the matrices' rows laid end to end;
// in SwiGLU mode every matrix computes the same row range and the chunk is finished with
// out = silu(gate) · up, so the element-wise pass needs no job of its own.
//
// Table entry j (8 u32 at table + 32·j): kind, w, scales (Q family) / 0, y, bias or 0, rows,
// first item, x sums (K family: this entry's Σq groups) / this entry's own i16 x (Q family: the
// interleaved xq of Q_Q8_0_IL when other entries read the plain one) or 0 (use xa).
import { matmulFloatRows } from "./matmul_float";
import { matmulKRows } from "./matmul_k";
import { matmulQRows } from "./matmul_q";
import { siluMulRow } from "./simd";

export const FAMILY_FLOAT: i32 = 0;
export const FAMILY_Q: i32 = 1;
export const FAMILY_K: i32 = 2;

@inline function e32(table: usize, j: i32, slot: i32): u32 {
  return load<u32>(table + (<usize>j << 5) + (<usize>slot << 2));
}

/** Items i0..i1 of a multi-matrix job. x arguments by family — float: xa = x; Q: xa = xq (i16),
 * xb = xq8 (i8 or 0), xc = xd, xd = xs; K: xa = xq, xb = xq8 (i8 copy, Q4_K / Q6_K in the relaxed build) or 0, xc = xd. n: x rows; cols: shared width;
 * out: SwiGLU output [n, rows] f32, or 0 for plain products. */
export function matmulMulti(family: i32, count: i32, table: usize, xa: usize, xb: usize, xc: usize, xd: usize, n: i32, cols: i32, out: usize, i0: i32, i1: i32): void {
  for (let j = 0; j < count; j++) {
    const rows = <i32>e32(table, j, 5);
    const first = out != 0 ? i0 : <i32>e32(table, j, 6);
    const a = out != 0 ? 0 : max(i0 - first, 0);
    const b = out != 0 ? i1 - i0 : min(i1 - first, rows);
    if (a >= b) continue;
    const r0 = out != 0 ? i0 : a, r1 = out != 0 ? i1 : b;
    const kind = <i32>e32(table, j, 0), w = e32(table, j, 1), y = e32(table, j, 3), bias = e32(table, j, 4);
    if (family == FAMILY_FLOAT) matmulFloatRows(kind, w, xa, y, bias, n, rows, cols, r0, r1);
    else if (family == FAMILY_Q) {
      const xq = e32(table, j, 7);
      matmulQRows(kind, w, e32(table, j, 2), xq != 0 ? xq : xa, xb, xc, xd, y, bias, n, rows, cols, r0, r1);
    }
    else matmulKRows(kind, w, xa, xb, xc, e32(table, j, 7), y, bias, n, rows, cols, r0, r1);
  }
  if (out == 0) return;
  const rows = <usize>e32(table, 0, 5);
  const g = <usize>e32(table, 0, 3), u = <usize>e32(table, 1, 3);
  for (let i = 0; i < n; i++) {
    const o = (<usize>i * rows + <usize>i0) << 2;
    siluMulRow(g + o, u + o, out + o, i1 - i0);
  }
}
