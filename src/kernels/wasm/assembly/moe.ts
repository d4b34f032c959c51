// Sparse MoE: all routed experts of a layer (in one bank) in two jobs instead of two per expert, for
// a decode row and for a prefill batch alike. Both take an assembly/multi.ts table (8 u32 per entry:
// kind, w, scales, y, bias, rows, first item, x sums / own x) and a span table (4 u32 per expert: the
// first x row it reads, how many (n), the first output row, 0): x is one prepared [rows, cols] batch
// and each expert reads its own n rows of it — a decode row's experts all read row 0; a prefill
// batch's x is the routed tokens gathered by expert, so each expert reads its own tokens.
//
// moeGateUp: entries are (gate, up) pairs; items are the pairs' rows laid end to end (pair p owns
// items p·rows .. p·rows + rows - 1), and each chunk ends with out_p = silu(gate) · up, out_p = out +
// 4 · outRow_p · rows — assembly/multi.ts's SwiGLU mode, once per pair the chunk touches.
//
// moeDown: entry j multiplies its n_j x rows (output rows at its table y); items per the table.
import { matmulFloatRows } from "./matmul_float";
import { matmulKRows } from "./matmul_k";
import { matmulQRows } from "./matmul_q";
import { FAMILY_FLOAT, FAMILY_Q, matmulMulti } from "./multi";

@inline function e32(table: usize, j: i32, slot: i32): u32 {
  return load<u32>(table + (<usize>j << 5) + (<usize>slot << 2));
}

@inline function span(spans: usize, j: i32, slot: i32): usize {
  return <usize>load<u32>(spans + (<usize>j << 4) + (<usize>slot << 2));
}

/** Bytes per x row of the prepared operand `which` (0: xa, 1: xb, 2: xc / xd) for `family`; `block`:
 * the values per xc / xd scale. */
@inline function xStride(family: i32, which: i32, cols: i32, block: i32): usize {
  const c = <usize>cols;
  if (family == FAMILY_FLOAT) return which == 0 ? c << 2 : 0;
  return which == 0 ? c << 1 : which == 1 ? c : (c / <usize>block) << 2;
}

@inline function moved(p: usize, r: usize, stride: usize): usize {
  return p == 0 ? 0 : p + r * stride;
}

/** Items i0..i1 of `pairs` SwiGLU pairs of `rows` rows each (x arguments as matmulMulti's, for the
 * whole prepared batch; `block`: values per xc / xd scale). */
export function moeGateUp(family: i32, pairs: i32, table: usize, spans: usize, xa: usize, xb: usize, xc: usize, xd: usize, cols: i32, block: i32, out: usize, i0: i32, i1: i32): void {
  const rows = <i32>e32(table, 0, 5);
  const sa = xStride(family, 0, cols, block), sb = xStride(family, 1, cols, block), sc = xStride(family, 2, cols, block);
  for (let p = i0 / rows; p < pairs; p++) {
    const first = p * rows;
    if (first >= i1) break;
    const a = max(i0 - first, 0), b = min(i1 - first, rows);
    if (a >= b) continue;
    const r = span(spans, p, 0), n = <i32>span(spans, p, 1), o = span(spans, p, 2);
    matmulMulti(family, 2, table + (<usize>p << 6), moved(xa, r, sa), moved(xb, r, sb), moved(xc, r, sc), moved(xd, r, sc), n, cols, out + ((o * <usize>rows) << 2), a, b);
  }
}

/** Items i0..i1 of `count` products, entry j reading its span's x rows (`block`: values per xc / xd
 * scale); K entries' sums (slot 7) are their own. */
export function moeDown(family: i32, count: i32, table: usize, spans: usize, xa: usize, xb: usize, xc: usize, xd: usize, cols: i32, block: i32, i0: i32, i1: i32): void {
  const sa = xStride(family, 0, cols, block), sb = xStride(family, 1, cols, block), sc = xStride(family, 2, cols, block);
  for (let j = 0; j < count; j++) {
    const rows = <i32>e32(table, j, 5), first = <i32>e32(table, j, 6);
    const a = max(i0 - first, 0), b = min(i1 - first, rows);
    if (a >= b) continue;
    const kind = <i32>e32(table, j, 0), w = e32(table, j, 1), y = e32(table, j, 3), bias = e32(table, j, 4);
    const r = span(spans, j, 0), n = <i32>span(spans, j, 1);
    if (family == FAMILY_FLOAT) matmulFloatRows(kind, w, moved(xa, r, sa), y, bias, n, rows, cols, a, b);
    else if (family == FAMILY_Q) {
      matmulQRows(kind, w, e32(table, j, 2), moved(xa, r, sa), moved(xb, r, sb), moved(xc, r, sc), moved(xd, r, sc), y, bias, n, rows, cols, a, b);
    } else matmulKRows(kind, w, moved(xa, r, sa), moved(xb, r, sb), moved(xc, r, sc), e32(table, j, 7), y, bias, n, rows, cols, a, b);
  }
}
