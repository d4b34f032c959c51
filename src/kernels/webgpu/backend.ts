/**
 * The WebGPU kernel backend: weights, activations and KV caches live in GPU buffers; every kernel
 * call is recorded into the step's one command encoder and submitted when `read` needs a result.
 * Uses only the WebGPU API, so a browser build can use it as is (Node: see `node.ts`).
 */
import { QwenrtError, errorMessage } from "../../util/errors.js";
import type { HostMatrix, KernelBackend, KvBuffer, KvType, Matrix, MoeWeights, Tensor } from "../types.js";
import { attentionGpu, copyKvGpu, writeKvGpu } from "./attention.js";
import { Arena, GpuKv, GpuTensor } from "./buffers.js";
import { gpuKv, gpuTensor, scratch, type GpuContext } from "./context.js";
import { MAP_MODE_READ, Usage, formatBytes, openDevice, type DeviceOptions } from "./device.js";
import { embedGpu, gpuMatrix, loadGpuMatrix, matmulGpu } from "./matrix.js";
import { GpuMoe } from "./moe.js";
import { binaryGpu, copyGpu, rmsNormGpu, ropeGpu } from "./ops.js";
import { Pipelines } from "./pipelines.js";
import { Recorder } from "./recorder.js";

export interface WebGpuOptions extends DeviceOptions {
  /** KV cache element type; default f16 where the adapter has `shader-f16`, else f32. */
  readonly kv?: KvType;
}

/** A WebGPU backend, with what it runs on. */
export interface WebGpuBackend extends KernelBackend {
  /** The adapter's description (e.g. "NVIDIA H100 80GB HBM3"), else its vendor, architecture and device. */
  readonly adapter: string;
  /** Optional features in use. */
  readonly features: { readonly f16: boolean; readonly subgroups: boolean };
  /** Command buffers submitted so far (a model step records into one). */
  readonly submissions: number;
}

const ACT_PAGE = 64 << 20;
const WEIGHT_PAGE = 256 << 20;

/** A kernel the webgpu backend does not have: the hybrid models run on the wasm or ref backend. */
function unsupported(kernel: string): never {
  throw new QwenrtError("webgpu", `${kernel} is not implemented on the webgpu backend (the hybrid models qwen3_next, qwen3_5 and qwen3_5_moe need it); use the wasm backend`, { code: "unsupported" });
}

