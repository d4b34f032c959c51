/** Host side of the row and elementwise kernels (add, siluMul, copy, RMSNorm, RoPE). */
import { QwenrtError } from "../../util/errors.js";
import { planBindings, tensorRange, type GpuTensor, type WordRange } from "./buffers.js";
import { scratch, type GpuContext } from "./context.js";
import { grid1 } from "./pipelines.js";
import { binaryShader, copyShader, rmsNormShader, ropeShader } from "./wgsl/ops.js";

/** `out = a + b` or `out = silu(a) · b` over `length` values (out may alias a or b). */
export function binaryGpu(ctx: GpuContext, op: "add" | "siluMul", a: GpuTensor, b: GpuTensor, out: GpuTensor, length: number): void {
  if (length === 0) return;
  const plan = planBindings(ctx.gd, [tensorRange(a, 0, length, `${op} a`), tensorRange(b, 0, length, `${op} b`), tensorRange(out, 0, length, `${op} out`)]);
  const pipe = ctx.pipes.get(`${op}:${plan.key}`, () => binaryShader(op, plan.slots));
  ctx.rec.dispatch(pipe, [length, ...plan.elems], plan.resources, grid1(Math.ceil(length / 256)));
}

/** Copy `words` 32-bit words between two ranges (which must not overlap). */
export function copyWordsGpu(ctx: GpuContext, src: WordRange, dst: WordRange, words: number): void {
  if (words === 0) return;
  const plan = planBindings(ctx.gd, [src, dst]);
  const pipe = ctx.pipes.get(`copy:${plan.key}`, () => copyShader(plan.slots));
  ctx.rec.dispatch(pipe, [words, ...plan.elems], plan.resources, grid1(Math.ceil(words / 256)));
}

/** `dst[i] = src[i]` for the length of `src`; overlapping ranges copy as if through a temporary. */
export function copyGpu(ctx: GpuContext, src: GpuTensor, dst: GpuTensor): void {
  const n = src.length;
  if (n === 0) return;
  const s = tensorRange(src, 0, n, "copy src"), d = tensorRange(dst, 0, n, "copy dst");
  const sameMemory = src.region === dst.region || (src.region.buffer === dst.region.buffer && src.region.offset === dst.region.offset);
  if (sameMemory && s.byteStart < d.byteStart + n * 4 && d.byteStart < s.byteStart + n * 4) {
    if (s.byteStart === d.byteStart) return;
    const tmp = scratch(ctx, n, "copy temporary");
    copyWordsGpu(ctx, s, tensorRange(tmp, 0, n, "copy temporary"), n);
    copyWordsGpu(ctx, tensorRange(tmp, 0, n, "copy temporary"), d, n);
    ctx.acts.free(tmp.region);
    return;
  }
  copyWordsGpu(ctx, s, d, n);
}

/** RMSNorm over `rows` rows of `dim` (out may alias x). */
export function rmsNormGpu(ctx: GpuContext, x: GpuTensor, weight: GpuTensor, eps: number, rows: number, dim: number, out: GpuTensor): void {
  const len = rows * dim;
  if (len === 0) return;
  const plan = planBindings(ctx.gd, [tensorRange(x, 0, len, "rmsNorm x"), tensorRange(weight, 0, dim, "rmsNorm weight"), tensorRange(out, 0, len, "rmsNorm out")]);
  const pipe = ctx.pipes.get(`rmsNorm:${plan.key}`, () => rmsNormShader(plan.slots));
  ctx.rec.dispatch(pipe, [rows, dim, ...plan.elems, { f32: eps }], plan.resources, grid1(rows));
}

/** Rotary embedding in place; x [n, heads, headDim], cos and sin [n, headDim/2]. */
export function ropeGpu(ctx: GpuContext, x: GpuTensor, n: number, heads: number, headDim: number, cos: GpuTensor, sin: GpuTensor): void {
  if (headDim % 2 !== 0) throw new QwenrtError("rope", `head dimension must be even, got ${headDim}`);
  const half = headDim / 2;
  const len = n * heads * half;
  if (len === 0) return;
  const plan = planBindings(ctx.gd, [tensorRange(x, 0, n * heads * headDim, "rope x"), tensorRange(cos, 0, n * half, "rope cos"), tensorRange(sin, 0, n * half, "rope sin")]);
  const pipe = ctx.pipes.get(`rope:${plan.key}`, () => ropeShader(plan.slots));
  ctx.rec.dispatch(pipe, [len, heads, half, ...plan.elems], plan.resources, grid1(Math.ceil(len / 256)));
}
