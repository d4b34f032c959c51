/**
 * Weight matrices on the GPU and the kernels that read them (matmul, embedding rows). A matrix is
 * its raw file bytes (no conversion), split by whole rows into parts of at most one storage
 * binding each, so matrices past `maxStorageBufferBindingSize` (an LM head, a large embedding) work.
 */
import { rowBytes } from "../../formats/quant/index.js";
import { QwenrtError } from "../../util/errors.js";
import type { HostMatrix, Matrix, WeightType } from "../types.js";
import { bindTensor, planBindings, REGION_ALIGN, tensorRange, type GpuTensor, type Region } from "./buffers.js";
import { gpuTensor, scratch, type GpuContext } from "./context.js";
import { BLOCK_N, BLOCK_ROWS, MATVEC_MAX_N, TILED_MIN_COLS, TILE_N, TILE_ROWS, blockedShader, matvecShader, matvecThreadsPerRow, tiledShader } from "./wgsl/matmul.js";
import { embedShader } from "./wgsl/ops.js";
import { weightLoader } from "./wgsl/weights.js";
import { grid1 } from "./pipelines.js";

/** Rows `rowStart .. rowStart + rows - 1` of a matrix, in one region. */
export interface MatrixPart {
  readonly region: Region;
  readonly rowStart: number;
  readonly rows: number;
}

export class GpuMatrix implements Matrix {
  constructor(
    readonly type: WeightType,
    readonly rows: number,
    readonly cols: number,
    readonly bytes: number,
    readonly parts: readonly MatrixPart[],
  ) {}
}

export function gpuMatrix(w: Matrix, what: string): GpuMatrix {
  if (!(w instanceof GpuMatrix)) throw new QwenrtError(what, "expected a matrix loaded by the webgpu backend");
  return w;
}

/** Copy a host matrix's bytes to the GPU as they are (the kernels decode every supported type). */
export function loadGpuMatrix(ctx: GpuContext, m: HostMatrix): GpuMatrix {
  weightLoader(m.type); // throws for a type without kernels
  const rb = rowBytes(m.type, m.cols);
  if (m.bytes.byteLength !== m.rows * rb) {
    throw new QwenrtError("weights", `a [${m.rows}, ${m.cols}] ${m.type} matrix needs ${m.rows * rb} bytes, got ${m.bytes.byteLength}`);
  }
  const limit = Math.min(ctx.gd.maxBinding, ctx.gd.maxBuffer) - REGION_ALIGN;
  const perPart = Math.floor(limit / rb);
  if (perPart < 1) throw new QwenrtError("weights", `one row of a [${m.rows}, ${m.cols}] ${m.type} matrix (${rb} bytes) exceeds the adapter's storage binding size`, { code: "unsupported" });
  const parts: MatrixPart[] = [];
  for (let r0 = 0; r0 < m.rows; r0 += perPart) {
    const rows = Math.min(perPart, m.rows - r0);
    const bytes = m.bytes.subarray(r0 * rb, (r0 + rows) * rb);
    const { region } = ctx.weights.alloc(bytes.byteLength + 4, `a [${m.rows}, ${m.cols}] ${m.type} matrix`);
    const whole = bytes.byteLength & ~3;
    if (whole > 0) ctx.gd.device.queue.writeBuffer(region.buffer, region.offset, bytes.buffer, bytes.byteOffset, whole);
    if (whole < bytes.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(bytes.subarray(whole));
      ctx.gd.device.queue.writeBuffer(region.buffer, region.offset + whole, tail);
    }
    parts.push({ region, rowStart: r0, rows });
  }
  return new GpuMatrix(m.type, m.rows, m.cols, m.rows * rb, parts);
}

function bindPart(part: MatrixPart, cols: number, type: WeightType): GPUBufferBinding {
  const size = Math.ceil((part.rows * rowBytes(type, cols) + 4) / 4) * 4;
  return { buffer: part.region.buffer, offset: part.region.offset, size: Math.min(size, part.region.size) };
}

/** The rows of x and y a MoE expert dispatch reads from the GPU: its segment and grid. */
export interface SegmentSource {
  readonly seg: GPUBufferBinding; // [experts, 2] (first row, count)
  readonly segOff: number; // words from the binding's start to seg[0]
  readonly expert: number;
  readonly args: GPUBuffer; // indirect grids
  readonly argsOffset: number; // bytes
  readonly maxRows: number; // an upper bound of the segment's rows (picks the kernel)
}

/** The matmul kernel for rows of `cols` values and a batch of `n`: its name, the weight rows and
 * x rows one workgroup covers (`tokens` 0: all of them, the matvec kernel loops over n ≤ 4). */
export interface MatmulKernel {
  readonly kind: "matvec" | "blocked" | "tiled";
  readonly rows: number;
  readonly tokens: number;
  readonly tpr: number; // matvec: invocations per weight row
}

