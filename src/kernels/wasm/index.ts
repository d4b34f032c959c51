/**
 * The `wasm` kernel backend: AssemblyScript SIMD kernels on shared WebAssembly memory banks, run by
 * a persistent worker pool. Build the kernels first (`npm run build:wasm`, part of `build`/`prepare`).
 */
import { availableParallelism } from "node:os";
import { QwenrtError } from "../../util/errors.js";
import type { HostKernelBackend, KvType } from "../types.js";
import { WasmBackend, type WasmDtype } from "./backend.js";
import { Banks, DEFAULT_BANK_BYTES } from "./bank.js";
import { MAX_PAGES, WasmHeap } from "./memory.js";
import { loadKernelModule } from "./module.js";
import { Pool } from "./pool.js";
import { JOB, instantiateKernels, kernelIds } from "./protocol.js";
import { wasmApi } from "./wasm_api.js";

export type { KvType, WasmDtype };
export { WasmBackend, type BankInfo, type MatrixPlacement } from "./backend.js";
export { DEFAULT_BANK_BYTES };

/** Environment variable that sets the default `bankBytes` (bytes, or with a K, M or G suffix): CI
 * runs the whole suite on small banks with it. */
export const BANK_BYTES_ENV = "QWENRT_WASM_BANK_BYTES";

const MIN_BANK_BYTES = 64 << 10;
const MAX_BANK_BYTES = 4 * 2 ** 30 - (256 << 20); // leave room for staging scratch in every bank

/** `16M`, `65536`, `2G` → bytes; undefined when `s` is not such a size. */
export function parseByteSize(s: string): number | undefined {
  const m = /^\s*(\d+)\s*([kmg]?)i?b?\s*$/i.exec(s);
  if (m === null) return undefined;
  return Number(m[1]) * 1024 ** " kmg".indexOf((m[2] || " ").toLowerCase());
}

function defaultBankBytes(): number {
  const env = typeof process === "undefined" ? undefined : process.env?.[BANK_BYTES_ENV];
  if (env === undefined || env === "") return DEFAULT_BANK_BYTES;
  const n = parseByteSize(env);
  if (n === undefined) throw new QwenrtError(BANK_BYTES_ENV, `must be a size in bytes (e.g. 16M), got ${JSON.stringify(env)}`);
  return n;
}

/** Options of {@link createWasmBackend}. */
export interface WasmBackendOptions {
  /** Threads including the calling one (default `os.availableParallelism()`). */
  readonly threads?: number;
  /** Quantize f32/f16/bf16 matrices to this type on load (matrices whose `cols` is not a multiple
   * of the type's block size keep their float type). */
  readonly dtype?: WasmDtype;
  /** KV cache element type: `"f16"` (default; half the memory and attention reads, as llama.cpp's
   * default `-ctk f16 -ctv f16`) or `"f32"`. */
  readonly kv?: KvType;
  /** Relaxed SIMD (fused multiply-add): `"auto"` (default) where the runtime supports it. */
  readonly relaxed?: boolean | "auto";
  /** Q8_0's matmul by the relaxed i8 dot-add (x86 VNNI; bit-identical results): `"auto"` (default)
   * where module.ts dotAddAvailable finds it exact on this machine, `false` never (as does
   * `QWENRT_WASM_DOT_ADD=0`), `true` or an error. */
  readonly dotAdd?: boolean | "auto";
  /** Hears one line per weight type converted on load for want of a kernel (q4_1, q5_1, q2_k → q8_0;
   * q3_k → q6_k). Default: standard error. */
  readonly log?: (line: string) => void;
  /** Bytes of weights (or of KV caches) per memory bank: each bank is a wasm32 memory of at most
   * 4 GiB, the rest of it being staging scratch. Default 3 GiB, or `QWENRT_WASM_BANK_BYTES`; tests
   * force small banks so that small models span several. */
  readonly bankBytes?: number;
}

/**
 * Create the wasm backend. Call `dispose()` to stop its threads (they never keep the process alive).
 *
 * @example
 * const be = await createWasmBackend({ threads: 2, dtype: "q8_0", kv: "f16" });
 * const w = be.loadMatrix({ type: "bf16", rows: 1024, cols: 1024, bytes });
 * be.matmul(w, x, 1, y);
 * be.dispose();
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<HostKernelBackend> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new QwenrtError("threads", `must be an integer in 1..256, got ${threads}`);
  }
  if (options.dtype !== undefined && !["q8_0", "q4_0", "q4_k"].includes(options.dtype)) {
    throw new QwenrtError("dtype", `must be "q8_0", "q4_0" or "q4_k", got ${JSON.stringify(options.dtype)}`);
  }
  const bankBytes = options.bankBytes ?? defaultBankBytes();
  if (!Number.isInteger(bankBytes) || bankBytes < MIN_BANK_BYTES || bankBytes > MAX_BANK_BYTES) {
    throw new QwenrtError("bankBytes", `must be an integer from ${MIN_BANK_BYTES} (64 KiB) to ${MAX_BANK_BYTES} (4 GiB - 256 MiB), got ${bankBytes}`);
  }
  const kv = options.kv ?? "f16";
  if (kv !== "f16" && kv !== "f32") throw new QwenrtError("kv", `must be "f16" or "f32", got ${JSON.stringify(kv)}`);
  const loaded = await loadKernelModule(options.relaxed ?? "auto");
  const relaxed = loaded.relaxed;
  if (options.dotAdd === true && !loaded.dotAdd) {
    throw new QwenrtError("dotAdd", "the relaxed i8 dot-add is not exact on this runtime and CPU (see module.ts dotAddAvailable)", { code: "unsupported" });
  }
  const module = { module: loaded.module, dotAdd: loaded.dotAdd && options.dotAdd !== false };
  const memory = new wasmApi.Memory({ initial: 32, maximum: MAX_PAGES, shared: true });
  const kernels = instantiateKernels(module, memory);
  const heap = new WasmHeap(memory, kernels.heapBase());
  const job = heap.alloc(JOB.bytes, 64);
  const pool = await Pool.create(module, memory, kernels, job, threads);
  const banks = new Banks(module, pool, kernelIds(kernels), relaxed, bankBytes, { heap, kernels });
  const log = options.log ?? ((line: string): void => void process.stderr.write(`${line}\n`));
  return new WasmBackend(banks, pool, options.dtype, relaxed, log, kv, module.dotAdd);
}
