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

// (module (memory (export "m") 1) (func (export "f")
//   (v128.store (i32.const 48) (i32x4.relaxed_dot_i8x16_i7x16_add_s (v128.load (i32.const 0)) (v128.load (i32.const 16)) (v128.load (i32.const 32))))))
const DOT_ADD_PROBE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03,
  0x01, 0x00, 0x01, 0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x1f, 0x01, 0x1d, 0x00, 0x41,
  0x30, 0x41, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x41, 0x10, 0xfd, 0x00, 0x04, 0x00, 0x41, 0x20, 0xfd, 0x00, 0x04, 0x00, 0xfd,
  0x93, 0x02, 0xfd, 0x0b, 0x04, 0x00, 0x0b,
]);

let dotAddChecked: boolean | undefined;

/**
 * Whether `i32x4.relaxed_dot_i8x16_i7x16_add_s` is exact here for unsigned second operands up to 255
 * (beyond the spec's i7 range): true where V8 emits x86 VNNI `vpdpbusd` (AVX-VNNI / AVX-512 VNNI,
 * V8 ≥ 12). False on Node 20 (its V8 doubled the dot and dropped the addend), on x86 without VNNI
 * (pmaddubsw saturates pairs of 255 × 127), on Arm (signed bytes), without relaxed SIMD, or with
 * `QWENRT_WASM_DOT_ADD=0`. Checked once per thread on operands that catch each of those.
 */
export function dotAddAvailable(): boolean {
  if (dotAddChecked !== undefined) return dotAddChecked;
  dotAddChecked = false;
  if (typeof process !== "undefined" && process.env?.QWENRT_WASM_DOT_ADD === "0") return false;
  if (!relaxedSimdAvailable()) return false;
  const { f, m } = new wasmApi.Instance(new wasmApi.Module(DOT_ADD_PROBE), {}).exports as { f: () => void; m: { buffer: ArrayBuffer } };
  const a = new Int8Array(m.buffer, 0, 16), b = new Uint8Array(m.buffer, 16, 16), c = new Int32Array(m.buffer, 32, 4);
  a.set([127, 127, -128, -128, 127, -128, 5, -7, -1, 1, 100, -100, 0, 127, -128, 3]);
  b.set([255, 255, 255, 255, 128, 200, 3, 129, 255, 0, 127, 128, 17, 255, 1, 254]);
  c.set([1000, -2000, 2147483000, 0]);
  const want = [0, 1, 2, 3].map((k) => {
    let s = c[k]!;
    for (let t = 0; t < 4; t++) s += a[4 * k + t]! * b[4 * k + t]!;
    return s | 0;
  });
  f();
  const got = new Int32Array(m.buffer, 48, 4);
  dotAddChecked = want.every((v, k) => got[k] === v);
  return dotAddChecked;
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
export async function loadKernelModule(relaxed: boolean | "auto"): Promise<{ module: WasmModule; relaxed: boolean; dotAdd: boolean }> {
  let useRelaxed = false;
  if (relaxed !== false) {
    useRelaxed = relaxedSimdAvailable();
    if (relaxed === true && !useRelaxed) {
      throw new QwenrtError("relaxed", "this runtime does not support WebAssembly relaxed SIMD", { code: "unsupported" });
    }
  }
  const bytes = readFileSync(kernelPath(useRelaxed ? "kernels-relaxed.wasm" : "kernels.wasm"));
  return { module: await wasmApi.compile(bytes), relaxed: useRelaxed, dotAdd: useRelaxed && dotAddAvailable() };
}
