// Entry of the kernel module. One exported `run(job, tag, tid)` executes a job described in shared
// memory; every thread (the main thread and each pool worker) calls it for the same job and claims
// chunks of work items with an atomic counter, so a late or descheduled thread costs nothing.
//
// Job block (bytes from `job`): 0 generation, 4 chunks done, 8 quit, 12 tagged chunk counter,
// 16 kernel id, 20 items per chunk, 24 total items, 28 error flag, 32.. arguments (u32 or f32).
import { matmulFloatRows } from "./matmul_float";
import { matmulQRows, quantizeQ8 } from "./matmul_q";
import { blockSums, matmulKRows } from "./matmul_k";
import { SLOT_BYTES, SLOT_COUNT, slotArea, useThread } from "./slots";
import { matmulMulti } from "./multi";
import { moeDown, moeGateUp } from "./moe";
import { attentionItems } from "./attention";
import { writeKvF16 } from "./half";
import { addF32, addRange, rmsNormRows, ropeItems, siluMulRange } from "./ops";
import { QUANT_SCRATCH, quantizeRows } from "./quantize";
import { synthRows } from "./synth";
import { repackRows } from "./repack";
import { convSiluItems, deltaRuleItems, l2NormItems, sigmoidMulItems } from "./deltanet";

export { addF32, blockSums, quantizeQ8, writeKvF16 };
export { setDotAdd } from "./features";
export { QT_F32, QT_Q4_0, QT_Q4_K, QT_Q6_K, QT_Q8_0, QUANT_SCRATCH } from "./quantize";
export { RP_Q4_0, RP_Q4_0_IL, RP_Q4_K, RP_Q4_K_SB, RP_Q6_K, RP_Q6_K_SB, RP_Q8_0, RP_Q8_0_IL, RP_Q8_0_ILD } from "./repack";

export const K_MATMUL_FLOAT: i32 = 1;
export const K_MATMUL_Q: i32 = 2;
export const K_MATMUL_K: i32 = 3;
export const K_RMSNORM: i32 = 4;
export const K_ROPE: i32 = 5;
export const K_SILUMUL: i32 = 6;
export const K_ATTENTION: i32 = 7;
export const K_MATMUL_MULTI: i32 = 8;
export const K_QUANTIZE: i32 = 9;
export const K_ADD: i32 = 10;
export const K_QUANTIZE_ROWS: i32 = 11;
export const K_SYNTH_ROWS: i32 = 12;
export const K_MOE_GATE_UP: i32 = 20;
export const K_MOE_DOWN: i32 = 21;
export const K_CONV_SILU: i32 = 13;
export const K_L2NORM: i32 = 14;
export const K_DELTA_RULE: i32 = 15;
export const K_SIGMOID_MUL: i32 = 16;
export const K_REPACK: i32 = 17;

/** First free byte after the module's static data and the pool threads' slots (slots.ts): the
 * host's allocator starts here. */
export function heapBase(): usize {
  return slotArea() + SLOT_COUNT * SLOT_BYTES;
}

@inline function u(job: usize, i: i32): u32 {
  return load<u32>(job + 32 + (<usize>i << 2));
}
@inline function f(job: usize, i: i32): f32 {
  return load<f32>(job + 32 + (<usize>i << 2));
}

