/** KV cache helpers every backend shares: the float32 row scatter and the byte size of an element. */
import { QwenrtError } from "../util/errors.js";
import type { KvBuffer, KvType } from "./types.js";

/** Bytes one cached value takes. */
export function kvElementBytes(type: KvType): number {
  return type === "f16" ? 2 : 4;
}

/** `KernelBackend.writeKv` for a float32 cache: one copy per (row, head), no conversion. */
export function writeKvF32(src: Float32Array, rows: number, kvHeads: number, headDim: number, dst: Float32Array, capacity: number, start: number): void {
  checkKvWrite(src, rows, kvHeads, headDim, dst, capacity, start);
  const w = kvHeads * headDim;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < kvHeads; h++) {
      const from = r * w + h * headDim;
      dst.set(src.subarray(from, from + headDim), (h * capacity + start + r) * headDim);
    }
  }
}

/** Validate a `writeKv` call's lengths (the scatter must not run past either buffer). */
export function checkKvWrite(src: Float32Array, rows: number, kvHeads: number, headDim: number, dst: KvBuffer, capacity: number, start: number): void {
  if (start < 0 || start + rows > capacity) throw new QwenrtError("writeKv", `positions ${start}..${start + rows - 1} do not fit a capacity of ${capacity}`);
  if (src.length < rows * kvHeads * headDim) throw new QwenrtError("writeKv", `src needs ${rows * kvHeads * headDim} values, got ${src.length}`);
  if (dst.length < kvHeads * capacity * headDim) throw new QwenrtError("writeKv", `dst needs ${kvHeads * capacity * headDim} values, got ${dst.length}`);
}

/** The buffer as float32, or a typed error naming `what` (the ref backend holds only float32 caches). */
export function f32Cache(what: string, buf: KvBuffer): Float32Array {
  if (!(buf instanceof Float32Array)) throw new QwenrtError(what, "this backend's KV cache is float32; got an f16 (Uint16Array) buffer");
  return buf;
}
