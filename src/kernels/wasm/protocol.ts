/**
 * What the main thread and the pool workers share: the job block layout in wasm memory (read by
 * `assembly/index.ts`'s `run`) and the setup messages, a discriminated union.
 */
import type { MessagePort } from "node:worker_threads";
import { wasmApi, type WasmGlobal, type WasmMemory, type WasmModule } from "./wasm_api.js";

/** Tags of the job counter (12 bits): workers run jobs tagged `generation % TAG_COUNT`; TAG_MAIN marks a
 * job only the main thread runs, TAG_INVALID one being rewritten. */
export const TAG_COUNT = 4094;
export const TAG_MAIN = 4094;
export const TAG_INVALID = 4095;

/** The tag of jobs published under generation `gen` (an int32 that may wrap). */
export function tagOf(gen: number): number {
  return (gen >>> 0) % TAG_COUNT;
}

/** Byte offsets inside the job block (all i32/u32/f32 slots). */
export const JOB = {
  generation: 0, // bumped once per job; workers wait on it
  done: 4, // chunks of the current job finished
  quit: 8, // non-zero: workers exit
  counter: 12, // tag << 20 | next chunk to claim (see assembly/index.ts `run`)
  kernel: 16,
  chunk: 20, // items per chunk
  total: 24, // items in the job
  error: 28, // non-zero: a worker threw (its message went to the console)
  args: 32, // 16 argument slots
  bank: 96, // home bank's block only: the bank whose job block holds the job of `generation`
  bytes: 128,
} as const;

/** The kernel module's exports, as every thread sees them. */
export interface KernelExports {
  readonly run: (job: number, tag: number, tid: number) => void;
  readonly heapBase: () => number;
  readonly quantizeQ8: (x: number, xq: number, xq8: number, il: number /* 1: xq8 in Q4_0_IL order, 2: xq in Q8_0_IL order */, xd: number, xs: number, n: number, cols: number, block: number) => void;
  readonly blockSums: (xq: number, out: number, count: number, group: number) => void;
  /** src [rows, kvHeads, hd] f32 → dst [kvHeads, capacity, hd] halves at positions start.. (assembly/half.ts). */
  readonly writeKvF16: (src: number, dst: number, rows: number, kvHeads: number, hd: number, capacity: number, start: number) => void;
  /** out[i] = a[i] + b[i] for i < length, on the calling thread (assembly/ops.ts). */
  readonly addF32: (a: number, b: number, out: number, length: number) => void;
  readonly K_MATMUL_FLOAT: WasmGlobal;
  readonly K_MATMUL_Q: WasmGlobal;
  readonly K_MATMUL_K: WasmGlobal;
  readonly K_RMSNORM: WasmGlobal;
  readonly K_ROPE: WasmGlobal;
  readonly K_SILUMUL: WasmGlobal;
  readonly K_ATTENTION: WasmGlobal;
  readonly K_MATMUL_MULTI: WasmGlobal;
  readonly K_QUANTIZE: WasmGlobal;
  readonly K_ADD: WasmGlobal;
  readonly K_QUANTIZE_ROWS: WasmGlobal;
  /** Scratch bytes per thread of a K_QUANTIZE_ROWS job (assembly/quantize.ts). */
  readonly QUANT_SCRATCH: WasmGlobal;
  /** K_QUANTIZE_ROWS target type ids (assembly/quantize.ts). */
  readonly QT_Q8_0: WasmGlobal;
  readonly QT_Q4_0: WasmGlobal;
  readonly QT_Q4_K: WasmGlobal;
  readonly QT_Q6_K: WasmGlobal;
  readonly QT_F32: WasmGlobal;
  /** Random rows generated and encoded in place (assembly/synth.ts). */
  readonly K_SYNTH_ROWS: WasmGlobal;
  /** Decode MoE: every routed expert's gate/up, then every down projection, one job each (assembly/moe.ts). */
  readonly K_MOE_GATE_UP: WasmGlobal;
  readonly K_MOE_DOWN: WasmGlobal;
  /** Gated DeltaNet kernels (assembly/deltanet.ts). */
  readonly K_CONV_SILU: WasmGlobal;
  readonly K_L2NORM: WasmGlobal;
  readonly K_DELTA_RULE: WasmGlobal;
  readonly K_SIGMOID_MUL: WasmGlobal;
  /** Load-time repack of staged ggml rows into a matrix's layout, and its layout ids (assembly/repack.ts). */
  readonly K_REPACK: WasmGlobal;
  readonly RP_Q8_0: WasmGlobal;
  readonly RP_Q4_0: WasmGlobal;
  readonly RP_Q8_0_IL: WasmGlobal;
  readonly RP_Q4_0_IL: WasmGlobal;
  readonly RP_Q4_K: WasmGlobal;
  readonly RP_Q4_K_SB: WasmGlobal;
  readonly RP_Q6_K: WasmGlobal;
  readonly RP_Q6_K_SB: WasmGlobal;
  readonly RP_Q8_0_ILD: WasmGlobal;
}

