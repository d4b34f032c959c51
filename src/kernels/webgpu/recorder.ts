/**
 * Records every kernel call of a step into one command encoder (one compute pass, closed only for
 * copies and clears) and submits it once, when a host read needs the results. Kernel parameters go
 * to uniform slabs written just before the submit, so recording needs no GPU round trip.
 */
import { Usage, type GpuDevice } from "./device.js";

/** Bytes of one dispatch's parameter slot (every kernel's uniform struct fits). */
const SLOT = 256;
/** Slots per uniform slab. */
const SLOTS = 1024;

/** Kernel parameters: 32-bit words, each a u32 or an f32. */
export type Param = number | { readonly f32: number };

/** A kernel argument: a storage binding. */
export type Binding = GPUBufferBinding;

/** Workgroup counts, or an indirect-dispatch argument buffer and byte offset. */
export type Grid = readonly [number, number, number] | { readonly indirect: GPUBuffer; readonly offset: number };

interface Slab {
  readonly buffer: GPUBuffer;
  readonly words: Uint32Array; // [SLOTS * SLOT / 4] host copy
  readonly floats: Float32Array; // the same memory as float32
}

/**
 * The command recorder of one device.
 *
 * @example
 * rec.dispatch(pipeline, [p, { buffer, offset: 0, size: 64 }], [[16, 1, 1]]);
 * await rec.submit();
 */
export class Recorder {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private readonly slabs: Slab[] = [];
  private slab = 0; // slabs[0 .. slab] are in use by the current encoder
  private slot = 0; // next free slot of slabs[slab]
  private temporaries: GPUBuffer[] = [];
  private readonly afterSubmit: (() => void)[] = [];
  /** Command buffers submitted so far. */
  submissions = 0;

  constructor(private readonly gd: GpuDevice) {}

  /** Whether commands are recorded and not yet submitted. */
  get pending(): boolean {
    return this.encoder !== undefined;
  }

  /** Run `fn` after every submit (arenas destroy buffers freed before it). */
  onSubmit(fn: () => void): void {
    this.afterSubmit.push(fn);
  }

  /** Record one compute dispatch: binding 0 is the uniform `params`, then `bindings` in order. */
  dispatch(pipeline: GPUComputePipeline, params: readonly Param[], bindings: readonly Binding[], grid: Grid): void {
    if (!("indirect" in grid) && (grid[0] === 0 || grid[1] === 0 || grid[2] === 0)) return;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: this.params(params) }];
    bindings.forEach((b, i) => entries.push({ binding: i + 1, resource: b }));
    const group = this.gd.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    if ("indirect" in grid) pass.dispatchWorkgroupsIndirect(grid.indirect, grid.offset);
    else pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
  }

  /** Record a buffer-to-buffer copy (`size` bytes, multiples of 4; the buffers must differ). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size === 0) return;
    this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /** Record zeroing `size` bytes (multiples of 4). */
  clear(buffer: GPUBuffer, offset: number, size: number): void {
    if (size === 0) return;
    this.endPass().clearBuffer(buffer, offset, size);
  }

  /**
   * Copy host bytes (a multiple of 4) into `buffer` at `offset`, ordered after the commands
   * recorded so far: straight through the queue when nothing is pending, else through a staging
   * buffer copied inside the encoder.
   */
  upload(buffer: GPUBuffer, offset: number, data: Uint8Array): void {
    if (data.byteLength === 0) return;
    if (!this.pending) {
      this.gd.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const staging = this.temporary(data.byteLength, Usage.COPY_SRC, true, "upload");
    new Uint8Array(staging.getMappedRange()).set(data);
    staging.unmap();
    this.copy(staging, 0, buffer, offset, data.byteLength);
  }

  /** A buffer that lives until the next submit has run (scratch of one step). */
  temporary(size: number, usage: GPUBufferUsageFlags, mapped: boolean, what: string): GPUBuffer {
    const b = this.gd.errors.guardOom(what, size, () => this.gd.device.createBuffer({ size: Math.max(4, size), usage, mappedAtCreation: mapped, label: what }));
    this.temporaries.push(b);
    return b;
  }

  /** Destroy `buffer` once the commands recorded so far have been submitted. */
  retire(buffer: GPUBuffer): void {
    this.temporaries.push(buffer);
  }

  /** Submit everything recorded (writing the parameter slabs first) and start afresh. */
  submit(): void {
    if (this.encoder === undefined) return;
    this.endPass();
    const commands = this.encoder.finish();
    for (let i = 0; i <= this.slab && i < this.slabs.length; i++) {
      const s = this.slabs[i]!;
      const used = i < this.slab ? SLOTS * SLOT : this.slot * SLOT;
      if (used > 0) this.gd.device.queue.writeBuffer(s.buffer, 0, s.words.buffer, 0, used);
    }
    this.gd.device.queue.submit([commands]);
    this.submissions++;
    this.encoder = undefined;
    this.slab = 0;
    this.slot = 0;
    // Destroying after submit is valid: the buffers go once the submitted work is done with them.
    for (const b of this.temporaries) b.destroy();
    this.temporaries = [];
    for (const fn of this.afterSubmit) fn();
  }

  destroy(): void {
    this.pass = undefined;
    this.encoder = undefined;
    for (const s of this.slabs) s.buffer.destroy();
    for (const b of this.temporaries) b.destroy();
    this.slabs.length = 0;
    this.temporaries = [];
  }

  private params(values: readonly Param[]): GPUBufferBinding {
    if (values.length * 4 > SLOT) throw new Error(`internal: ${values.length} kernel parameters exceed a ${SLOT}-byte slot`);
    this.begin();
    if (this.slot === SLOTS) {
      this.slab++;
      this.slot = 0;
    }
    if (this.slab === this.slabs.length) {
      const words = new Uint32Array((SLOTS * SLOT) / 4);
      const size = SLOTS * SLOT;
      const buffer = this.gd.errors.guardOom("kernel parameters", size, () =>
        this.gd.device.createBuffer({ size, usage: Usage.UNIFORM | Usage.COPY_DST, label: "kernel parameters" }),
      );
      this.slabs.push({ buffer, words, floats: new Float32Array(words.buffer) });
    }
    const s = this.slabs[this.slab]!;
    const base = (this.slot * SLOT) / 4;
    values.forEach((v, i) => {
      if (typeof v === "number") s.words[base + i] = v >>> 0;
      else s.floats[base + i] = v.f32;
    });
    const offset = this.slot * SLOT;
    this.slot++;
    return { buffer: s.buffer, offset, size: Math.max(16, Math.ceil((values.length * 4) / 16) * 16) };
  }

  private begin(): GPUCommandEncoder {
    this.encoder ??= this.gd.device.createCommandEncoder({ label: "qwenrt step" });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.begin().beginComputePass();
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    const enc = this.begin();
    if (this.pass !== undefined) {
      this.pass.end();
      this.pass = undefined;
    }
    return enc;
  }
}
