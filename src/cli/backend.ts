/**
 * The compute flags every model-running command shares (`--backend`, `--threads`, `--dtype`, `--kv-type`,
 * `--ctx`) and the kernel backend they select. The WASM backend is the default; `ref` is the float32 oracle;
 * `webgpu` runs on the machine's GPU; `auto` takes WebGPU when an adapter is found, else wasm.
 */
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend, KvType } from "../kernels/types.js";
import { createWasmBackend, type WasmDtype } from "../kernels/wasm/index.js";
import { createWebGpuBackend, nodeGpu } from "../kernels/webgpu/index.js";
import { QwenrtError, errorMessage } from "../util/errors.js";
import type { QuantizeOnLoad } from "../open.js";
import { numberFlag } from "./args.js";

/** parseArgs options for the compute flags; spread into a command's own options. */
export const backendFlagOptions = {
  backend: { type: "string" },
  threads: { type: "string" },
  dtype: { type: "string" },
  "kv-type": { type: "string" },
  ctx: { type: "string" },
  "no-quant-cache": { type: "boolean" },
} as const;

/** Usage text for the compute flags. */
export const backendFlagUsage = `  --backend wasm|webgpu|auto|ref
                            kernels: WebAssembly SIMD on a worker pool (default), the GPU through WebGPU,
                            auto (WebGPU when an adapter is found, else wasm) or the float32 reference
  --threads N               compute threads (default: all cores, ${availableParallelism()} here)
  --dtype q8_0|q4_0|q4_k|keep
                            quantize float weights on load (wasm only), once: the result is kept as a
                            GGUF in ~/.cache/qwenrt/quantized and later starts load it (\$QWENRT_CACHE_DIR
                            moves the cache). chat, generate and serve run a float (Hugging Face)
                            checkpoint as q8_0 unless told otherwise; keep runs its own bf16/f16/f32
  --no-quant-cache          with --dtype: quantize in memory on every start, keep nothing
  --kv-type f16|f32         KV cache element type (wasm, webgpu; default f16, half the memory of f32)
  --ctx N                   context window: memory is checked for it before loading and sequences
                            stop there (default: the model's max_position_embeddings; the KV cache
                            grows with use either way)`;

const KINDS = ["wasm", "webgpu", "auto", "ref"] as const;

/** What the compute flags asked for. */
export interface BackendChoice {
  readonly kind: (typeof KINDS)[number];
  readonly threads: number;
  readonly dtype?: WasmDtype;
  readonly kv?: KvType;
  /** `--ctx`: positions the model is loaded for. */
  readonly ctx?: number;
  /** `--no-quant-cache`: `--dtype` quantizes in memory instead of through the quantized-weights cache. */
  readonly noQuantCache?: true;
  /** `--dtype keep`: run a float checkpoint in its own types. */
  readonly keepTypes?: true;
}

/** Validate the compute flags, naming the flag at fault. */
export function parseBackendFlags(v: { backend?: string; threads?: string; dtype?: string; "kv-type"?: string; ctx?: string; "no-quant-cache"?: boolean }): BackendChoice {
  const kind = KINDS.find((k) => k === (v.backend ?? "wasm"));
  if (kind === undefined) throw new QwenrtError("--backend", `must be wasm, webgpu, auto or ref, got "${v.backend}"`, { code: "invalid_flag" });
  const threads = numberFlag("threads", v.threads, { integer: true, min: 1, max: 256 }) ?? availableParallelism();
  const keepTypes = v.dtype === "keep";
  const dtype = keepTypes ? undefined : v.dtype;
  if (dtype !== undefined && dtype !== "q8_0" && dtype !== "q4_0" && dtype !== "q4_k") {
    throw new QwenrtError("--dtype", `must be q8_0, q4_0, q4_k or keep, got "${dtype}"`, { code: "invalid_flag" });
  }
  if (dtype !== undefined && kind === "ref") throw new QwenrtError("--dtype", "needs --backend wasm (the reference backend computes in float32)", { code: "invalid_flag" });
  if (dtype !== undefined && kind !== "wasm") throw new QwenrtError("--dtype", `needs --backend wasm (${kind} runs the checkpoint's own types)`, { code: "invalid_flag" });
  const kv = v["kv-type"];
  if (kv !== undefined && kv !== "f16" && kv !== "f32") throw new QwenrtError("--kv-type", `must be f16 or f32, got "${kv}"`, { code: "invalid_flag" });
  if (kv === "f16" && kind === "ref") throw new QwenrtError("--kv-type", "f16 needs --backend wasm (the reference backend's cache is float32)", { code: "invalid_flag" });
  const ctx = numberFlag("ctx", v.ctx, { integer: true, min: 16 });
  const noCache = v["no-quant-cache"] === true;
  if (noCache && keepTypes) throw new QwenrtError("--no-quant-cache", "conflicts with --dtype keep (nothing is quantized)", { code: "invalid_flag" });
  return {
    kind,
    threads,
    ...(dtype === undefined ? {} : { dtype }),
    ...(kv === undefined ? {} : { kv }),
    ...(ctx === undefined ? {} : { ctx }),
    ...(noCache ? { noQuantCache: true } : {}),
    ...(keepTypes ? { keepTypes: true } : {}),
  };
}