/** The number an exported constant of the kernel module holds (a kernel or type id, a size). */
export function globalValue(g: WasmGlobal): number {
  return Number(g.value);
}

/** Ids of the kernels `run` executes (assembly/index.ts K_*). */
export function kernelIds(k: KernelExports) {
  const id = globalValue;
  return {
    matmulFloat: id(k.K_MATMUL_FLOAT), matmulQ: id(k.K_MATMUL_Q), matmulK: id(k.K_MATMUL_K), matmulMulti: id(k.K_MATMUL_MULTI),
    rmsNorm: id(k.K_RMSNORM), rope: id(k.K_ROPE), siluMul: id(k.K_SILUMUL), attention: id(k.K_ATTENTION), quantize: id(k.K_QUANTIZE), add: id(k.K_ADD),
    quantizeRows: id(k.K_QUANTIZE_ROWS), moeGateUp: id(k.K_MOE_GATE_UP), moeDown: id(k.K_MOE_DOWN),
    convSilu: id(k.K_CONV_SILU), l2Norm: id(k.K_L2NORM), deltaRule: id(k.K_DELTA_RULE), sigmoidMul: id(k.K_SIGMOID_MUL), repack: id(k.K_REPACK),
  } as const;
}
export type KernelIds = ReturnType<typeof kernelIds>;

/** The compiled kernel module and the run-time features every instance of it gets (the same on
 * every thread): `dotAdd`, assembly/features.ts (module.ts dotAddAvailable decides it). */
export interface KernelModule {
  readonly module: WasmModule;
  readonly dotAdd: boolean;
}

/** A memory bank as a worker instantiates the kernel module on it. */
export interface BankInit {
  readonly memory: WasmMemory;
  readonly job: number; // byte offset of the bank's job block
}

/** Main → worker, as `workerData`. Bank 0 (the home bank) also holds the pool's control slots
 * (generation, quit, error, bank) in its job block. */
export interface WorkerInit {
  readonly kind: "init";
  readonly module: KernelModule;
  readonly banks: readonly BankInit[]; // by bank index
  readonly tid: number; // 1 .. threads - 1 (the main thread is 0)
  readonly spin: number; // polls of the generation before Atomics.wait
  /** Banks added later arrive here (`BankAdded`), posted before any of their jobs: the worker takes
   * them with a synchronous receive when it meets a job of a bank it does not know, and answers each
   * with a `bank` reply on the same port. */
  readonly port: MessagePort;
}

/** Main → worker on `WorkerInit.port` when a bank is added: instantiate the kernels on it. */
export interface BankAdded extends BankInit {
  readonly kind: "bank";
  readonly index: number;
}

/** Worker → main: once at setup (`ready` or `error`) on the worker's parent port; then `bank` on
 * `WorkerInit.port` for each bank it instantiated later. */
export type WorkerReply =
  | { readonly kind: "ready"; readonly tid: number }
  | { readonly kind: "error"; readonly tid: number; readonly message: string }
  | { readonly kind: "bank"; readonly tid: number; readonly index: number };

/** Instantiate the kernel module on `memory` (main thread and workers alike). */
export function instantiateKernels(module: KernelModule, memory: WasmMemory): KernelExports {
  const instance = new wasmApi.Instance(module.module, { env: { memory } });
  const e = instance.exports;
  for (const name of ["run", "heapBase", "quantizeQ8", "blockSums", "writeKvF16", "addF32", "setDotAdd"]) {
    if (typeof e[name] !== "function") throw new Error(`kernel module lacks export ${name}`);
  }
  (e.setDotAdd as (on: number) => void)(module.dotAdd ? 1 : 0);
  return e as unknown as KernelExports; // checked above; WebAssembly.Exports is untyped
}
