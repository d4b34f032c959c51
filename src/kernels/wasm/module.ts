/**
 * Finding and compiling the kernel module. Two builds exist (scripts/build-wasm.mjs): plain SIMD128
 * and relaxed SIMD. Relaxed SIMD is used when the runtime validates it; Node 20 needs V8's
 * `--experimental-wasm-relaxed-simd`, which worker `execArgv` rejects (ERR_WORKER_INVALID_EXEC_ARGV),
 * so it is switched on process-wide with `v8.setFlagsFromString` and checked again by validation.
 */
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { QwenrtError } from "../../util/errors.js";
import { wasmApi, type WasmModule } from "./wasm_api.js";

// (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd))
const RELAXED_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02,
  0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/** Whether this runtime can run relaxed SIMD, enabling it on Node 20 if needed. */
export function relaxedSimdAvailable(): boolean {
  if (wasmApi.validate(RELAXED_PROBE)) return true;
  if (typeof process === "undefined" || process.versions?.node === undefined) return false;
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  return wasmApi.validate(RELAXED_PROBE);
}

/** Path of a built kernel file: beside this module (dist/), else the repository's dist/ (running from src/). */
export function kernelPath(file: string): string {
  const candidates = [new URL(`./${file}`, import.meta.url), new URL(`../../../dist/kernels/wasm/${file}`, import.meta.url)];
  for (const u of candidates) {
    const p = fileURLToPath(u);
    if (existsSync(p)) return p;
  }
  throw new QwenrtError("wasm backend", `kernel module ${file} is not built; run \`npm run build:wasm\``, { code: "not_found" });
}

/** The compiled kernel module, relaxed or plain. `relaxed: "auto"` picks relaxed where available. */
export async function loadKernelModule(relaxed: boolean | "auto"): Promise<{ module: WasmModule; relaxed: boolean }> {
  let useRelaxed = false;
  if (relaxed !== false) {
    useRelaxed = relaxedSimdAvailable();
    if (relaxed === true && !useRelaxed) {
      throw new QwenrtError("relaxed", "this runtime does not support WebAssembly relaxed SIMD", { code: "unsupported" });
    }
  }
  const bytes = readFileSync(kernelPath(useRelaxed ? "kernels-relaxed.wasm" : "kernels.wasm"));
  return { module: await wasmApi.compile(bytes), relaxed: useRelaxed };
}
