/**
 * What the host backends (`ref`, `wasm`) share about their memory: tensors are `Float32Array`s and
 * KV caches `Float32Array`s or `Uint16Array`s of half bits, so views, reads, writes and copies are
 * typed-array operations. Each check names the argument at fault.
 */
import { QwenrtError } from "../util/errors.js";
import type { KvBuffer, Tensor } from "./types.js";

/** `t` as the `Float32Array` a host backend's tensor is, or a typed error naming `what`. */
export function hostF32(t: Tensor, what: string): Float32Array {
  if (!(t instanceof Float32Array)) throw new QwenrtError(what, "expected a Float32Array tensor (this backend's tensors live in host memory)");
  return t;
}

/** `hostF32` of an argument that must hold at least `length` values. */
export function hostArg(t: Tensor, what: string, length: number): Float32Array {
  const a = hostF32(t, what);
  need(what, a, length);
  return a;
}

/** A KV cache buffer of a host backend: float32 values or half bits. */
export function hostKv(buf: KvBuffer, what: string): Float32Array | Uint16Array {
  if (!(buf instanceof Float32Array) && !(buf instanceof Uint16Array)) throw new QwenrtError(what, "expected a KV cache buffer from allocKv (Float32Array or Uint16Array)");
  return buf;
}

/** Throw unless `t` holds at least `length` values. */
export function need(what: string, t: { readonly length: number }, length: number): void {
  if (t.length < length) throw new QwenrtError(what, `needs at least ${length} values, got ${t.length}`);
}

/** Throw unless `offset .. offset + length - 1` lies inside `0 .. size - 1` (integers, length ≥ 0). */
export function checkRange(what: string, offset: number, length: number, size: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new QwenrtError(what, `range ${offset} + ${length} values does not fit ${size}`);
  }
}

/** `KernelBackend.view` on host memory: a subarray sharing storage (a view of a wasm heap block
 * stays in the heap, so kernels still take it without copies). */
export function hostView(t: Tensor, offset: number, length: number): Float32Array {
  const a = hostF32(t, "view");
  checkRange("view", offset, length, a.length);
  return a.subarray(offset, offset + length);
}

/** `KernelBackend.write` on host memory. */
export function hostWrite(t: Tensor, data: Float32Array, offset = 0): void {
  const a = hostF32(t, "write");
  checkRange("write", offset, data.length, a.length);
  a.set(data, offset);
}

/** `KernelBackend.copyKv` on host memory: one `set` (overlapping ranges of one buffer copy as if
 * through a temporary, as `TypedArray.prototype.set` specifies). */
export function hostCopyKv(src: KvBuffer, srcOffset: number, dst: KvBuffer, dstOffset: number, length: number): void {
  const s = hostKv(src, "copyKv"), d = hostKv(dst, "copyKv");
  if (s.constructor !== d.constructor) throw new QwenrtError("copyKv", "src and dst must have one element type");
  checkRange("copyKv src", srcOffset, length, s.length);
  checkRange("copyKv dst", dstOffset, length, d.length);
  d.set(s.subarray(srcOffset, srcOffset + length), dstOffset);
}

/** `KernelBackend.copy` on host memory. */
export function hostCopy(src: Tensor, dst: Tensor): void {
  const s = hostF32(src, "copy src"), d = hostF32(dst, "copy dst");
  need("copy dst", d, s.length);
  d.set(s);
}

/** `out[i] = a[i] + b[i]` in plain TypeScript (float32 sums: a double sum of two floats rounds to
 * the same float). */
export function addLoop(a: Float32Array, b: Float32Array, out: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) out[i] = a[i]! + b[i]!;
}
