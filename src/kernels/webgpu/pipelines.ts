/**
 * Compute pipelines, compiled on first use and cached by a key naming the kernel and its variant
 * (weight type, KV type, subgroups). Bind group layouts come from the shader (`layout: "auto"`):
 * binding 0 is the kernel's uniform parameters, then its storage buffers in declaration order.
 */
import type { GpuDevice } from "./device.js";

/**
 * @example
 * const p = pipelines.get("add", () => addShader());
 */
export class Pipelines {
  private readonly cache = new Map<string, GPUComputePipeline>();

  constructor(private readonly gd: GpuDevice) {}

  /** The pipeline `key`, compiling `source()` (WGSL, entry point `main`) the first time. */
  get(key: string, source: () => string): GPUComputePipeline {
    let p = this.cache.get(key);
    if (p === undefined) {
      const module = this.gd.device.createShaderModule({ code: source(), label: key });
      p = this.gd.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: key });
      this.cache.set(key, p);
    }
    return p;
  }
}

/** Largest workgroup count in one grid dimension (WebGPU's default limit). */
export const MAX_GRID = 65535;

/**
 * Workgroup counts for `count` workgroups in a 2-D grid (x ≤ MAX_GRID); kernels recover the index
 * with `flatGroup` and skip indices ≥ count.
 */
export function grid1(count: number): [number, number, number] {
  if (count <= MAX_GRID) return [count, 1, 1];
  return [MAX_GRID, Math.ceil(count / MAX_GRID), 1];
}
