/** The cache slot of an attention layer: keys and values of every cached position, head-major. */
import { kvElementBytes } from "../kernels/kv.js";
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
