/**
 * The compute flags every model-running command shares (`--backend`, `--threads`, `--dtype`, `--kv-type`) and
 * the kernel backend they select. The WASM backend is the default; `ref` is the float32 oracle.
 */
import { availableParallelism } from "node:os";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend, KvType } from "../kernels/types.js";
import { createWasmBackend, type WasmDtype } from "../kernels/wasm/index.js";
import { QwenrtError } from "../util/errors.js";
import type { QuantizeOnLoad } from "../open.js";
import { numberFlag } from "./args.js";

/** parseArgs options for the compute flags; spread into a command's own options. */
export const backendFlagOptions = {
  backend: { type: "string" },
  threads: { type: "string" },
  dtype: { type: "string" },
  "kv-type": { type: "string" },
  "no-quant-cache": { type: "boolean" },
} as const;

/** Usage text for the compute flags. */
export const backendFlagUsage = `  --backend wasm|ref        kernels: WebAssembly SIMD on a worker pool (default) or the float32 reference
  --threads N               compute threads (default: all cores, ${availableParallelism()} here)
  --dtype q8_0|q4_0|q4_k    quantize float weights on load (wasm only; default: keep the checkpoint's type),
                            once: the result is kept as a GGUF in ~/.cache/qwenrt/quantized and later
                            starts load it (\$QWENRT_CACHE_DIR moves the cache)
  --no-quant-cache          with --dtype: quantize in memory on every start, keep nothing
  --kv-type f16|f32         KV cache element type (wasm only; default f16, half the memory of f32)`;

/** What the compute flags asked for. */
export interface BackendChoice {
  readonly kind: "wasm" | "ref";
  readonly threads: number;
  readonly dtype?: WasmDtype;
  readonly kv?: KvType;
  /** `--dtype` goes through the quantized-weights cache (default; off with `--no-quant-cache`). */
  readonly quantCache: boolean;
}

/** Validate the compute flags, naming the flag at fault. */
export function parseBackendFlags(v: { backend?: string; threads?: string; dtype?: string; "kv-type"?: string; "no-quant-cache"?: boolean }): BackendChoice {
  const kind = v.backend ?? "wasm";
  if (kind !== "wasm" && kind !== "ref") throw new QwenrtError("--backend", `must be "wasm" or "ref", got "${kind}"`, { code: "invalid_flag" });
  const threads = numberFlag("threads", v.threads, { integer: true, min: 1, max: 256 }) ?? availableParallelism();
  const dtype = v.dtype;
  if (dtype !== undefined && dtype !== "q8_0" && dtype !== "q4_0" && dtype !== "q4_k") {
    throw new QwenrtError("--dtype", `must be q8_0, q4_0 or q4_k, got "${dtype}"`, { code: "invalid_flag" });
  }
  if (dtype !== undefined && kind === "ref") throw new QwenrtError("--dtype", "needs --backend wasm (the reference backend computes in float32)", { code: "invalid_flag" });
  const kv = v["kv-type"];
  if (kv !== undefined && kv !== "f16" && kv !== "f32") throw new QwenrtError("--kv-type", `must be f16 or f32, got "${kv}"`, { code: "invalid_flag" });
  if (kv === "f16" && kind === "ref") throw new QwenrtError("--kv-type", "f16 needs --backend wasm (the reference backend's cache is float32)", { code: "invalid_flag" });
  if (v["no-quant-cache"] === true && dtype === undefined) throw new QwenrtError("--no-quant-cache", "only applies with --dtype", { code: "invalid_flag" });
  return { kind, threads, ...(dtype === undefined ? {} : { dtype }), ...(kv === undefined ? {} : { kv }), quantCache: v["no-quant-cache"] !== true };
}

/** Create the backend the flags chose. */
export async function createBackend(choice: BackendChoice): Promise<KernelBackend> {
  if (choice.kind === "ref") return createRefBackend();
  return createWasmBackend({ threads: choice.threads, ...(choice.dtype === undefined ? {} : { dtype: choice.dtype }), ...(choice.kv === undefined ? {} : { kv: choice.kv }) });
}

/**
 * What `ModelSource.loadModel` needs from the flags besides the backend: `--dtype` through the
 * quantized-weights cache (a line on stderr when an entry is made or the cache cannot be used).
 *
 * @example
 * const model = await source.loadModel({ backend, onProgress, ...quantizeOptions(choice) });
 */
export function quantizeOptions(choice: BackendChoice, log: (line: string) => void = stderrLine): { quantize?: QuantizeOnLoad } {
  if (choice.dtype === undefined) return {};
  return { quantize: { dtype: choice.dtype, cache: choice.quantCache, threads: choice.threads, log } };
}

/** A line on stderr, erasing a progress line being drawn there first. */
function stderrLine(line: string): void {
  process.stderr.write(`${process.stderr.isTTY === true ? "\r\x1b[2K" : ""}${line}\n`);
}
