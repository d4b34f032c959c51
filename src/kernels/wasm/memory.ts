/**
 * The wasm heap: one shared `WebAssembly.Memory` (wasm32, so at most 4 GiB) and a bump allocator
 * over it. Weights, activations and scratch all live here, so kernels take raw byte offsets and
 * activations handed out by `f32()` need no copies. Nothing is freed before the backend goes away.
 */
import { QwenrtError } from "../../util/errors.js";
import type { WasmMemory } from "./wasm_api.js";

const PAGE = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;

export class WasmHeap {
  readonly memory: WasmMemory;
  private top: number;
  // Every SharedArrayBuffer the memory has exposed (a new one after each grow); views over any of
  // them address the same bytes from offset 0.
  private readonly buffers = new Set<ArrayBufferLike>();

  /** `base`: first byte the allocator may use (above the module's static data). */
  constructor(memory: WasmMemory, base: number) {
    this.memory = memory;
    this.top = base;
    this.buffers.add(memory.buffer);
  }

  /** Bytes handed out so far (including the module's static data). */
  get used(): number {
    return this.top;
  }

  /** Reserve `bytes` (aligned to `align`, a power of two), growing the memory as needed. */
  alloc(bytes: number, align = 64): number {
    const start = Math.ceil(this.top / align) * align; // not `&`: addresses reach 2^32
    const end = start + Math.max(bytes, 0);
    if (end > MAX_PAGES * PAGE) {
      throw new QwenrtError(
        "wasm backend",
        `out of memory: needs ${fmt(end)} but wasm32 memory is limited to 4 GiB (use a smaller model or a smaller dtype, e.g. { dtype: "q4_0" })`,
        { code: "out_of_memory" },
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch (e) {
        throw new QwenrtError("wasm backend", `could not grow wasm memory to ${fmt(end)}`, { code: "out_of_memory", cause: e });
      }
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    return start;
  }

  /** A float32 view of `length` values at byte offset `ptr`. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** A byte view of `length` bytes at `ptr`. */
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  /** Whether `view` lies in this memory (then its byte offset is its wasm address). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }
}

function fmt(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
