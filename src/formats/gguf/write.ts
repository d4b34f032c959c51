/**
 * GGUF v3 writer: header and metadata, tensor infos, then each tensor's data padded to the
 * alignment (32 unless `general.alignment` says otherwise), as gguf-py's `GGUFWriter` lays it out.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { QwenrtError } from "../../util/errors.js";
import { getFormat, type WeightType } from "../quant/index.js";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, ggmlTypeIds, valueTypeIds, type GgufArray, type GgufValue } from "./types.js";

/** A tensor's entry in the file: `shape` is row-major (PyTorch order); GGUF stores it reversed. */
export interface GgufTensorInfoToWrite {
  readonly name: string;
  readonly type: WeightType;
  readonly shape: readonly number[];
}

/** A tensor to write with its bytes. */
export interface GgufTensorToWrite extends GgufTensorInfoToWrite {
  readonly bytes: Uint8Array; // [rows, rowBytes(type, shape[last])]
}

/** What `writeGguf` writes: metadata in insertion order, tensors in the given order. */
export interface GgufContents {
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorToWrite[];
}

const utf8 = new TextEncoder();

/** A growable little-endian byte buffer for the header. */
class Out {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  pos = 0;
  reserve(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.dv.setUint8(this.pos, v); this.pos += 1; }
  i8(v: number): void { this.reserve(1); this.dv.setInt8(this.pos, v); this.pos += 1; }
  u16(v: number): void { this.reserve(2); this.dv.setUint16(this.pos, v, true); this.pos += 2; }
  i16(v: number): void { this.reserve(2); this.dv.setInt16(this.pos, v, true); this.pos += 2; }
  u32(v: number): void { this.reserve(4); this.dv.setUint32(this.pos, v, true); this.pos += 4; }
  i32(v: number): void { this.reserve(4); this.dv.setInt32(this.pos, v, true); this.pos += 4; }
  f32(v: number): void { this.reserve(4); this.dv.setFloat32(this.pos, v, true); this.pos += 4; }
  f64(v: number): void { this.reserve(8); this.dv.setFloat64(this.pos, v, true); this.pos += 8; }
  u64(v: bigint): void { this.reserve(8); this.dv.setBigUint64(this.pos, v, true); this.pos += 8; }
  i64(v: bigint): void { this.reserve(8); this.dv.setBigInt64(this.pos, v, true); this.pos += 8; }
  str(s: string): void {
    const b = utf8.encode(s);
    this.u64(BigInt(b.byteLength));
    this.reserve(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

function writeArray(o: Out, a: GgufArray): void {
  o.u32(valueTypeIds[a.itemType]);
  o.u64(BigInt(a.items.length));
  switch (a.itemType) {
    case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": case "f32": case "f64":
      for (const v of a.items) o[a.itemType](v);
      return;
    case "u64": case "i64":
      for (const v of a.items) o[a.itemType](v);
      return;
    case "bool":
      for (const v of a.items) o.u8(v ? 1 : 0);
      return;
    case "string":
      for (const v of a.items) o.str(v);
      return;
    case "array":
      for (const v of a.items) writeArray(o, v);
      return;
  }
}

function writeValue(o: Out, v: GgufValue): void {
  o.u32(valueTypeIds[v.type]);
  switch (v.type) {
    case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": case "f32": case "f64":
      o[v.type](v.value);
      return;
    case "u64": case "i64":
      o[v.type](v.value);
      return;
    case "bool":
      o.u8(v.value ? 1 : 0);
      return;
    case "string":
      o.str(v.value);
      return;
    case "array":
      writeArray(o, v.value);
      return;
  }
}

/** Header bytes (padded to the alignment), each tensor's size and padded size, after checking sizes. */
function layout(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly (GgufTensorInfoToWrite & { readonly bytes?: Uint8Array })[]): { header: Uint8Array; sizes: number[]; padded: number[] } {
  const c = { metadata, tensors };
  const al = c.metadata.get("general.alignment");
  const alignment = al === undefined ? GGUF_DEFAULT_ALIGNMENT : al.type === "u32" ? al.value : 0;
  if (alignment <= 0 || (alignment & (alignment - 1)) !== 0) throw new QwenrtError("general.alignment", "must be a power-of-two u32");
  const o = new Out();
  o.u32(GGUF_MAGIC);
  o.u32(3);
  o.u64(BigInt(c.tensors.length));
  o.u64(BigInt(c.metadata.size));
  for (const [k, v] of c.metadata) {
    o.str(k);
    writeValue(o, v);
  }
  const padded: number[] = [];
  const sizes: number[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const t of c.tensors) {
    if (seen.has(t.name)) throw new QwenrtError(`tensor "${t.name}"`, "is listed twice");
    seen.add(t.name);
    const fmt = getFormat(t.type);
    const dims = t.shape.slice().reverse();
    if (dims.length < 1 || dims.length > 4) throw new QwenrtError(`tensor "${t.name}"`, `has ${dims.length} dimensions (GGUF allows 1..4)`);
    if (dims[0]! % fmt.blockSize !== 0) {
      throw new QwenrtError(`tensor "${t.name}"`, `row length ${dims[0]} is not a multiple of ${t.type}'s block size ${fmt.blockSize}`);
    }
    const size = (dims[0]! / fmt.blockSize) * fmt.blockBytes * dims.slice(1).reduce((a, b) => a * b, 1);
    if (t.bytes !== undefined && t.bytes.byteLength !== size) {
      throw new QwenrtError(`tensor "${t.name}"`, `shape [${t.shape.join(", ")}] in ${t.type} needs ${size} bytes, got ${t.bytes.byteLength}`);
    }
    sizes.push(size);
    o.str(t.name);
    o.u32(dims.length);
    for (const d of dims) o.u64(BigInt(d));
    o.u32(ggmlTypeIds[t.type]);
    o.u64(BigInt(offset));
    const p = Math.ceil(size / alignment) * alignment;
    padded.push(p);
    offset += p;
  }
  const headerLen = Math.ceil(o.pos / alignment) * alignment;
  o.reserve(headerLen - o.pos);
  const header = new Uint8Array(headerLen);
  header.set(o.buf.subarray(0, o.pos));
  return { header, sizes, padded };
}

/**
 * Serialize to GGUF v3 bytes in memory (tests and small models; `writeGguf` streams to disk).
 *
 * @example
 * const bytes = encodeGguf({ metadata: new Map([["general.architecture", { type: "string", value: "qwen3" }]]), tensors: [] });
 */
export function encodeGguf(c: GgufContents): Uint8Array {
  const { header, padded } = layout(c.metadata, c.tensors);
  const out = new Uint8Array(header.byteLength + padded.reduce((a, b) => a + b, 0));
  out.set(header);
  let at = header.byteLength;
  c.tensors.forEach((t, i) => {
    out.set(t.bytes, at);
    at += padded[i]!;
  });
  return out;
}

/**
 * Write a GGUF v3 file, streaming tensor data (no second copy of the weights in memory). The bytes go
 * to a temporary file beside `path`, renamed over it once complete and flushed: a failed or
 * interrupted write never leaves a truncated `path`, nor touches a file already there (which a
 * server may be reading).
 *
 * @example
 * writeGguf("model.gguf", { metadata, tensors: [{ name: "token_embd.weight", type: "f16", shape: [vocab, hidden], bytes }] });
 */
export function writeGguf(path: string, c: GgufContents): void {
  // A temporary file beside the target, renamed over it once complete and flushed: a failed write
  // leaves the old file (if any) untouched.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const w = GgufStreamWriter.create(tmp, c.metadata, c.tensors);
  try {
    for (const t of c.tensors) w.write(t.bytes);
    w.close();
    renameSync(tmp, path);
  } catch (e) {
    w.abort();
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * A GGUF file written tensor by tensor: the header goes first (sizes follow from shapes and
 * types), then each tensor's bytes in the listed order, in pieces of any size, so a converter can
 * encode a slab, write it and reuse its buffers. `close` checks that every tensor is complete.
 *
 * @example
 * const w = GgufStreamWriter.create("m.gguf", metadata, [{ name: "output_norm.weight", type: "f32", shape: [1024] }]);
 * w.write(normBytes);
 * w.close();
 */
export class GgufStreamWriter {
  private index = 0; // tensor being written
  private done = 0; // its bytes written so far
  private open = true;
  /** Bytes written to the file so far (header and padding included). */
  bytesWritten = 0;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly tensors: readonly GgufTensorInfoToWrite[],
    private readonly sizes: readonly number[],
    private readonly padded: readonly number[],
  ) {}

  /** Create (truncate) `path` and write the header for `tensors`. */
  static create(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorInfoToWrite[]): GgufStreamWriter {
    const { header, sizes, padded } = layout(metadata, tensors);
    const w = new GgufStreamWriter(path, openSync(path, "w"), tensors, sizes, padded);
    try {
      w.put(header);
      w.finishEmpty();
    } catch (e) {
      w.abort();
      throw e;
    }
    return w;
  }

  /** The tensor the next bytes belong to; undefined once every tensor is complete. */
  get current(): GgufTensorInfoToWrite | undefined {
    return this.tensors[this.index];
  }

  /** Append bytes of the current tensor (moving on, after its padding, when it is complete). */
  write(bytes: Uint8Array): void {
    if (!this.open) throw new QwenrtError(this.path, "write after close");
    let off = 0;
    while (off < bytes.byteLength) {
      const t = this.tensors[this.index];
      if (t === undefined) throw new QwenrtError(this.path, `${bytes.byteLength - off} bytes beyond the last tensor`);
      const n = Math.min(bytes.byteLength - off, this.sizes[this.index]! - this.done);
      this.put(bytes.subarray(off, off + n));
      off += n;
      this.done += n;
      if (this.done === this.sizes[this.index]) this.next();
    }
  }

  /** Close the file; throws naming the first tensor that is not complete. */
  close(): void {
    if (!this.open) return;
    const t = this.tensors[this.index];
    if (t !== undefined) {
      this.abort();
      throw new QwenrtError(this.path, `tensor "${t.name}" has ${this.done} of its ${this.sizes[this.index]} bytes`);
    }
    this.open = false;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }

  /** Close without checks (after an error; the caller removes the file). */
  abort(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }

  private next(): void {
    const zeros = new Uint8Array(64);
    let pad = this.padded[this.index]! - this.sizes[this.index]!;
    while (pad > 0) {
      const n = Math.min(pad, zeros.byteLength);
      this.put(zeros.subarray(0, n));
      pad -= n;
    }
    this.index++;
    this.done = 0;
    this.finishEmpty();
  }

  /** Skip past tensors of no bytes (none in practice; keeps `current` honest). */
  private finishEmpty(): void {
    while (this.index < this.tensors.length && this.sizes[this.index] === 0) this.next();
  }

  private put(b: Uint8Array): void {
    let off = 0;
    while (off < b.byteLength) off += writeSync(this.fd, b, off, b.byteLength - off);
    this.bytesWritten += b.byteLength;
  }
}