function exec(job: usize, kernel: i32, i0: i32, i1: i32, tid: i32): void {
  switch (kernel) {
    case K_MATMUL_FLOAT: // kind, w, x, y, bias, n, rows, cols
      matmulFloatRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), i0, i1);
      break;
    case K_MATMUL_Q: // kind, wq, wsc, xq, xq8, xd, xs, y, bias, n, rows, cols
      matmulQRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), u(job, 11), i0, i1);
      break;
    case K_MATMUL_K: // kind, w, xq, x8, xd, sums, y, bias, n, rows, cols
      matmulKRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), i0, i1);
      break;
    case K_RMSNORM: // x, w, out, dim, eps
      rmsNormRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), f(job, 4), i0, i1);
      break;
    case K_ROPE: // x, cos, sin, heads, hd
      ropeItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), i0, i1);
      break;
    case K_SILUMUL: // gate, up, out
      siluMulRange(u(job, 0), u(job, 1), u(job, 2), i0, i1);
      break;
    case K_ADD: // a, b, out
      addRange(u(job, 0), u(job, 1), u(job, 2), i0, i1);
      break;
    case K_ATTENTION: // q, k, v, out, scratch, scratchStride(bytes), start, n, heads, kvHeads, hd, capacity, qtile, scale, f16, wide
      // scratch: per thread qtile · (heads / kvHeads) rows of scratchStride bytes, then as many packed q rows of hd f32; wide (0: none): per thread 2 · (start + n) · hd f32
      attentionItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4) + <u32>tid * (u(job, 5) + (u(job, 10) << 2)) * u(job, 12) * (u(job, 8) / u(job, 9)), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), u(job, 11), u(job, 12), f(job, 13), u(job, 14), u(job, 15) == 0 ? 0 : u(job, 15) + <u32>tid * (u(job, 6) + u(job, 7)) * u(job, 10) * 8, i0, i1);
      break;
    case K_MATMUL_MULTI: // family, count, table, xa, xb, xc, xd, n, cols, out
      matmulMulti(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), i0, i1);
      break;
    case K_QUANTIZE: { // x, xq, xq8, il, xd, xs, cols, block: rows i0..i1 of quantizeQ8 (rows are independent)
      const cols = <usize>u(job, 6), sb = (cols / <usize>u(job, 7)) << 2, xq8 = u(job, 2);
      const r = <usize>i0;
      quantizeQ8(u(job, 0) + r * (cols << 2), u(job, 1) + r * (cols << 1), xq8 == 0 ? 0 : xq8 + r * cols, u(job, 3), u(job, 4) + r * sb, u(job, 5) + r * sb, i1 - i0, <i32>cols, u(job, 7));
      break;
    }
    case K_QUANTIZE_ROWS: // srcType, src, dstType, dst, cols, scratch (QUANT_SCRATCH bytes per thread)
      quantizeRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5) + <u32>tid * <u32>QUANT_SCRATCH, i0, i1);
      break;
    case K_SYNTH_ROWS: // k0, k1, mean, std, rowBase, dstType, dst, cols, scratch (QUANT_SCRATCH bytes per thread)
      synthRows(u(job, 0), u(job, 1), f(job, 2), f(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8) + <u32>tid * <u32>QUANT_SCRATCH, i0, i1);
      break;
    case K_MOE_GATE_UP: // family, pairs, table, spans, xa, xb, xc, xd, cols, block, out
      moeGateUp(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), i0, i1);
      break;
    case K_MOE_DOWN: // family, count, table, spans, xa, xb, xc, xd, cols, block
      moeDown(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), i0, i1);
      break;
    case K_CONV_SILU: // x, w, state, out, n, channels, kernel
      convSiluItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), i0, i1);
      break;
    case K_L2NORM: // src, stride (bytes), per, dst, dim, scale
      l2NormItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), f(job, 5), i0, i1);
      break;
    case K_DELTA_RULE: // qn, kn, v, vstride (bytes), dec, beta, state, out, n, hk, hv, dk, dv, tiled
      deltaRuleItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), u(job, 11), u(job, 12), u(job, 13), i0, i1);
      break;
    case K_SIGMOID_MUL: // x, gate, out, per
      sigmoidMulItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), i0, i1);
      break;
    case K_REPACK: // kind, src, dst, cols, r0, totalRows: rows i0..i1 of a staged slab of ggml blocks
      repackRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), i0, i1);
      break;
    default:
      unreachable();
  }
}

/** Run this thread's share of the job at `job`, if that job still carries `tag`.
 * The counter word is `tag << 20 | next chunk`; the host sets it to an invalid tag before it rewrites
 * a job, so a thread that wakes late can never claim a chunk of the next job with stale arguments:
 * a successful claim of an unfinished chunk pins the job (the host waits for every chunk). */
export function run(job: usize, tag: u32, tid: i32): void {
  useThread(tid); // this thread's slot for the prefill tiles (slots.ts), once per job
  for (;;) {
    const c = atomic.load<u32>(job + 12);
    if (c >>> 20 != tag) return;
    const chunk = load<i32>(job + 20);
    const total = load<i32>(job + 24);
    const i = <i32>(c & 0xfffff);
    const i0 = i * chunk;
    if (i0 >= total) return;
    if (atomic.cmpxchg<u32>(job + 12, c, c + 1) != c) continue;
    exec(job, load<i32>(job + 16), i0, min(total, i0 + chunk), tid);
    const done = atomic.add<i32>(job + 4, 1) + 1;
    if (done * chunk >= total) atomic.notify(job + 4, 1);
  }
}