export function matmulKernel(cols: number, n: number): MatmulKernel {
  if (n <= MATVEC_MAX_N) {
    const tpr = matvecThreadsPerRow(cols);
    return { kind: "matvec", rows: 64 / tpr, tokens: 0, tpr };
  }
  if (cols >= TILED_MIN_COLS) return { kind: "tiled", rows: TILE_ROWS, tokens: TILE_N, tpr: 0 };
  return { kind: "blocked", rows: BLOCK_ROWS, tokens: BLOCK_N, tpr: 0 };
}

/** Workgroups along x of one matmul of `wm` over a segment of rows (the indirect grid's x). */
export function segmentGridX(wm: GpuMatrix, k: MatmulKernel): number {
  const x = Math.ceil(wm.rows / k.rows);
  if (x > 65535) throw new QwenrtError("moe", `an expert matrix of ${wm.rows} rows exceeds one dispatch`, { code: "unsupported" });
  return x;
}

/**
 * `y[n, rows] = x[n, cols] · Wᵀ (+ bias)` with the kernel `matmulKernel` picks; n split so
 * each chunk of x and y fits one binding. With `segment`, the rows come from the GPU (MoE).
 */
export function matmulGpu(ctx: GpuContext, wm: GpuMatrix, xt: GpuTensor, n: number, yt: GpuTensor, biast: GpuTensor | undefined, segment?: SegmentSource): void {
  const { rows, cols, type } = wm;
  const sub = ctx.gd.features.subgroups;
  const width = Math.max(cols, rows) * 4;
  const chunk = segment === undefined ? Math.max(1, Math.floor((ctx.gd.maxBinding - 2 * ctx.gd.storageAlign) / width)) : n;
  if (segment !== undefined && wm.parts.length !== 1) throw new QwenrtError("moe", `an expert matrix [${rows}, ${cols}] exceeds one storage binding`, { code: "unsupported" });
  for (let i0 = 0; i0 < n; i0 += chunk) {
    const m = Math.min(chunk, n - i0);
    const args = [tensorRange(xt, i0 * cols, m * cols, "matmul x"), tensorRange(yt, i0 * rows, m * rows, "matmul y")];
    if (biast !== undefined) args.push(tensorRange(biast, 0, rows, "matmul bias"));
    const plan = planBindings(ctx.gd, args);
    const [xOff, yOff, bOff] = plan.elems;
    const k = matmulKernel(cols, segment?.maxRows ?? n); // by the whole batch: chunking keeps the kernel
    const seg = segment !== undefined;
    const key = `matmul:${k.kind}${k.kind === "matvec" ? `${k.tpr}${sub ? "-sg" : ""}` : ""}:${type}:${seg ? "seg" : ""}:${plan.key}`;
    const pipe = ctx.pipes.get(key, () =>
      k.kind === "tiled" ? tiledShader(type, seg, plan.slots) : k.kind === "blocked" ? blockedShader(type, seg, plan.slots) : matvecShader(type, sub, seg, plan.slots, k.tpr),
    );
    for (const part of wm.parts) {
      const params = [part.rows, cols, m, xOff!, yOff!, rows, part.rowStart, (bOff ?? 0) + part.rowStart, segment === undefined ? 0 : segment.segOff + 2 * segment.expert];
      const fixed = [bindPart(part, cols, type)];
      if (segment !== undefined) {
        ctx.rec.dispatch(pipe, params, [...fixed, segment.seg, ...plan.resources], { indirect: segment.args, offset: segment.argsOffset });
      } else {
        ctx.rec.dispatch(pipe, params, [...fixed, ...plan.resources], k.tokens > 0 ? [Math.ceil(part.rows / k.rows), Math.ceil(m / k.tokens), 1] : grid1(Math.ceil(part.rows / k.rows)));
      }
    }
  }
}

/** `out[i, cols]` = row `ids[i]` of `w`, decoded. */
export function embedGpu(ctx: GpuContext, wm: GpuMatrix, ids: Int32Array, outt: GpuTensor): void {
  const { rows, cols, type } = wm;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= rows) throw new QwenrtError("ids", `token id ${id} is out of range [0, ${rows})`);
  }
  gpuTensor(outt, "embed out", ids.length * cols);
  if (ids.length === 0) return;
  const idt = scratch(ctx, ids.length, "token ids");
  ctx.rec.upload(idt.region.buffer, idt.region.offset, new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  const pipe = ctx.pipes.get(`embed:${type}`, () => embedShader(type));
  const perChunk = Math.max(1, Math.min(65535, Math.floor((ctx.gd.maxBinding - 2 * ctx.gd.storageAlign) / (cols * 4))));
  for (let i0 = 0; i0 < ids.length; i0 += perChunk) {
    const m = Math.min(perChunk, ids.length - i0);
    const o = bindTensor(ctx.gd, outt, i0 * cols, m * cols, "embed out");
    const idb = bindTensor(ctx.gd, idt, i0, m, "token ids");
    for (const part of wm.parts) {
      const params = [cols, part.rowStart, part.rows, idb.elem, o.elem];
      ctx.rec.dispatch(pipe, params, [bindPart(part, cols, type), idb.resource, o.resource], [Math.ceil(cols / 256), m, 1]);
    }
  }
  ctx.acts.free(idt.region);
}
