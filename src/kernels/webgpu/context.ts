/**
 * What every part of the WebGPU backend shares: the device, the step's command recorder, the
 * pipeline cache, the two memory arenas, and the checks that turn a caller's tensor into this
 * backend's own (each names the argument at fault).
 */
import { QwenrtError } from "../../util/errors.js";
import type { KvBuffer, Tensor } from "../types.js";
import { GpuKv, GpuTensor, type Arena } from "./buffers.js";
import type { GpuDevice } from "./device.js";
import type { Pipelines } from "./pipelines.js";
import type { Recorder } from "./recorder.js";

export interface GpuContext {
  readonly gd: GpuDevice;
  readonly rec: Recorder;
  readonly pipes: Pipelines;
  /** Activations, vectors, KV caches and scratch (STORAGE | COPY_SRC | COPY_DST). */
  readonly acts: Arena;
  /** Weight matrices (STORAGE | COPY_DST). */
  readonly weights: Arena;
}

/** `t` as this backend's tensor, holding at least `length` values. */
export function gpuTensor(t: Tensor, what: string, length = 0): GpuTensor {
  if (!(t instanceof GpuTensor)) throw new QwenrtError(what, "expected a tensor of the webgpu backend (from allocF32, view or loadVector)");
  if (t.length < length) throw new QwenrtError(what, `needs at least ${length} values, got ${t.length}`);
  return t;
}

/** `b` as this backend's KV buffer. */
export function gpuKv(b: KvBuffer, what: string): GpuKv {
  if (!(b instanceof GpuKv)) throw new QwenrtError(what, "expected a KV buffer of the webgpu backend (from allocKv)");
  return b;
}

/** A zeroed tensor of `words` 32-bit words from the activation arena (reused memory is cleared in
 * command order, after the commands recorded before). */
export function scratch(ctx: GpuContext, words: number, what: string): GpuTensor {
  const a = ctx.acts.alloc(Math.max(1, words) * 4, what);
  if (a.dirtyBytes > 0) ctx.rec.clear(a.region.buffer, a.region.offset, a.dirtyBytes);
  return new GpuTensor(a.region, 0, words, true);
}
