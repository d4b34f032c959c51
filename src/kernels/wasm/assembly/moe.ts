// Decode-time sparse MoE: all routed experts of a layer (in one bank) in two jobs instead of two per
// expert. Both take an assembly/multi.ts table (8 u32 per entry: kind, w, scales, y, bias, rows,
// first item, x sums / own x).
//
// moeGateUp: entries are (gate, up) pairs of experts sharing one prepared x (n rows); items are the
// pairs' rows laid end to end (pair p owns items p·rows .. p·rows + rows - 1), and each chunk ends
// with out_p = silu(gate) · up, out_p = out + p · n · rows f32 — assembly/multi.ts's SwiGLU mode,
// once per pair the chunk touches.
//
// moeDown: entry j multiplies x row j alone (n = 1 each): the experts' different inputs quantized as
// one [count, cols] batch, so every pointer of the prepared x moves by row j.
import { matmulFloatRows } from "./matmul_float";
import { matmulKRows } from "./matmul_k";
import { matmulQRows } from "./matmul_q";
import { FAMILY_FLOAT, FAMILY_Q, matmulMulti } from "./multi";

@inline function e32(table: usize, j: i32, slot: i32): u32 {
  return load<u32>(table + (<usize>j << 5) + (<usize>slot << 2));
}

/** Items i0..i1 of `pairs` SwiGLU pairs of `rows` rows each (x arguments as matmulMulti's). */
export function moeGateUp(family: i32, pairs: i32, table: usize, xa: usize, xb: usize, xc: usize, xd: usize, n: i32, cols: i32, out: usize, i0: i32, i1: i32): void {
  const rows = <i32>e32(table, 0, 5);
  for (let p = i0 / rows; p < pairs; p++) {
    const first = p * rows;
    if (first >= i1) break;
    const a = max(i0 - first, 0), b = min(i1 - first, rows);
    if (a >= b) continue;
    matmulMulti(family, 2, table + (<usize>p << 6), xa, xb, xc, xd, n, cols, out + ((<usize>p * <usize>n * <usize>rows) << 2), a, b);
  }
}

/** Items i0..i1 of `count` one-row products, entry j reading row j of the prepared x. `block`: the
 * values per xc / xd scale (32 for the Q family, 256 for K); K entries' sums (slot 7) are their own. */
export function moeDown(family: i32, count: i32, table: usize, xa: usize, xb: usize, xc: usize, xd: usize, cols: i32, block: i32, i0: i32, i1: i32): void {
  const c = <usize>cols, sb = (c / <usize>block) << 2;
  for (let j = 0; j < count; j++) {
    const rows = <i32>e32(table, j, 5), first = <i32>e32(table, j, 6);
    const a = max(i0 - first, 0), b = min(i1 - first, rows);
    if (a >= b) continue;
    const kind = <i32>e32(table, j, 0), w = e32(table, j, 1), y = e32(table, j, 3), bias = e32(table, j, 4);
    const r = <usize>j;
    if (family == FAMILY_FLOAT) matmulFloatRows(kind, w, xa + r * (c << 2), y, bias, 1, rows, cols, a, b);
    else if (family == FAMILY_Q) {
      matmulQRows(kind, w, e32(table, j, 2), xa + r * (c << 1), xb == 0 ? 0 : xb + r * c, xc + r * sb, xd + r * sb, y, bias, 1, rows, cols, a, b);
    } else matmulKRows(kind, w, xa + r * (c << 1), xb == 0 ? 0 : xb + r * c, xc + r * sb, e32(table, j, 7), y, bias, 1, rows, cols, a, b);
  }
}
