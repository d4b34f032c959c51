/**
 * Node's way to a WebGPU entry point: the `webgpu` package (Dawn, prebuilt for Linux, macOS and
 * Windows), imported on first use so that qwenrt starts without loading it unless a GPU backend is
 * asked for, and a platform the package cannot load on fails with one line saying so.
 */
import { QwenrtError, errorMessage } from "../../util/errors.js";

let cached: Promise<GPU> | undefined;

/**
 * The `GPU` object of the `webgpu` package, its WebGPU globals (`GPUBufferUsage` …) installed on
 * `globalThis` as the package documents. Throws a QwenrtError when the package cannot be loaded.
 *
 * @example
 * const be = await createWebGpuBackend({ gpu: await nodeGpu() });
 */
export function nodeGpu(): Promise<GPU> {
  cached ??= (async () => {
    let mod: typeof import("webgpu");
    try {
      mod = await import("webgpu");
    } catch (e) {
      cached = undefined;
      throw new QwenrtError("webgpu", `the "webgpu" package cannot be loaded (npm install webgpu): ${errorMessage(e)}`, { code: "unsupported", cause: e });
    }
    Object.assign(globalThis, mod.globals);
    return mod.create([]);
  })();
  return cached;
}
