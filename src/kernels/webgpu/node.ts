/**
 * Node's way to a WebGPU entry point: the optional `webgpu` package (Dawn, prebuilt for Linux,
 * macOS and Windows), loaded on demand so qwenrt runs without it when no GPU backend is asked for.
 */
import { QwenrtError } from "../../util/errors.js";

/** The shape of the `webgpu` package's exports this helper uses. */
interface DawnModule {
  create(options: string[]): GPU;
  globals: object;
}

function isDawn(m: unknown): m is DawnModule {
  return typeof m === "object" && m !== null && typeof Reflect.get(m, "create") === "function" && typeof Reflect.get(m, "globals") === "object";
}

let cached: Promise<GPU> | undefined;

/**
 * The `GPU` object of the `webgpu` package (its WebGPU globals such as `GPUBufferUsage` installed
 * on `globalThis`, as the package documents). Throws a QwenrtError when the package is missing.
 *
 * @example
 * const be = await createWebGpuBackend({ gpu: await nodeGpu() });
 */
export function nodeGpu(): Promise<GPU> {
  cached ??= (async () => {
    const name = "webgpu";
    let mod: unknown;
    try {
      mod = await import(name);
    } catch (e) {
      cached = undefined;
      throw new QwenrtError("webgpu", `the "webgpu" package is not installed (npm install webgpu): ${e instanceof Error ? e.message : String(e)}`, { code: "unsupported", cause: e });
    }
    if (!isDawn(mod)) throw new QwenrtError("webgpu", 'the "webgpu" package does not export create() and globals');
    Object.assign(globalThis, mod.globals);
    return mod.create([]);
  })();
  return cached;
}
