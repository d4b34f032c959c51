/**
 * Staging between the caller's arrays and wasm memory. Kernels take byte offsets into the one wasm
 * memory: a tensor from `allocF32` (or a view of one) is passed as its own offset; any other host
 * array is copied into a named scratch slot first (and results copied back out). Scratch slots are
 * grow-only and reused across calls, so a step allocates nothing once warm.
 */
import type { WasmHeap } from "./memory.js";

export class Staging {
  private readonly slots = new Map<string, { ptr: number; bytes: number }>();

  constructor(private readonly heap: WasmHeap) {}

  /** A scratch area for slot `name` of at least `bytes`, reused across calls (grown by reallocation). */
  tmp(name: string, bytes: number): number {
    const s = this.slots.get(name);
    if (s !== undefined && s.bytes >= bytes) return s.ptr;
    const size = Math.max(bytes, 2 * (s?.bytes ?? 0), 256);
    if (s !== undefined) this.heap.release(s.ptr);
    const ptr = this.heap.alloc(size);
    this.slots.set(name, { ptr, bytes: size });
    return ptr;
  }

  /** A scratch float32 view of `len` values for slot `name`. */
  tmpF32(name: string, len: number): Float32Array {
    return this.heap.f32(this.tmp(name, len * 4), len);
  }

  /** A u32 view of `len` values at byte offset `ptr` (job tables). */
  u32(ptr: number, len: number): Uint32Array {
    return new Uint32Array(this.heap.u8(ptr, len * 4).buffer, ptr, len);
  }

  /** Address of `a[0..len)`: itself when in wasm memory, else a scratch copy. */
  input(name: string, a: Float32Array | Uint16Array, len: number): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const bytes = len * a.BYTES_PER_ELEMENT;
    const p = this.tmp(`in:${name}`, bytes);
    this.heap.u8(p, bytes).set(new Uint8Array(a.buffer, a.byteOffset, bytes));
    return p;
  }

  /** Address to write `a[0..len)` at: itself when in wasm memory, else scratch (copied in when `inPlace`). */
  output(name: string, a: Float32Array, len: number, inPlace = false): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const p = this.tmp(`out:${name}`, len * 4);
    if (inPlace) this.heap.f32(p, len).set(a.subarray(0, len));
    return p;
  }

  /** After a kernel wrote `len` values at `p` (from `output`): copy them to `a` unless `a` is in wasm memory. */
  copyOut(a: Float32Array, p: number, len: number): void {
    if (!this.heap.owns(a)) a.set(this.heap.f32(p, len));
  }
}
