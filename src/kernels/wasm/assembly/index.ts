// Entry of the kernel module. One exported `run(job, tid, nthreads)` executes a job described in
// shared memory; every thread (the main thread and each pool worker) calls it for the same job and
// claims chunks of work items with an atomic counter, so a late or descheduled thread costs nothing.
//
// Job block (bytes from `job`): 0 generation, 4 done count, 8 quit, 12 chunk counter, 16 kernel id,
// 20 items per chunk, 24 total items, 28 error flag, 32.. arguments (u32 pointers/ints, or f32).
import { matmulFloatRows } from "./matmul_float";
import { matmulQRows, quantizeQ8 } from "./matmul_q";
import { blockSums, matmulKRows } from "./matmul_k";
import { attentionItems, rmsNormRows, ropeItems, siluMulRange } from "./ops";

export { blockSums, quantizeQ8 };

export const K_MATMUL_FLOAT: i32 = 1;
export const K_MATMUL_Q: i32 = 2;
export const K_MATMUL_K: i32 = 3;
export const K_RMSNORM: i32 = 4;
export const K_ROPE: i32 = 5;
export const K_SILUMUL: i32 = 6;
export const K_ATTENTION: i32 = 7;

/** First free byte after the module's static data: the host's allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
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
    case K_MATMUL_Q: // kind, wq, wd, xq, xd, xs, y, bias, n, rows, cols
      matmulQRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), u(job, 10), i0, i1);
      break;
    case K_MATMUL_K: // kind, w, xq, xd, sums, y, bias, n, rows, cols
      matmulKRows(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4), u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), i0, i1);
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
    case K_ATTENTION: // q, k, v, out, scratch, scratchStride(bytes), start, heads, kvHeads, hd, scale
      attentionItems(u(job, 0), u(job, 1), u(job, 2), u(job, 3), u(job, 4) + <u32>tid * u(job, 5), u(job, 6), u(job, 7), u(job, 8), u(job, 9), f(job, 10), i0, i1);
      break;
    default:
      unreachable();
  }
}

/** Run this thread's share of the job at `job`. */
export function run(job: usize, tid: i32, nthreads: i32): void {
  const kernel = load<i32>(job + 16);
  const chunk = load<i32>(job + 20);
  const total = load<i32>(job + 24);
  for (;;) {
    const c = atomic.add<i32>(job + 12, 1);
    const i0 = c * chunk;
    if (i0 >= total) break;
    exec(job, kernel, i0, min(total, i0 + chunk), tid);
  }
}
