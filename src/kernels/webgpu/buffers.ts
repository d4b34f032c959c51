/**
 * GPU memory for the WebGPU backend: an allocator that carves regions out of large pages (one
 * `GPUBuffer` each, first-fit with coalescing free lists) and gives requests larger than a page a
 * buffer of their own; the backend's tensor, KV and binding types sit on top of it.
 */
import { QwenrtError } from "../../util/errors.js";
import type { KvBuffer, KvType, Tensor } from "../types.js";
import { formatBytes, type GpuDevice } from "./device.js";

/** Bytes every region is aligned to (≥ any adapter's minStorageBufferOffsetAlignment). */
export const REGION_ALIGN = 256;

/** A byte range of one GPU buffer. */
export interface Region {
  readonly buffer: GPUBuffer;
  readonly offset: number; // bytes, a multiple of REGION_ALIGN
  readonly size: number; // bytes, a multiple of REGION_ALIGN
}

interface Span {
  offset: number;
  size: number;
}

interface Page {
  readonly buffer: GPUBuffer;
  readonly size: number;
  readonly free: Span[]; // sorted by offset, coalesced
  /** Bytes below this offset were handed out at some time (so may hold old values). */
  used: number;
}

/** What `Arena.alloc` returns: the region and the part of it that may hold old values. */
export interface Allocation {
  readonly region: Region;
  readonly dirtyBytes: number; // bytes from region.offset that are not known to be zero
}

/**
 * Regions of GPU buffers of one usage. Regions never straddle buffers, so each binds as one range.
 *
 * @example
 * const arena = new Arena(gd, Usage.STORAGE | Usage.COPY_DST, 64 << 20, "weights");
 * const { region } = arena.alloc(4096);
 */
export class Arena {
  private readonly pages: Page[] = [];
  private readonly dedicated = new Set<GPUBuffer>();
  private retired: GPUBuffer[] = [];
  private inUse = 0;

  constructor(
    private readonly gd: GpuDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly pageSize: number,
    private readonly label: string,
  ) {}

  /** Bytes currently handed out. */
  get bytes(): number {
    return this.inUse;
  }

  /** A region of at least `bytes` bytes (rounded up to REGION_ALIGN); `what` names it in errors. */
  alloc(bytes: number, what: string): Allocation {
    const size = Math.max(REGION_ALIGN, Math.ceil(bytes / REGION_ALIGN) * REGION_ALIGN);
    this.inUse += size;
    if (size > this.pageSize) {
      if (size > this.gd.maxBuffer) {
        throw new QwenrtError("webgpu", `${what} needs a buffer of ${formatBytes(size)}, over the adapter's maxBufferSize of ${formatBytes(this.gd.maxBuffer)}`, { code: "out_of_memory" });
      }
      const buffer = this.create(size, what);
      this.dedicated.add(buffer);
      return { region: { buffer, offset: 0, size }, dirtyBytes: 0 };
    }
    for (const page of this.pages) {
      const a = take(page, size);
      if (a !== undefined) return a;
    }
    const page: Page = { buffer: this.create(this.pageSize, `${this.label} (${what})`), size: this.pageSize, free: [{ offset: 0, size: this.pageSize }], used: 0 };
    this.pages.push(page);
    const a = take(page, size);
    if (a === undefined) throw new Error("internal: a fresh page cannot hold a region smaller than itself");
    return a;
  }

  /** Give a region back. A buffer of its own is destroyed after the commands already recorded ran
   * (`flushRetired`, called after each submit). */
  free(region: Region): void {
    this.inUse -= region.size;
    if (this.dedicated.delete(region.buffer)) {
      this.retired.push(region.buffer);
      return;
    }
    const page = this.pages.find((p) => p.buffer === region.buffer);
    if (page === undefined) throw new QwenrtError("webgpu", `a ${this.label} region was freed twice or belongs to another backend`);
    release(page, region.offset, region.size);
  }

  /** Destroy the dedicated buffers freed before the last submit. */
  flushRetired(): void {
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  destroy(): void {
    for (const p of this.pages) p.buffer.destroy();
    for (const b of this.dedicated) b.destroy();
    this.flushRetired();
    this.pages.length = 0;
    this.dedicated.clear();
    this.inUse = 0;
  }

  private create(size: number, what: string): GPUBuffer {
    return this.gd.errors.guardOom(what, size, () => this.gd.device.createBuffer({ size, usage: this.usage, label: `${this.label}: ${what}` }));
  }
}

function take(page: Page, size: number): Allocation | undefined {
  const i = page.free.findIndex((s) => s.size >= size);
  if (i < 0) return undefined;
  const span = page.free[i]!;
  const offset = span.offset;
  if (span.size === size) page.free.splice(i, 1);
  else {
    span.offset += size;
    span.size -= size;
  }
  const dirtyBytes = Math.max(0, Math.min(size, page.used - offset));
  page.used = Math.max(page.used, offset + size);
  return { region: { buffer: page.buffer, offset, size }, dirtyBytes };
}

function release(page: Page, offset: number, size: number): void {
  const free = page.free;
  let i = 0;
  while (i < free.length && free[i]!.offset < offset) i++;
  const prev = free[i - 1];
  const next = free[i];
  if ((prev !== undefined && prev.offset + prev.size > offset) || (next !== undefined && offset + size > next.offset)) {
    throw new QwenrtError("webgpu", "a region was freed twice");
  }
  if (prev !== undefined && prev.offset + prev.size === offset) {
    prev.size += size;
    if (next !== undefined && prev.offset + prev.size === next.offset) {
      prev.size += next.size;
      free.splice(i, 1);
    }
  } else if (next !== undefined && offset + size === next.offset) {
    next.offset = offset;
    next.size += size;
  } else {
    free.splice(i, 0, { offset, size });
  }
}

/** A float32 tensor: `length` values at element `offset` of an allocation (a view when not `owner`). */
export class GpuTensor implements Tensor {
  constructor(
    readonly region: Region,
    readonly offset: number, // elements from region.offset
    readonly length: number,
    readonly owner: boolean, // allocF32 handed it out (freeF32 takes only these)
  ) {}

