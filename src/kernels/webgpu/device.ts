/// <reference types="@webgpu/types" />
/**
 * Adapter and device acquisition for the WebGPU backend, using only the WebGPU API (a browser's
 * `navigator.gpu`, or the `GPU` object Node's `webgpu` package creates — see `node.ts`). Every
 * failure is one `QwenrtError` line naming what is missing: no WebGPU, no adapter, a feature or
 * limit the adapter lacks. Errors the device reports later (validation, out of memory, device lost)
 * are collected and thrown at the next synchronisation point (`read`).
 */
import { QwenrtError } from "../../util/errors.js";

/** `GPUBufferUsage` flags (the spec's values, so no global constant object is needed). */
export const Usage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
} as const;

/** `GPUMapMode.READ`. */
export const MAP_MODE_READ = 0x0001;

/** Limits every kernel here relies on (WebGPU's defaults, so any conforming adapter has them). */
const REQUIRED_LIMITS = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 6,
  maxComputeWorkgroupsPerDimension: 65535,
} as const;

export interface DeviceOptions {
  /** The WebGPU entry point; default `globalThis.navigator.gpu`. */
  readonly gpu?: Pick<GPU, "requestAdapter">;
  /** Use `subgroups` when the adapter has it (default true); false forces the workgroup-memory path. */
  readonly subgroups?: boolean;
  readonly powerPreference?: GPUPowerPreference;
  /** Bind at most this many bytes per storage binding (below the adapter's limit): makes weight
   * matrices split into parts and batches into chunks sooner, as on an adapter with small limits. */
  readonly maxBindingBytes?: number;
}

/** A device and what the kernels may use on it. */
export interface GpuDevice {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly features: { readonly f16: boolean; readonly subgroups: boolean };
  /** Largest storage binding in bytes (a tensor or matrix part must fit one). */
  readonly maxBinding: number;
  /** Largest buffer in bytes. */
  readonly maxBuffer: number;
  /** Alignment of a storage binding's offset, in bytes. */
  readonly storageAlign: number;
  /** Alignment of a uniform binding's offset, in bytes. */
  readonly uniformAlign: number;
  readonly errors: ErrorLog;
}

function navigatorGpu(): Pick<GPU, "requestAdapter"> | undefined {
  const nav: unknown = Reflect.get(globalThis, "navigator");
  if (typeof nav !== "object" || nav === null) return undefined;
  const gpu: unknown = Reflect.get(nav, "gpu");
  return isGpu(gpu) ? gpu : undefined;
}

function isGpu(v: unknown): v is Pick<GPU, "requestAdapter"> {
  return typeof v === "object" && v !== null && typeof Reflect.get(v, "requestAdapter") === "function";
}

/**
 * Request an adapter and a device with the limits and optional features the kernels use.
 *
 * @example
 * const gd = await openDevice({ gpu: navigator.gpu });
 */
export async function openDevice(opts: DeviceOptions = {}): Promise<GpuDevice> {
  const gpu = opts.gpu ?? navigatorGpu();
  if (gpu === undefined) {
    throw new QwenrtError("webgpu", "no WebGPU implementation found (navigator.gpu is missing; in Node install the \"webgpu\" package)", { code: "unsupported" });
  }
  const adapter = await gpu.requestAdapter(opts.powerPreference === undefined ? {} : { powerPreference: opts.powerPreference });
  if (adapter === null) throw new QwenrtError("webgpu", "no WebGPU adapter found (no GPU, or no driver WebGPU can use)", { code: "unsupported" });
  const info = adapter.info;
  const adapterName = info.description || [info.vendor, info.architecture, info.device].filter((s) => s !== "").join(" ") || "unknown adapter";
  for (const [name, need] of Object.entries(REQUIRED_LIMITS)) {
    const have = Reflect.get(adapter.limits, name);
    if (typeof have !== "number" || have < need) {
      throw new QwenrtError("webgpu", `adapter "${adapterName}" has ${name} ${String(have)}, the kernels need ${need}`, { code: "unsupported" });
    }
  }
  const f16 = adapter.features.has("shader-f16");
  const subgroups = (opts.subgroups ?? true) && adapter.features.has("subgroups");
  const requiredFeatures: GPUFeatureName[] = [];
  if (f16) requiredFeatures.push("shader-f16");
  if (subgroups) requiredFeatures.push("subgroups");
  const { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize } = adapter.limits;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredFeatures,
      requiredLimits: { maxStorageBufferBindingSize, maxBufferSize, maxComputeWorkgroupStorageSize },
    });
  } catch (e) {
    throw new QwenrtError("webgpu", `adapter "${adapterName}" refused a device: ${e instanceof Error ? e.message : String(e)}`, { code: "unsupported", cause: e });
  }
  const errors = new ErrorLog(device);
  return {
    device,
    adapterName,
    features: { f16, subgroups },
    maxBinding: Math.min(device.limits.maxStorageBufferBindingSize, opts.maxBindingBytes ?? Infinity),
    maxBuffer: device.limits.maxBufferSize,
    storageAlign: device.limits.minStorageBufferOffsetAlignment,
    uniformAlign: device.limits.minUniformBufferOffsetAlignment,
    errors,
  };
}

/**
 * Device errors are asynchronous in WebGPU; this collects them (uncaptured errors, out-of-memory
 * scopes around allocations, device loss) so the next `check` throws the first one as a QwenrtError.
 */
export class ErrorLog {
  private first: QwenrtError | undefined;
  private pending: Promise<void>[] = [];
  private destroyed = false;

  constructor(private readonly device: GPUDevice) {
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent): void => {
      this.record(new QwenrtError("webgpu", `device error: ${oneLine(ev.error.message)}`));
    };
    void device.lost.then((info) => {
      if (!this.destroyed) this.record(new QwenrtError("webgpu", `device lost (${info.reason}): ${oneLine(info.message)}`));
    });
  }

  /** Run `create` inside an out-of-memory error scope; a failure is reported as `what` at the next check. */
  guardOom<T>(what: string, bytes: number, create: () => T): T {
    this.device.pushErrorScope("out-of-memory");
    const out = create();
    this.pending.push(
      this.device.popErrorScope().then((err) => {
        if (err !== null) this.record(new QwenrtError("webgpu", `out of GPU memory allocating ${formatBytes(bytes)} for ${what}`, { code: "out_of_memory" }));
      }),
    );
    return out;
  }

  /** Run `fn` (a submit) inside a validation error scope; an error is reported at the next check. */
  guardValidation(what: string, fn: () => void): void {
    this.device.pushErrorScope("validation");
    fn();
    this.pending.push(
      this.device.popErrorScope().then((err) => {
        if (err !== null) this.record(new QwenrtError("webgpu", `${what} were rejected by the device: ${oneLine(err.message)}`));
      }),
    );
  }

  record(e: QwenrtError): void {
    this.first ??= e;
  }

  /** Throw the first error seen since the last check, once every pending scope has resolved. */
  async check(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.all(pending);
    const e = this.first;
    this.first = undefined;
    if (e !== undefined) throw e;
  }

  /** The device is being destroyed on purpose: its loss is no error. */
  markDestroyed(): void {
    this.destroyed = true;
  }
}

/** A byte count for messages: "512 B", "4.0 KiB", "128.0 MiB", "2.5 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const [unit, div] = bytes < 1 << 20 ? ["KiB", 1024] : bytes < 1 << 30 ? ["MiB", 1 << 20] : ["GiB", 1 << 30];
  return `${(bytes / div).toFixed(1)} ${unit}`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
