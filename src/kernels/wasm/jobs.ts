/**
 * Pool jobs of the kernels other than matmuls (assembly/ops.ts, assembly/attention.ts): how each
 * splits into chunks and lays out its arguments and scratch. Takes byte offsets of data already in
 * wasm memory (see staging.ts); the backend checks arguments first.
 */
import type { JobArg, JobRunner } from "./pool.js";
import type { KernelExports, KernelIds } from "./protocol.js";
import type { Staging } from "./staging.js";

/** Score rows (query positions × the heads sharing a kv head) per attention work item
 * (assembly/attention.ts): each key row is loaded and each f16 row widened once per tile, so taller
 * tiles read less; the tile's scores stay near L2 size. */
const ATTENTION_TILE_ROWS = 64;

/** Query positions per attention work item for `group` query heads per kv head: 8 .. 32. */
export function attentionQtile(group: number): number {
  return Math.max(8, Math.min(32, Math.floor(ATTENTION_TILE_ROWS / group)));
}
/** Most bytes of f32 copies of f16 K/V rows that prefill attention keeps (beyond it: read halves directly). */
const ATTENTION_WIDE_MAX = 64 << 20;
/** `add` of at most this many values runs on the calling thread, without a pool job. */
const ADD_DIRECT_MAX = 1 << 16;

export class KernelJobs {
  constructor(
    private readonly kernels: KernelExports,
    private readonly ids: KernelIds,
    private readonly pool: JobRunner,
    private readonly staging: Staging,
  ) {}

  /** RMSNorm of `rows` rows of `dim` at `xp` into `op` (may alias). */
  rmsNorm(xp: number, wp: number, eps: number, rows: number, dim: number, op: number): void {
    const chunk = Math.max(1, Math.ceil(16384 / Math.max(dim, 1)));
    this.pool.run(this.ids.rmsNorm, rows, chunk, [xp, wp, op, dim, { f32: eps }]);
  }

  /** Rotary embedding in place on `xp` [n, heads, headDim]. */
  rope(xp: number, n: number, heads: number, headDim: number, cp: number, sp: number): void {
    const chunk = Math.max(1, Math.ceil(32768 / Math.max(headDim, 1)));
    this.pool.run(this.ids.rope, n * heads, chunk, [xp, cp, sp, heads, headDim]);
  }

  siluMul(gp: number, upp: number, op: number, length: number): void {
    const chunk = Math.max(8192, Math.ceil(length / (this.pool.threads * 4)));
    this.pool.run(this.ids.siluMul, length, chunk, [gp, upp, op]);
  }

  /** `out = a + b` over `length` values: short vectors on the calling thread, long ones over the pool. */
  add(ap: number, bp: number, op: number, length: number): void {
    const threads = this.pool.threads;
    if (length <= ADD_DIRECT_MAX || threads === 1) return this.kernels.addF32(ap, bp, op, length);
    const chunk = Math.ceil(length / (threads * 4) / 8) * 8;
    this.pool.run(this.ids.add, length, chunk, [ap, bp, op]);
  }

  /** Causal attention (see `KernelBackend.attention`); `f16`: the caches hold half bits. */
  attention(qp: number, kp: number, vp: number, f16: boolean, n: number, start: number, capacity: number, heads: number, kvHeads: number, headDim: number, scale: number, op: number): void {
    const threads = this.pool.threads;
    const stride = Math.ceil((start + n) / 4) * 16;
    const qtile = Math.min(n, attentionQtile(heads / kvHeads));
    const sp = this.staging.tmp("scores", (stride + headDim * 4) * qtile * (heads / kvHeads) * threads); // [threads, qtile · group, stride + q row]
    const items = Math.ceil(n / qtile) * kvHeads;
    const wideBytes = threads * 2 * (start + n) * headDim * 4; // [threads, 2, start + n, headDim]
    const wide = f16 && n > 1 && wideBytes <= ATTENTION_WIDE_MAX ? this.staging.tmp("attn.wide", wideBytes) : 0;
    this.pool.run(this.ids.attention, items, 1, [qp, kp, vp, op, sp, stride, start, n, heads, kvHeads, headDim, capacity, qtile, { f32: scale }, f16 ? 1 : 0, wide] satisfies JobArg[]);
  }
}