/** What a float checkpoint runs as when `--dtype` is not given (bench/quant-quality.ts measures it). */
export const DEFAULT_FLOAT_DTYPE: WasmDtype = "q8_0";

/**
 * The choice a model-running command (chat, generate, serve) loads `modelPath` with: on the wasm
 * backend, a Hugging Face checkpoint (a directory: bf16/f16/f32 weights) without `--dtype` runs as
 * q8_0 through the quantized-weights cache — decode reads half the bytes of bf16 for a top-1
 * agreement and perplexity within the README's measured bounds; `--dtype keep` runs its own types. A
 * GGUF file runs its own types (its quant is the user's choice). `log` hears one line when the
 * default applies.
 *
 * @example
 * withDefaultDtype(parseBackendFlags({}), "/models/Qwen3-0.6B").dtype; // "q8_0"
 */
export function withDefaultDtype(choice: BackendChoice, modelPath: string, log: (line: string) => void = stderrLine): BackendChoice {
  if (choice.kind !== "wasm" || choice.dtype !== undefined || choice.keepTypes === true) return choice;
  if (!statSync(modelPath).isDirectory()) return choice;
  log(`${DEFAULT_FLOAT_DTYPE} on load (the default for float checkpoints; --dtype keep runs the checkpoint's own types)`);
  return { ...choice, dtype: DEFAULT_FLOAT_DTYPE };
}

/**
 * The load options the compute flags set: `--ctx`, and `--dtype` through the quantized-weights
 * cache (`log` hears a line when an entry is made or the cache cannot be used; default stderr).
 *
 * @example
 * const model = await source.loadModel({ backend, onProgress, ...loadOptionsOf(choice) });
 */
export function loadOptionsOf(choice: BackendChoice, log: (line: string) => void = stderrLine): { contextLength?: number; quantize?: QuantizeOnLoad } {
  return {
    ...(choice.ctx === undefined ? {} : { contextLength: choice.ctx }),
    ...(choice.dtype === undefined ? {} : { quantize: { dtype: choice.dtype, cache: choice.noQuantCache !== true, threads: choice.threads, log } }),
  };
}

/** A line on stderr, erasing a progress line being drawn there first. */
function stderrLine(line: string): void {
  process.stderr.write(`${process.stderr.isTTY === true ? "\r\x1b[2K" : ""}${line}\n`);
}

/** What the start-up line says about a backend beyond its name: the GPU, and why `auto` chose it. */
const details = new WeakMap<KernelBackend, string>();

/** The note `createBackend` left for `backend` (e.g. the adapter, or why auto fell back to wasm). */
export function backendDetail(backend: KernelBackend): string | undefined {
  return details.get(backend);
}

/** Create the backend the flags chose. `gpu` gives the WebGPU entry point (default: Node's `webgpu` package). */
export async function createBackend(choice: BackendChoice, gpu: () => Promise<Pick<GPU, "requestAdapter">> = nodeGpu): Promise<KernelBackend> {
  const kv = choice.kv === undefined ? {} : { kv: choice.kv };
  const wasm = (): Promise<KernelBackend> => createWasmBackend({ threads: choice.threads, ...(choice.dtype === undefined ? {} : { dtype: choice.dtype }), ...kv });
  switch (choice.kind) {
    case "ref":
      return createRefBackend();
    case "wasm":
      return wasm();
    case "webgpu": {
      const be = await createWebGpuBackend({ gpu: await gpu(), ...kv });
      details.set(be, be.adapter);
      return be;
    }
    case "auto": {
      let reason: string;
      try {
        const be = await createWebGpuBackend({ gpu: await gpu(), ...kv });
        details.set(be, `auto: ${be.adapter}`);
        return be;
      } catch (e) {
        if (!(e instanceof QwenrtError)) throw e;
        reason = errorMessage(e);
      }
      const be = await wasm();
      details.set(be, `auto: ${reason}`);
      return be;
    }
  }
}