/**
 * Create the WebGPU backend on the first adapter `opts.gpu` (default `navigator.gpu`) offers.
 *
 * @example
 * const be = await createWebGpuBackend({ gpu: await nodeGpu() });
 * const t = be.allocF32(4);
 * be.write(t, Float32Array.of(1, 2, 3, 4));
 * await be.read(t); // Float32Array [1, 2, 3, 4]
 */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const gd = await openDevice(opts);
  const kvType: KvType = opts.kv ?? (gd.features.f16 ? "f16" : "f32");
  const rec = new Recorder(gd);
  const cap = (n: number) => Math.min(n, gd.maxBinding, gd.maxBuffer);
  const acts = new Arena(gd, Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST, cap(ACT_PAGE), "activations");
  const weights = new Arena(gd, Usage.STORAGE | Usage.COPY_DST, cap(WEIGHT_PAGE), "weights");
  rec.onSubmit(() => {
    acts.flushRetired();
    weights.flushRetired();
  });
  const ctx: GpuContext = { gd, rec, pipes: new Pipelines(gd), acts, weights };
  const moe = new GpuMoe(ctx);
  let disposed = false;

  const alloc = (length: number, what: string): GpuTensor => {
    if (!Number.isInteger(length) || length < 0) throw new QwenrtError(what, `length must be a non-negative integer, got ${length}`);
    return scratch(ctx, length, what);
  };

  const binary = (op: "add" | "siluMul", a: Tensor, b: Tensor, out: Tensor, length: number): void => {
    binaryGpu(ctx, op, gpuTensor(a, `${op} a`, length), gpuTensor(b, `${op} b`, length), gpuTensor(out, `${op} out`, length), length);
  };

  const be: WebGpuBackend = {
    name: "webgpu",
    threads: 1,
    kvType,
    adapter: gd.adapterName,
    features: gd.features,
    get submissions(): number {
      return rec.submissions;
    },

    allocF32: (length) => alloc(length, "allocF32"),

    freeF32(buf: Tensor): void {
      const t = gpuTensor(buf, "freeF32");
      if (!t.owner) throw new QwenrtError("freeF32", "takes a whole tensor from allocF32, not a view");
      acts.free(t.region);
    },

    view(t: Tensor, offset: number, length: number): Tensor {
      const g = gpuTensor(t, "view");
      if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > g.length) {
        throw new QwenrtError("view", `range ${offset} + ${length} values does not fit ${g.length}`);
      }
      return new GpuTensor(g.region, g.offset + offset, length, false);
    },

    write(t: Tensor, data: Float32Array, offset = 0): void {
      const g = gpuTensor(t, "write");
      if (!Number.isInteger(offset) || offset < 0 || offset + data.length > g.length) {
        throw new QwenrtError("write", `range ${offset} + ${data.length} values does not fit ${g.length}`);
      }
      rec.upload(g.region.buffer, g.byteStart + offset * 4, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },

    async read(t: Tensor): Promise<Float32Array> {
      if (disposed) throw new QwenrtError("webgpu", "the backend was disposed");
      const g = gpuTensor(t, "read");
      const bytes = g.length * 4;
      if (bytes === 0) {
        rec.submit();
        await gd.errors.check();
        return new Float32Array(0);
      }
      const staging = gd.errors.guardOom("a readback buffer", bytes, () => gd.device.createBuffer({ size: bytes, usage: Usage.MAP_READ | Usage.COPY_DST, label: "readback" }));
      rec.copy(g.region.buffer, g.byteStart, staging, 0, bytes);
      gd.errors.guardValidation("the step's commands", () => rec.submit());
      try {
        await staging.mapAsync(MAP_MODE_READ);
      } catch (e) {
        await gd.errors.check();
        throw new QwenrtError("webgpu", `reading ${formatBytes(bytes)} back failed: ${errorMessage(e) || (e instanceof Error ? e.name : "mapAsync rejected")}`, { cause: e });
      }
      const out = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      staging.destroy();
      await gd.errors.check();
      return out;
    },

    loadVector(v: Float32Array): Tensor {
      const t = alloc(v.length, "loadVector");
      be.write(t, v);
      return t;
    },

    allocKv(length: number): KvBuffer {
      if (!Number.isInteger(length) || length < 0) throw new QwenrtError("allocKv", `length must be a non-negative integer, got ${length}`);
      const bytes = kvType === "f16" ? Math.ceil(length / 2) * 4 : length * 4;
      const a = acts.alloc(bytes, `a KV cache of ${length} values`);
      return new GpuKv(a.region, length, kvType);
    },

    freeKv(buf: KvBuffer): void {
      acts.free(gpuKv(buf, "freeKv").region);
    },

    copyKv(src, srcOffset, dst, dstOffset, length): void {
      copyKvGpu(ctx, gpuKv(src, "copyKv src"), srcOffset, gpuKv(dst, "copyKv dst"), dstOffset, length);
    },

    writeKv(src, rows, kvHeads, headDim, dst, capacity, start): void {
      writeKvGpu(ctx, gpuTensor(src, "writeKv src"), rows, kvHeads, headDim, gpuKv(dst, "writeKv dst"), capacity, start);
    },

    loadMatrix: (m: HostMatrix): Matrix => loadGpuMatrix(ctx, m),

    matmul(w: Matrix, x: Tensor, n: number, y: Tensor, bias?: Tensor): void {
      const m = gpuMatrix(w, "matmul");
      const xt = gpuTensor(x, "matmul x", n * m.cols), yt = gpuTensor(y, "matmul y", n * m.rows);
      const bt = bias === undefined ? undefined : gpuTensor(bias, "matmul bias", m.rows);
      if (n > 0) matmulGpu(ctx, m, xt, n, yt, bt);
    },

    matmulMany(ws, x, n, ys, biases): void {
      if (ys.length !== ws.length) throw new QwenrtError("matmulMany", `${ws.length} matrices but ${ys.length} outputs`);
      ws.forEach((w, j) => be.matmul(w, x, n, ys[j]!, biases?.[j]));
    },

    swiGlu(gate: Matrix, up: Matrix, x: Tensor, n: number, out: Tensor): void {
      const u = gpuMatrix(up, "swiGlu up");
      const len = n * u.rows;
      const tmp = alloc(len, "swiGlu up projection");
      be.matmul(gate, x, n, out);
      be.matmul(up, x, n, tmp);
      be.siluMul(out, tmp, out, len);
      acts.free(tmp.region);
    },

    embedRow(w: Matrix, row: number, out: Tensor): void {
      embedGpu(ctx, gpuMatrix(w, "embedRow"), Int32Array.of(row), gpuTensor(out, "embedRow out"));
    },

    embed(w: Matrix, ids: Int32Array, out: Tensor): void {
      embedGpu(ctx, gpuMatrix(w, "embed"), ids, gpuTensor(out, "embed out"));
    },

    rmsNorm(x: Tensor, weight: Tensor, eps: number, rows: number, dim: number, out: Tensor): void {
      const len = rows * dim;
      rmsNormGpu(ctx, gpuTensor(x, "rmsNorm x", len), gpuTensor(weight, "rmsNorm weight", dim), eps, rows, dim, gpuTensor(out, "rmsNorm out", len));
    },

    add: (a, b, out, length) => binary("add", a, b, out, length),

    copy(src: Tensor, dst: Tensor): void {
      const s = gpuTensor(src, "copy src");
      copyGpu(ctx, s, gpuTensor(dst, "copy dst", s.length));
    },

    rope(x: Tensor, n: number, heads: number, headDim: number, cos: Tensor, sin: Tensor, rotaryDim = headDim): void {
      if (rotaryDim !== headDim) unsupported(`rope with rotaryDim ${rotaryDim} < headDim ${headDim} (partial RoPE)`);
      const half = headDim >> 1;
      ropeGpu(ctx, gpuTensor(x, "rope x", n * heads * headDim), n, heads, headDim, gpuTensor(cos, "rope cos", n * half), gpuTensor(sin, "rope sin", n * half));
    },

    siluMul: (gate, up, out, length) => binary("siluMul", gate, up, out, length),

    moe(w: MoeWeights, x: Tensor, n: number, out: Tensor): void {
      moe.forward(w, gpuTensor(x, "moe x"), n, gpuTensor(out, "moe out"));
    },

    attention(q, k, v, n, start, capacity, heads, kvHeads, headDim, scale, out): void {
      attentionGpu(ctx, gpuTensor(q, "attention q"), gpuKv(k, "attention k"), gpuKv(v, "attention v"), n, start, capacity, heads, kvHeads, headDim, scale, gpuTensor(out, "attention out"));
    },

    // The hybrid models' kernels (qwen3_next, qwen3_5, qwen3_5_moe) have no WGSL version yet.
    causalConvSilu: () => unsupported("causalConvSilu"),
    gatedDeltaNet: () => unsupported("gatedDeltaNet"),
    sigmoidMul: () => unsupported("sigmoidMul"),

    dispose(): void {
      if (disposed) return;
      disposed = true;
      moe.dispose();
      rec.destroy();
      acts.destroy();
      weights.destroy();
      gd.errors.markDestroyed();
      gd.device.destroy();
    },
  };
  return be;
}
