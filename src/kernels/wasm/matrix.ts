/**
 * Weight matrices in wasm memory: what a loaded matrix is (`WasmMatrix`: its stored type, layout and
 * the kernel kind that reads it) and loading one (type checks, conversion on load, repacking).
 */
import { rowBytes } from "../../formats/quant/index.js";
import { QwenrtError } from "../../util/errors.js";
import type { HostMatrix, Matrix, WeightType } from "../types.js";
import { CONVERTED, convertInto, storedType } from "./load_convert.js";
import type { WasmHeap } from "./memory.js";
import type { PoolQuantizer } from "./quantize_rows.js";
import { NATIVE_TYPES, interleaveQ4, interleaveQ8, repackedSize } from "./repack.js";

/** Types `dtype` may convert float weights to on load. */
export type WasmDtype = "q8_0" | "q4_0" | "q4_k";

/** Kernel kind within each family (assembly/matmul_float.ts, matmul_q.ts, matmul_k.ts). */
export const FLOAT_KIND: Partial<Record<WeightType, number>> = { f32: 0, bf16: 1, f16: 2 };
export const Q_KIND: Partial<Record<WeightType, number>> = { q8_0: 0, q4_0: 1, q5_0: 3 };
const Q4_0_IL = 2; // assembly/matmul_q.ts Q_Q4_0_IL
const Q8_0_IL = 4; // assembly/matmul_q.ts Q_Q8_0_IL
export const K_KIND: Partial<Record<WeightType, number>> = { q4_k: 0, q6_k: 1, q5_k: 2 };

/** Kernel families of assembly/multi.ts (matrices of one family share the prepared x). */
export const FAMILY_FLOAT = 0, FAMILY_Q = 1, FAMILY_K = 2;
export function familyOf(t: WeightType): number | undefined {
  if (FLOAT_KIND[t] !== undefined) return FAMILY_FLOAT;
  if (Q_KIND[t] !== undefined) return FAMILY_Q;
  if (K_KIND[t] !== undefined) return FAMILY_K;
  return undefined;
}

/** A weight matrix repacked into wasm memory at `ptr` (see repack.ts). */
export class WasmMatrix implements Matrix {
  constructor(
    readonly owner: WasmHeap, // the heap (so the backend) it lives in
    readonly type: WeightType, // as stored (after any conversion on load)
    readonly rows: number,
    readonly cols: number,
    readonly ptr: number, // byte offset of the repacked data
    readonly scales: number, // byte offset of q8_0 / q4_0 scales (0 for other types)
    readonly bytes: number, // repacked size
    readonly il: boolean, // q4_0 / q8_0 in the interleaved layout
  ) {}

  /** q8_0 in the interleaved layout: reads x as i16 in its own order (quantizeQ8 `il` bit 2). */
  get il8(): boolean {
    return this.il && this.type === "q8_0";
  }

  /** quantizeQ8's `il` bits this matrix needs: 1 = i8 x in Q4_0_IL order, 2 = i16 x in Q8_0_IL order. */
  get ilBits(): number {
    return this.il ? (this.il8 ? 2 : 1) : 0;
  }

  /** Kernel kind within its family (assembly/*.ts). */
  get kind(): number {
    if (this.il) return this.il8 ? Q8_0_IL : Q4_0_IL;
    return FLOAT_KIND[this.type] ?? Q_KIND[this.type] ?? K_KIND[this.type]!;
  }
}

/** What loading needs from the backend: its heap, build and options. */
export interface LoadContext {
  readonly heap: WasmHeap;
  readonly relaxed: boolean;
  readonly dtype: WasmDtype | undefined;
  /** Hears one line per source type converted for want of a kernel. */
  readonly log: (line: string) => void;
  /** Source types whose conversion was logged. */
  readonly announced: Set<WeightType>;
  /** Quantize-on-load (`dtype`) on the worker pool; absent: the reference quantizers. */
  readonly quantizer?: PoolQuantizer;
}

/** Copy `m` into wasm memory in the layout its kernel reads (converting types without a kernel). */
export function loadWasmMatrix(ctx: LoadContext, m: HostMatrix): WasmMatrix {
  const need = m.rows * rowBytes(m.type, m.cols);
  if (m.bytes.byteLength !== need) {
    throw new QwenrtError("weights", `a [${m.rows}, ${m.cols}] ${m.type} matrix needs ${need} bytes, got ${m.bytes.byteLength}`);
  }
  const type = storedType(m.type, m.cols, ctx.dtype);
  if (!NATIVE_TYPES.includes(type)) {
    throw new QwenrtError("weights", `the wasm backend has no kernel for "${type}" (supported: ${NATIVE_TYPES.join(", ")})`, { code: "unsupported" });
  }
  const conv = CONVERTED[m.type];
  if (conv !== undefined && !ctx.announced.has(m.type)) {
    ctx.announced.add(m.type);
    ctx.log(`wasm backend: no ${m.type} kernel; converting ${m.type} matrices to ${conv.to} on load (${conv.exact ? "exact" : "lossy, ~8-bit"})`);
  }
  const { bytes: size, scales } = repackedSize(type, m.rows, m.cols);
  const ptr = ctx.heap.alloc(size);
  const il = (type === "q4_0" && interleaveQ4(ctx.relaxed, m.rows, m.cols)) || (type === "q8_0" && interleaveQ8(m.rows, m.cols));
  // Quantize-on-load and conversions go through a slab-sized scratch, never a whole-matrix copy.
  convertInto(m, type, ctx.heap.u8(ptr, size), il, ctx.quantizer);
  return new WasmMatrix(ctx.heap, type, m.rows, m.cols, ptr, ptr + scales, size, il);
}
