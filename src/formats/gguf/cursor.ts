/**
 * The GGUF header's binary reader: bounds-checked little-endian scalars, strings, and metadata
 * values of every type (arrays nested up to 8 deep). Errors name the file and what was being read.
 */
import { QwenrtError } from "../../util/errors.js";
import { valueTypeNames, type GgufArray, type GgufScalarType, type GgufValue } from "./types.js";

const utf8 = new TextDecoder("utf-8");

/**
 * Bounds-checked little-endian reads; every error names the file and what was being read. `size` is
 * the file's length; when `buf` holds only its first bytes, `more(end)` returns a buffer holding at
 * least `[0, end)` (the header-only reader grows its buffer this way).
 */
export class Cursor {
  pos = 0;
  private dv: DataView;
  constructor(
    public buf: Uint8Array,
    readonly file: string,
    readonly size: number = buf.byteLength,
    private readonly more?: (end: number) => Uint8Array,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.size) {
      throw new QwenrtError(this.file, `truncated: file ends at byte ${this.size} while reading ${what} (needs ${n} bytes at ${this.pos})`);
    }
    if (this.pos + n > this.buf.byteLength) {
      if (this.more === undefined) throw new Error("internal: GGUF cursor ran past its buffer");
      this.buf = this.more(this.pos + n);
      this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
  }
  u8(what: string): number { this.need(1, what); return this.dv.getUint8(this.pos++); }
  i8(what: string): number { this.need(1, what); return this.dv.getInt8(this.pos++); }
  u16(what: string): number { this.need(2, what); const v = this.dv.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(what: string): number { this.need(2, what); const v = this.dv.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(what: string): number { this.need(4, what); const v = this.dv.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(what: string): number { this.need(4, what); const v = this.dv.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(what: string): number { this.need(8, what); const v = this.dv.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(what: string): bigint { this.need(8, what); const v = this.dv.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64(what: string): bigint { this.need(8, what); const v = this.dv.getBigInt64(this.pos, true); this.pos += 8; return v; }
  /** A u64 that must fit a JS number below `limit` (counts, lengths, offsets). */
  count(what: string, limit: number): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) throw new QwenrtError(this.file, `corrupt: ${what} is ${v}, more than the file can hold`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.count(`length of ${what}`, this.size);
    this.need(n, what);
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    let ascii = true;
    for (let i = 0; i < n; i++) if (s[i]! >= 0x80) { ascii = false; break; }
    return ascii && n < 64 ? String.fromCharCode(...s) : utf8.decode(s);
  }
}

function typeName(c: Cursor, id: number, what: string): GgufScalarType | "array" {
  const t = valueTypeNames.get(id);
  if (t === undefined) throw new QwenrtError(c.file, `corrupt: ${what} has unknown value type id ${id}`);
  return t;
}

function readArray(c: Cursor, what: string, depth: number): GgufArray {
  if (depth > 8) throw new QwenrtError(c.file, `corrupt: ${what} nests arrays more than 8 deep`);
  const itemType = typeName(c, c.u32(`item type of ${what}`), what);
  const n = c.count(`length of ${what}`, c.size);
  const w = `items of ${what}`;
  switch (itemType) {
    case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": case "f32": case "f64": {
      const items = new Array<number>(n);
      for (let i = 0; i < n; i++) items[i] = c[itemType](w);
      return { itemType, items };
    }
    case "u64": case "i64": {
      const items = new Array<bigint>(n);
      for (let i = 0; i < n; i++) items[i] = c[itemType](w);
      return { itemType, items };
    }
    case "bool": {
      const items = new Array<boolean>(n);
      for (let i = 0; i < n; i++) items[i] = c.u8(w) !== 0;
      return { itemType, items };
    }
    case "string": {
      const items = new Array<string>(n);
      for (let i = 0; i < n; i++) items[i] = c.str(w);
      return { itemType, items };
    }
    case "array": {
      const items = new Array<GgufArray>(n);
      for (let i = 0; i < n; i++) items[i] = readArray(c, what, depth + 1);
      return { itemType, items };
    }
  }
}

export function readValue(c: Cursor, key: string): GgufValue {
  const what = `value of "${key}"`;
  const type = typeName(c, c.u32(`type of "${key}"`), what);
  switch (type) {
    case "u8": case "i8": case "u16": case "i16": case "u32": case "i32": case "f32": case "f64":
      return { type, value: c[type](what) };
    case "u64": case "i64":
      return { type, value: c[type](what) };
    case "bool":
      return { type, value: c.u8(what) !== 0 };
    case "string":
      return { type, value: c.str(what) };
    case "array":
      return { type, value: readArray(c, what, 0) };
  }
}

