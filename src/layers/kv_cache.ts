/** The cache slot of an attention layer: keys and values of every cached position, head-major. */
import { f16ToF32, f32ToF16 } from "../formats/quant/float.js";
import { kvElementBytes } from "../kernels/kv.js";
import { QwenrtError } from "../util/errors.js";
import type { KernelBackend, KvBuffer } from "../kernels/types.js";
import type { CacheSlot } from "./context.js";

/** One attention layer's KV cache in one sequence. It grows (doubling) as positions are added. */
export class KvSlot implements CacheSlot {
  /** Positions each buffer holds. */
  capacity: number;
  keys: KvBuffer; // [kvHeads, capacity, headDim] of the backend's kvType
  values: KvBuffer; // [kvHeads, capacity, headDim]
  private released = false;

  constructor(
    private readonly backend: KernelBackend,
    readonly kvHeads: number,
    readonly headDim: number,
    capacity: number,
  ) {
    this.capacity = capacity;
    this.keys = backend.allocKv(kvHeads * capacity * headDim);
    this.values = backend.allocKv(kvHeads * capacity * headDim);
  }

  /** Bytes one position takes in a layer's cache (keys and values). */
  static bytesPerToken(backend: KernelBackend, kvHeads: number, headDim: number): number {
    return 2 * kvHeads * headDim * kvElementBytes(backend.kvType);
  }

  reserve(need: number, used: number): void {
    this.live();
    if (need <= this.capacity) return;
    const capacity = Math.max(need, this.capacity * 2);
    const grow = (old: KvBuffer): KvBuffer => {
      const b = this.backend.allocKv(this.kvHeads * capacity * this.headDim);
      this.copyHeads(old, this.capacity, b, capacity, used);
      this.backend.freeKv(old);
      return b;
    };
    this.keys = grow(this.keys);
    this.values = grow(this.values);
    this.capacity = capacity;
  }

  fork(used: number): KvSlot {
    this.live();
    const copy = new KvSlot(this.backend, this.kvHeads, this.headDim, Math.max(this.capacity, 1));
    this.copyHeads(this.keys, this.capacity, copy.keys, copy.capacity, used);
    this.copyHeads(this.values, this.capacity, copy.values, copy.capacity, used);
    return copy;
  }

  truncate(): void {
    // Positions past the sequence's length are simply overwritten later.
  }

  restorable(len: number): number {
    return len; // every cached position stays addressable
  }

  checkpoint(): void {
    // A KV cache can go back to any length without snapshots.
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.backend.freeKv(this.keys);
    this.backend.freeKv(this.values);
    this.capacity = 0;
  }

  /**
   * Keys then values of positions `0 .. used - 1` as IEEE half bits, `[2, kvHeads, used, headDim]`
   * (little-endian); a float32 cache is rounded to nearest even. Host backends only (their
   * `KvBuffer`s are typed arrays, per the kernel contract).
   */
  save(used: number): Uint8Array {
    this.live();
    const hd = this.headDim;
    const n = this.kvHeads * used * hd;
    const out = new Uint16Array(2 * n);
    [this.keys, this.values].forEach((buf, j) => {
      const src = hostKv(buf);
      for (let h = 0; h < this.kvHeads; h++) {
        const from = h * this.capacity * hd;
        const to = j * n + h * used * hd;
        if (src instanceof Uint16Array) out.set(src.subarray(from, from + used * hd), to);
        else for (let i = 0; i < used * hd; i++) out[to + i] = f32ToF16(src[from + i]!);
      }
    });
    return new Uint8Array(out.buffer);
  }

  /** Positions `0 .. used - 1` from `save`'s bytes (checked against this slot's shape). */
  load(bytes: Uint8Array, used: number): void {
    const hd = this.headDim;
    const n = this.kvHeads * used * hd;
    if (bytes.byteLength !== 4 * n) throw new QwenrtError("KV snapshot", `a layer holds ${bytes.byteLength} bytes; ${used} positions of this model take ${4 * n}`);
    this.reserve(used, 0);
    // An aligned copy (a Node Buffer's `slice` would be a view of its whole pool).
    const half = new Uint16Array(bytes.byteLength / 2);
    new Uint8Array(half.buffer).set(bytes);
    [this.keys, this.values].forEach((buf, j) => {
      const dst = hostKv(buf);
      for (let h = 0; h < this.kvHeads; h++) {
        const from = j * n + h * used * hd;
        const to = h * this.capacity * hd;
        if (dst instanceof Uint16Array) dst.set(half.subarray(from, from + used * hd), to);
        else for (let i = 0; i < used * hd; i++) dst[to + i] = f16ToF32(half[from + i]!);
      }
    });
  }

  private live(): void {
    if (this.released) throw new Error("internal: KV cache slot used after release");
  }

  /** Copy positions `0 .. used - 1` of each head between buffers of capacities `fromCap`, `toCap`. */
  private copyHeads(from: KvBuffer, fromCap: number, to: KvBuffer, toCap: number, used: number): void {
    if (used === 0) return;
    const hd = this.headDim;
    for (let h = 0; h < this.kvHeads; h++) this.backend.copyKv(from, h * fromCap * hd, to, h * toCap * hd, used * hd);
  }
}

/** A host backend's cache buffer (`Float32Array`, or `Uint16Array` of half bits). */
function hostKv(buf: KvBuffer): Float32Array | Uint16Array {
  if (buf instanceof Float32Array || buf instanceof Uint16Array) return buf;
  throw new QwenrtError("KV snapshot", "this backend's KV cache is not in host memory; snapshots need a host backend (ref, wasm)");
}