  /** Byte offset of element 0 in the buffer. */
  get byteStart(): number {
    return this.region.offset + this.offset * 4;
  }
}

/** A KV cache buffer: `length` elements of `type` (f16 as pairs of halves in u32 words). */
export class GpuKv implements KvBuffer {
  constructor(
    readonly region: Region,
    readonly length: number,
    readonly type: KvType,
  ) {}
}

/** One storage binding and the element offset of the data inside it. */
export interface Bound {
  readonly resource: GPUBufferBinding;
  readonly elem: number; // 4-byte words from the binding's start to the first value
}

/**
 * Bind 4-byte values `start .. start + count - 1` (counted in words from `byteStart`) of `buffer`:
 * the binding starts at the aligned offset below and the kernel adds `elem`.
 */
export function bindWords(gd: GpuDevice, buffer: GPUBuffer, byteStart: number, count: number, what: string): Bound {
  const base = Math.floor(byteStart / gd.storageAlign) * gd.storageAlign;
  const size = Math.max(4, byteStart - base + count * 4);
  if (size > gd.maxBinding) {
    throw new QwenrtError("webgpu", `${what} spans ${formatBytes(size)}, over the adapter's maxStorageBufferBindingSize of ${formatBytes(gd.maxBinding)}`, { code: "unsupported" });
  }
  return { resource: { buffer, offset: base, size }, elem: (byteStart - base) / 4 };
}

/** Bind values `from .. from + count - 1` of tensor `t`. */
export function bindTensor(gd: GpuDevice, t: GpuTensor, from: number, count: number, what: string): Bound {
  return bindWords(gd, t.region.buffer, t.byteStart + from * 4, count, what);
}

/** Bind a whole KV buffer (its words: f32 values, or pairs of halves). */
export function bindKv(gd: GpuDevice, kv: GpuKv, what: string): Bound {
  return bindWords(gd, kv.region.buffer, kv.region.offset, kvWords(kv), what);
}

/** 32-bit words a KV buffer occupies. */
function kvWords(kv: GpuKv): number {
  return kv.type === "f16" ? Math.ceil(kv.length / 2) : kv.length;
}

/** A kernel argument that may share an allocation with another argument of the same kernel. */
export interface WordRange {
  readonly region: Region;
  readonly byteStart: number;
  readonly words: number;
  readonly what: string;
}

/** Values `from .. from + count - 1` of tensor `t` as a kernel argument. */
export function tensorRange(t: GpuTensor, from: number, count: number, what: string): WordRange {
  return { region: t.region, byteStart: t.byteStart + from * 4, words: count, what };
}

/**
 * Storage bindings for a kernel's arguments. WebGPU rejects two writable bindings of overlapping
 * ranges in one dispatch, so arguments in one allocation (views of one tensor, an in-place `out`)
 * share one binding: `slots[i]` is argument i's binding, `elems[i]` its word offset inside it, and
 * `key` the sharing pattern (part of the pipeline's cache key, as the shader declares one array per slot).
 */
export interface BindingPlan {
  readonly resources: GPUBufferBinding[];
  readonly slots: number[];
  readonly elems: number[];
  readonly key: string;
}

export function planBindings(gd: GpuDevice, args: readonly WordRange[]): BindingPlan {
  const groups: { region: Region; lo: number; hi: number; what: string }[] = [];
  const slots = args.map((a) => {
    let g = groups.findIndex((x) => x.region.buffer === a.region.buffer && x.region.offset === a.region.offset);
    if (g < 0) {
      g = groups.length;
      groups.push({ region: a.region, lo: a.byteStart, hi: a.byteStart + a.words * 4, what: a.what });
    } else {
      const x = groups[g]!;
      x.lo = Math.min(x.lo, a.byteStart);
      x.hi = Math.max(x.hi, a.byteStart + a.words * 4);
      x.what = `${x.what} and ${a.what}`;
    }
    return g;
  });
  const bound = groups.map((g) => bindWords(gd, g.region.buffer, g.lo, (g.hi - g.lo) / 4, g.what));
  return {
    resources: bound.map((b) => b.resource),
    slots,
    elems: args.map((a, i) => bound[slots[i]!]!.elem + (a.byteStart - groups[slots[i]!]!.lo) / 4),
    key: slots.join(""),
  };
}
