/** KV cache writes and copies, and attention over the cache, for the WebGPU backend. */
import { QwenrtError } from "../../util/errors.js";
import { bindKv, bindTensor, planBindings, tensorRange, type GpuKv, type GpuTensor, type Region, type WordRange } from "./buffers.js";
import { scratch, type GpuContext } from "./context.js";
import { grid1 } from "./pipelines.js";
import { copyWordsGpu } from "./ops.js";
import { ATTENTION_MAX_HEAD_DIM, attentionShader, copyHalvesShader, writeKvShader } from "./wgsl/attention.js";

function checkKvShape(what: string, kv: GpuKv, kvHeads: number, capacity: number, headDim: number): void {
  if (kv.length < kvHeads * capacity * headDim) throw new QwenrtError(what, `the cache needs ${kvHeads * capacity * headDim} values, got ${kv.length}`);
  if (kv.type === "f16" && headDim % 2 !== 0) throw new QwenrtError(what, `an f16 cache needs an even head dimension, got ${headDim}`, { code: "unsupported" });
}

/** src [rows, kvHeads, headDim] → dst [kvHeads, capacity, headDim] at positions start .. start + rows - 1. */
export function writeKvGpu(ctx: GpuContext, src: GpuTensor, rows: number, kvHeads: number, headDim: number, dst: GpuKv, capacity: number, start: number): void {
  if (start < 0 || start + rows > capacity) throw new QwenrtError("writeKv", `positions ${start}..${start + rows - 1} do not fit a capacity of ${capacity}`);
  const len = rows * kvHeads * headDim;
  if (src.length < len) throw new QwenrtError("writeKv", `src needs ${len} values, got ${src.length}`);
  checkKvShape("writeKv", dst, kvHeads, capacity, headDim);
  if (len === 0) return;
  const s = bindTensor(ctx.gd, src, 0, len, "writeKv src");
  const d = bindKv(ctx.gd, dst, "KV cache");
  const items = dst.type === "f16" ? len / 2 : len;
  const pipe = ctx.pipes.get(`writeKv:${dst.type}`, () => writeKvShader(dst.type));
  ctx.rec.dispatch(pipe, [items, kvHeads, headDim, capacity, start, s.elem, d.elem], [s.resource, d.resource], grid1(Math.ceil(items / 256)));
}

/** Copy `length` raw elements between KV buffers of one type (overlap within a buffer as through a temporary). */
export function copyKvGpu(ctx: GpuContext, src: GpuKv, srcOffset: number, dst: GpuKv, dstOffset: number, length: number): void {
  if (src.type !== dst.type) throw new QwenrtError("copyKv", "src and dst must have one element type");
  for (const [what, off, kv] of [["copyKv src", srcOffset, src], ["copyKv dst", dstOffset, dst]] as const) {
    if (!Number.isInteger(off) || !Number.isInteger(length) || off < 0 || length < 0 || off + length > kv.length) {
      throw new QwenrtError(what, `range ${off} + ${length} values does not fit ${kv.length}`);
    }
  }
  if (length === 0) return;
  const es = src.type === "f16" ? 2 : 4;
  const s0 = src.region.offset + srcOffset * es, d0 = dst.region.offset + dstOffset * es;
  if (src.region.buffer === dst.region.buffer && s0 < d0 + length * es && d0 < s0 + length * es) {
    if (s0 === d0) return;
    // Through a temporary: the copy kernels move all elements at once.
    const tmp = scratch(ctx, Math.ceil((length * es) / 4), "copyKv temporary");
    copyElements(ctx, src.region, srcOffset, tmp.region, 0, length, es);
    copyElements(ctx, tmp.region, 0, dst.region, dstOffset, length, es);
    ctx.acts.free(tmp.region);
    return;
  }
  copyElements(ctx, src.region, srcOffset, dst.region, dstOffset, length, es);
}

/** Copy `length` elements of `es` bytes from element `so` of `src` to element `d0` of `dst`. */
function copyElements(ctx: GpuContext, src: Region, so: number, dst: Region, d0: number, length: number, es: number): void {
  const range = (region: Region, first: number, last: number, what: string): WordRange => ({ region, byteStart: region.offset + first * 4, words: last - first + 1, what });
  if (es === 4 || (so % 2 === 0 && d0 % 2 === 0 && length % 2 === 0)) {
    const words = (length * es) / 4;
    const [sw, dw] = [(so * es) / 4, (d0 * es) / 4];
    copyWordsGpu(ctx, range(src, sw, sw + words - 1, "copyKv src"), range(dst, dw, dw + words - 1, "copyKv dst"), words);
    return;
  }
  // Halves at odd offsets: whole destination words, rebuilt from the source halves.
  const [sFirst, sLast] = [Math.floor(so / 2), Math.floor((so + length - 1) / 2)];
  const [dFirst, dLast] = [Math.floor(d0 / 2), Math.floor((d0 + length - 1) / 2)];
  const plan = planBindings(ctx.gd, [range(src, sFirst, sLast, "copyKv src"), range(dst, dFirst, dLast, "copyKv dst")]);
  const [sElem, dElem] = [2 * plan.elems[0]! + (so - 2 * sFirst), 2 * plan.elems[1]! + (d0 - 2 * dFirst)];
  const words = dLast - dFirst + 1;
  const pipe = ctx.pipes.get(`copyHalves:${plan.key}`, () => copyHalvesShader(plan.slots));
  ctx.rec.dispatch(pipe, [words, length, sElem, dElem], plan.resources, grid1(Math.ceil(words / 256)));
}

/** Causal GQA of n queries over a head-major cache (see `KernelBackend.attention`). */
export function attentionGpu(
  ctx: GpuContext,
  q: GpuTensor,
  k: GpuKv,
  v: GpuKv,
  n: number,
  start: number,
  capacity: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  scale: number,
  out: GpuTensor,
): void {
  if (k.type !== v.type) throw new QwenrtError("attention", "k and v must have one element type");
  if (heads % kvHeads !== 0) throw new QwenrtError("attention", `heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
  if (headDim > ATTENTION_MAX_HEAD_DIM) throw new QwenrtError("attention", `head dimension ${headDim} exceeds the kernel's ${ATTENTION_MAX_HEAD_DIM}`, { code: "unsupported" });
  if (start + n > capacity) throw new QwenrtError("attention", `positions up to ${start + n - 1} do not fit a capacity of ${capacity}`);
  checkKvShape("attention k", k, kvHeads, capacity, headDim);
  checkKvShape("attention v", v, kvHeads, capacity, headDim);
  const len = n * heads * headDim;
  if (q.length < len || out.length < len) throw new QwenrtError("attention", `q and out need ${len} values, got ${q.length} and ${out.length}`);
  if (n === 0) return;
  const kb = bindKv(ctx.gd, k, "KV cache k"), vb = bindKv(ctx.gd, v, "KV cache v");
  const MAX_N = 65535;
  for (let i0 = 0; i0 < n; i0 += MAX_N) {
    const m = Math.min(MAX_N, n - i0);
    const w = heads * headDim;
    const plan = planBindings(ctx.gd, [tensorRange(q, i0 * w, m * w, "attention q"), tensorRange(out, i0 * w, m * w, "attention out")]);
    const pipe = ctx.pipes.get(`attention:${k.type}:${plan.key}`, () => attentionShader(k.type, plan.slots));
    const params = [m, start + i0, capacity, heads, kvHeads, headDim, { f32: scale }, kb.elem, vb.elem, ...plan.elems];
    ctx.rec.dispatch(pipe, params, [kb.resource, vb.resource, ...plan.resources], [heads, m, 1]);
  }
}
