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

/** A tensor to write: `shape` is row-major (PyTorch order); GGUF stores it reversed. */
export interface GgufTensorToWrite {
  readonly name: string;
  readonly type: WeightType;
  readonly shape: readonly number[];
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

/** Header bytes (padded to the alignment) and each tensor's padded size, after checking sizes. */
function layout(c: GgufContents): { header: Uint8Array; padded: number[] } {
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
    if (t.bytes.byteLength !== size) {
      throw new QwenrtError(`tensor "${t.name}"`, `shape [${t.shape.join(", ")}] in ${t.type} needs ${size} bytes, got ${t.bytes.byteLength}`);
    }
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
  return { header, padded };
}

/**
 * Serialize to GGUF v3 bytes in memory (tests and small models; `writeGguf` streams to disk).
 *
 * @example
 * const bytes = encodeGguf({ metadata: new Map([["general.architecture", { type: "string", value: "qwen3" }]]), tensors: [] });
 */
export function encodeGguf(c: GgufContents): Uint8Array {
  const { header, padded } = layout(c);
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
  const { header, padded } = layout(c);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx");
  let done = false;
  try {
    writeAll(fd, header);
    const zeros = new Uint8Array(64);
    c.tensors.forEach((t, i) => {
      writeAll(fd, t.bytes);
      let pad = padded[i]! - t.bytes.byteLength;
      while (pad > 0) {
        const n = Math.min(pad, zeros.byteLength);
        writeAll(fd, zeros.subarray(0, n));
        pad -= n;
      }
    });
    fsyncSync(fd);
    done = true;
  } finally {
    closeSync(fd);
    if (done) renameSync(tmp, path);
    else rmSync(tmp, { force: true });
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.byteLength) off += writeSync(fd, b, off, b.byteLength - off);
}
