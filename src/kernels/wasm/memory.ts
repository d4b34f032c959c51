/**
 * The wasm heap: one shared `WebAssembly.Memory` (wasm32, so at most 4 GiB) and a first-fit
 * allocator over it with an address-ordered free list that coalesces neighbours. Weights,
 * activations, KV caches and scratch all live here, so kernels take raw byte offsets and activations
 * handed out by `f32()` need no copies. Freed blocks are reused; a free block that reaches the top
 * lowers the top again (wasm memory itself never shrinks, but it stops growing).
 */
import { QwenrtError } from "../../util/errors.js";
import type { WasmMemory } from "./wasm_api.js";

const PAGE = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;

/** A free byte range `[start, start + size)`. */
interface Span {
  start: number;
  size: number;
}

export class WasmHeap {
  readonly memory: WasmMemory;
  private top: number;
  private readonly base: number;
  private readonly free: Span[] = []; // address-ordered, never adjacent (coalesced), all below `top`
  private freeBytes = 0;
  private readonly live = new Map<number, number>(); // start → size of every live block
  // Every SharedArrayBuffer object the memory has exposed; views over any of them address the same
  // bytes from offset 0. V8 hands out a new object after a grow — also after a grow of *another*
  // shared memory in the process — so each view this heap makes records its buffer.
  private readonly buffers = new Set<ArrayBufferLike>();

  /** `base`: first byte the allocator may use (above the module's static data). */
  constructor(memory: WasmMemory, base: number) {
    this.memory = memory;
    this.top = base;
    this.base = base;
    this.buffers.add(memory.buffer);
  }

  /** Bytes in live blocks plus the module's static data (excludes freed blocks). */
  get used(): number {
    return this.top - this.freeBytes;
  }

  /** The high-water mark: the first byte never handed out (the heap's footprint). */
  get end(): number {
    return this.top;
  }

  /** Live blocks (for tests and diagnostics). */
  get blocks(): number {
    return this.live.size;
  }

  /** Reserve `bytes` (aligned to `align`, a power of two): the first free block that fits, else the
   * top, growing the memory as needed. */
  alloc(bytes: number, align = 64): number {
    const size = Math.max(Math.ceil(bytes), 1);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      const start = Math.ceil(f.start / align) * align; // not `&`: addresses reach 2^32
      const end = start + size;
      if (end > f.start + f.size) continue;
      // Split: keep the alignment gap before and the remainder after as free spans.
      const after: Span = { start: end, size: f.start + f.size - end };
      const parts: Span[] = [];
      if (start > f.start) parts.push({ start: f.start, size: start - f.start });
      if (after.size > 0) parts.push(after);
      this.free.splice(i, 1, ...parts);
      this.freeBytes -= size;
      this.live.set(start, size);
      return start;
    }
    const start = Math.ceil(this.top / align) * align;
    const end = start + size;
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
    if (start > this.top) this.insertFree(this.top, start - this.top); // the alignment gap stays usable
    this.top = end;
    this.live.set(start, size);
    return start;
  }

  /** Return the block that `alloc` handed out at `ptr`. Throws on an address it did not hand out
   * (or one already freed). */
  release(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new QwenrtError("wasm backend", `free of ${ptr}, which is not a live allocation (double free, or a view into a buffer?)`);
    this.live.delete(ptr);
    this.insertFree(ptr, size);
  }

  /** A float32 view of `length` values at byte offset `ptr`. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.current(), ptr, length);
  }

  /** A 16-bit view of `length` values at byte offset `ptr` (the f16 KV cache's half bit patterns). */
  u16(ptr: number, length: number): Uint16Array {
    return new Uint16Array(this.current(), ptr, length);
  }

  /** A byte view of `length` bytes at `ptr`. */
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.current(), ptr, length);
  }

  /** Whether `view` lies in this memory (then its byte offset is its wasm address). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  private current(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** Add `[start, start + size)` to the free list, merging with neighbours and the top. */
  private insertFree(start: number, size: number): void {
    const fl = this.free;
    let lo = 0, hi = fl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fl[mid]!.start < start) lo = mid + 1;
      else hi = mid;
    }
    this.freeBytes += size;
    let span: Span = { start, size };
    const prev = lo > 0 ? fl[lo - 1]! : undefined;
    if (prev !== undefined && prev.start + prev.size === start) {
      prev.size += size;
      span = prev;
      lo--;
    } else {
      fl.splice(lo, 0, span);
    }
    const next = fl[lo + 1];
    if (next !== undefined && span.start + span.size === next.start) {
      span.size += next.size;
      fl.splice(lo + 1, 1);
    }
    if (span.start + span.size === this.top && span.start >= this.base) {
      // The last free span touches the top: give it back to the bump region.
      fl.splice(lo, 1);
      this.freeBytes -= span.size;
      this.top = span.start;
    }
  }
}

function fmt(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
