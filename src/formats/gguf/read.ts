/**
 * GGUF reader (v2 and v3, little-endian). Layout: magic "GGUF", u32 version, u64 tensor count,
 * u64 metadata count, the metadata key/values, the tensor infos (name, dims, ggml type, offset),
 * padding to `general.alignment` (default 32), then the data section. Nothing is mmap'd (see
 * DESIGN.md): `readGguf` reads whole files into memory and tensors are zero-copy views over them
 * (`readGgufAsync` the same in chunks with progress); `readGgufIndex` reads only the headers and says
 * where each tensor's bytes lie, for the model loader to read tensor by tensor; `readGgufMetadata`
 * reads only the first part's header (what the tokenizer and chat template need). Split models
 * (`name-00001-of-00003.gguf`) are read part by part into one tensor map.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { QwenrtError } from "../../util/errors.js";
import { getFormat, type WeightType } from "../quant/index.js";
import { fileSize, readFileChunked, type ChunkedReadOptions } from "../read_chunked.js";
import { readWholeFile } from "../safetensors.js";
import { Cursor, readValue } from "./cursor.js";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, ggmlIdTypes, unsupportedGgmlTypes, type GgufValue } from "./types.js";
import { checkNoOverlap } from "../tensor_source.js";

/** One tensor of a GGUF file: a view over the file's bytes. */
export interface GgufTensor {
  readonly name: string;
  readonly type: WeightType;
  readonly dims: readonly number[]; // ggml order: dims[0] (ne[0]) is the row length
  readonly shape: readonly number[]; // row-major order (dims reversed), as safetensors / PyTorch
  readonly bytes: Uint8Array; // [rows, rowBytes(type, dims[0])]
  readonly file: string;
}

/** What every parse of a GGUF file knows: where it is and its metadata. */
export interface GgufMeta {
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  readonly metadata: ReadonlyMap<string, GgufValue>; // from the first part, in file order
}

/** A parsed GGUF model (all parts of a split model merged). */
export interface GgufFile extends GgufMeta {
  readonly tensors: ReadonlyMap<string, GgufTensor>; // in file order
  readonly parts: readonly string[];
}

/** Where one tensor's data lies in its file, as the header describes it. */
export interface GgufTensorInfo {
  readonly name: string;
  readonly type: WeightType;
  readonly dims: readonly number[]; // ggml order: dims[0] (ne[0]) is the row length
  readonly shape: readonly number[]; // row-major order (dims reversed)
  readonly begin: number; // absolute byte offset in the file
  readonly byteLength: number; // [rows, rowBytes(type, dims[0])]
}

/** The header of a GGUF file: everything before the data section. */
interface ParsedHeader {
  readonly version: number;
  readonly alignment: number;
  readonly metadata: Map<string, GgufValue>;
  readonly infos: GgufTensorInfo[];
  readonly dataStart: number;
}

function parseHeader(c: Cursor): ParsedHeader {
  const file = c.file;
  const magic = c.u32("magic");
  if (magic !== GGUF_MAGIC) {
    const shown = [...c.buf.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new QwenrtError(file, `not a GGUF file (magic bytes ${shown}, expected 47 47 55 46 "GGUF")`);
  }
  const version = c.u32("version");
  if (version !== 2 && version !== 3) {
    const hint = (version & 0xffff) === 0 ? " (a big-endian GGUF? only little-endian is supported)" : "";
    throw new QwenrtError(file, `unsupported GGUF version ${version}${hint}; supported: 2, 3`, { code: "unsupported" });
  }
  const nTensors = c.count("tensor count", c.size);
  const nKv = c.count("metadata count", c.size);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = c.str(`metadata key ${i}`);
    if (metadata.has(key)) throw new QwenrtError(file, `corrupt: metadata key "${key}" appears twice`);
    metadata.set(key, readValue(c, key));
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get("general.alignment");
  if (al !== undefined) {
    if (al.type !== "u32" || al.value === 0 || (al.value & (al.value - 1)) !== 0) {
      throw new QwenrtError(file, `"general.alignment" must be a power-of-two u32, got ${al.type} ${String(al.value)}`);
    }
    alignment = al.value;
  }
  const raw: { name: string; dims: number[]; type: WeightType; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.str(`name of tensor ${i}`);
    const nDims = c.u32(`dimension count of tensor "${name}"`);
    if (nDims < 1 || nDims > 4) throw new QwenrtError(file, `tensor "${name}" has ${nDims} dimensions (GGUF allows 1..4)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.count(`dimension ${d} of tensor "${name}"`, Number.MAX_SAFE_INTEGER));
    const id = c.u32(`type of tensor "${name}"`);
    const type = ggmlIdTypes.get(id);
    if (type === undefined) {
      const known = unsupportedGgmlTypes.get(id);
      throw new QwenrtError(
        file,
        known !== undefined ? `tensor "${name}" has type ${known} (ggml id ${id}), which qwenrt does not support` : `tensor "${name}" has unknown ggml type id ${id}`,
        { code: "unsupported" },
      );
    }
    const offset = c.count(`data offset of tensor "${name}"`, Number.MAX_SAFE_INTEGER);
    if (offset % alignment !== 0) throw new QwenrtError(file, `tensor "${name}" data offset ${offset} is not a multiple of the alignment ${alignment}`);
    raw.push({ name, dims, type, offset });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const seen = new Set<string>();
  const infos = raw.map((t): GgufTensorInfo => {
    const fmt = getFormat(t.type);
    if (t.dims[0]! % fmt.blockSize !== 0) {
      throw new QwenrtError(file, `tensor "${t.name}" row length ${t.dims[0]} is not a multiple of ${t.type}'s block size ${fmt.blockSize}`);
    }
    const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const byteLength = (t.dims[0]! / fmt.blockSize) * fmt.blockBytes * rows;
    const begin = dataStart + t.offset;
    if (seen.has(t.name)) throw new QwenrtError(file, `tensor "${t.name}" appears twice`);
    seen.add(t.name);
    return { name: t.name, type: t.type, dims: Object.freeze(t.dims), shape: Object.freeze(t.dims.slice().reverse()), begin, byteLength };
  });
  checkNoOverlap(file, infos.map((t) => ({ name: t.name, begin: t.begin, end: t.begin + t.byteLength })));
  return { version, alignment, metadata, infos, dataStart };
}

/**
 * Parse one GGUF file held in memory; tensors are views over `buf`.
 *
 * @example
 * const g = parseGguf(readWholeFile("model.gguf"), "model.gguf");
 */
export function parseGguf(buf: Uint8Array, file: string): GgufFile {
  const { version, alignment, metadata, infos } = parseHeader(new Cursor(buf, file));
  const tensors = new Map<string, GgufTensor>();
  for (const t of infos) {
    if (t.begin + t.byteLength > buf.byteLength) {
      throw new QwenrtError(file, `tensor "${t.name}" data [${t.begin}, ${t.begin + t.byteLength}) lies beyond the end of the file (${buf.byteLength} bytes)`);
    }
    tensors.set(t.name, { name: t.name, type: t.type, dims: t.dims, shape: t.shape, bytes: buf.subarray(t.begin, t.begin + t.byteLength), file });
  }
  return { path: file, version, alignment, metadata, tensors, parts: [file] };
}

/** A GGUF file's header alone (see {@link readGgufMetadata}); the data section is not checked. */
export interface GgufHeader extends GgufMeta {
  /** Tensor descriptions in file order (no data). */
  readonly tensorInfos: readonly GgufTensorInfo[];
  /** Byte offset of the data section. */
  readonly dataStart: number;
  /** Size of the file. */
  readonly fileBytes: number;
  /** Bytes this parse read from the file (the header, rounded up to whole chunks). */
  readonly bytesRead: number;
}

/** Options of {@link readGgufMetadata}. */
export interface GgufMetadataOptions {
  /** First read, and the least each later read grows the buffer by (default 1 MiB). */
  readonly chunkBytes?: number;
}

function parseHeaderOf(path: string, chunkBytes: number): GgufHeader {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new QwenrtError(path, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`, { code: "not_found" });
  }
  try {
    const size = fstatSync(fd).size;
    let buf = new Uint8Array(0);
    const more = (end: number): Uint8Array => {
      // Grow geometrically (tokenizer arrays make headers of several MB) and never past the file.
      const grown = new Uint8Array(Math.min(size, Math.max(end, buf.byteLength * 2, buf.byteLength + chunkBytes)));
      grown.set(buf);
      let off = buf.byteLength;
      while (off < grown.byteLength) {
        const got = readSync(fd, grown, off, grown.byteLength - off, off);
        if (got === 0) throw new QwenrtError(path, `file ended after ${off} of ${size} bytes while reading`);
        off += got;
      }
      buf = grown;
      return buf;
    };
    const c = new Cursor(more(Math.min(size, chunkBytes)), path, size, more);
    const h = parseHeader(c);
    return { path, version: h.version, alignment: h.alignment, metadata: h.metadata, tensorInfos: h.infos, dataStart: h.dataStart, fileBytes: size, bytesRead: buf.byteLength };
  } finally {
    closeSync(fd);
  }
}

const splitPattern = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

/** The integer value of a metadata key of any integer type, or undefined when absent. */
function metaInt(g: GgufMeta, key: string): number | undefined {
  const v = g.metadata.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value === "bigint") return Number(v.value);
  if (typeof v.value !== "number" || !Number.isInteger(v.value)) {
    throw new QwenrtError(g.path, `"${key}" must be an integer, got ${v.type}`);
  }
  return v.value;
}

/** A lone file claiming to be one part of several cannot be read. */
function checkNotSplit(g: GgufMeta): void {
  const count = metaInt(g, "split.count") ?? 1;
  if (count > 1) {
    throw new QwenrtError(g.path, `is part of a ${count}-part split model but is not named "<name>-0000K-of-0000N.gguf"; cannot find the other parts`);
  }
}

/** Every part of the model `path` belongs to (just `path` unless it is named as a split part). */
function ggufParts(path: string): { readonly parts: readonly string[]; readonly split: boolean } {
  const m = splitPattern.exec(path);
  if (m === null) return { parts: [path], split: false };
  const [, prefix, , total] = m;
  const n = Number(total);
  const parts = Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(5, "0")}-of-${total}.gguf`);
  for (const p of parts) if (!existsSync(p)) throw new QwenrtError(p, `part of a ${n}-part split model is missing`, { code: "not_found" });
  return { parts, split: true };
}

/** Merge parsed parts of a split model into one tensor map, checking the `split.*` keys. */
function mergeParts<T>(loaded: readonly (GgufMeta & { readonly tensors: ReadonlyMap<string, T> })[]): GgufMeta & { tensors: Map<string, T>; parts: readonly string[] } {
  const n = loaded.length;
  const tensors = new Map<string, T>();
  loaded.forEach((g, i) => {
    const no = metaInt(g, "split.no");
    const count = metaInt(g, "split.count");
    if (count !== undefined && count !== n) throw new QwenrtError(g.path, `"split.count" is ${count} but the file name says ${n} parts`);
    if (no !== undefined && no !== i) throw new QwenrtError(g.path, `"split.no" is ${no}, expected ${i} from the file name`);
    for (const [name, t] of g.tensors) {
      if (tensors.has(name)) throw new QwenrtError(g.path, `tensor "${name}" also appears in an earlier part`);
      tensors.set(name, t);
    }
  });
  const first = loaded[0]!;
  const expected = metaInt(first, "split.tensors.count");
  if (expected !== undefined && expected !== tensors.size) {
    throw new QwenrtError(first.path, `"split.tensors.count" is ${expected} but the ${n} parts hold ${tensors.size} tensors`);
  }
  return { path: first.path, version: first.version, alignment: first.alignment, metadata: first.metadata, tensors, parts: loaded.map((g) => g.path) };
}

/**
 * Read a `.gguf` file; for a split model (`…-00001-of-0000N.gguf`, any part may be named) read every
 * part and merge their tensors. Metadata comes from the first part.
 *
 * @example
 * const g = readGguf("Qwen3-0.6B-Q4_K_M.gguf");
 * g.tensors.get("blk.0.attn_q.weight")?.type; // "q4_k"
 */
export function readGguf(path: string): GgufFile {
  const { parts, split } = ggufParts(path);
  const loaded = parts.map((p) => parseGguf(readWholeFile(p), p));
  if (!split) {
    checkNotSplit(loaded[0]!);
    return loaded[0]!;
  }
  return mergeParts(loaded);
}

/**
 * `readGguf` with chunked asynchronous reads (see `read_chunked.ts`): `onStart` hears the total size
 * of every part first, `onBytes` each chunk as it arrives; the event loop runs between chunks.
 *
 * @example
 * const g = await readGgufAsync("Qwen3-8B-Q8_0.gguf", { onBytes: (n) => bar.add(n) });
 */
export async function readGgufAsync(path: string, opts: ChunkedReadOptions & { readonly onStart?: (totalBytes: number) => void } = {}): Promise<GgufFile> {
  const { parts, split } = ggufParts(path);
  let total = 0;
  for (const p of parts) total += await fileSize(p);
  opts.onStart?.(total);
  const loaded: GgufFile[] = [];
  for (const p of parts) loaded.push(parseGguf(await readFileChunked(p, opts), p));
  if (!split) {
    checkNotSplit(loaded[0]!);
    return loaded[0]!;
  }
  return mergeParts(loaded);
}

/**
 * Read only the header of a `.gguf` file (metadata and tensor infos, not the data section), growing
 * one buffer with `fs.read`s until the tensor infos end: what `tokenize` and `render` need, without
 * reading gigabytes of weights. For a split model, the header of the first part. Whether the data
 * section holds the tensors is left to the full read.
 *
 * @example
 * const h = readGgufMetadata("Qwen3-8B-Q8_0.gguf");
 * h.metadata.get("general.architecture"); // { type: "string", value: "qwen3" }
 */
export function readGgufMetadata(path: string, opts: GgufMetadataOptions = {}): GgufHeader {
  const chunk = opts.chunkBytes ?? 1 << 20;
  if (!Number.isSafeInteger(chunk) || chunk <= 0) throw new QwenrtError("chunkBytes", `must be a positive integer, got ${chunk}`);
  const { parts, split } = ggufParts(path);
  const h = parseHeaderOf(parts[0]!, chunk);
  if (!split) checkNotSplit(h);
  return h;
}

/** A tensor of a GGUF file still on disk: its description and the file it lies in. */
export interface GgufTensorRef extends GgufTensorInfo {
  readonly file: string;
}

/** A GGUF model's headers (all parts of a split model), its tensors' data left on disk. */
export interface GgufIndex extends GgufMeta {
  readonly tensors: ReadonlyMap<string, GgufTensorRef>; // in file order
  readonly parts: readonly string[];
}

/**
 * Read the header of every part of a `.gguf` model, checking what `readGguf` checks (tensor data
 * within each file, the `split.*` keys) without reading the data: a loader then reads each tensor
 * when it needs it.
 *
 * @example
 * const g = readGgufIndex("Qwen3-8B-Q8_0.gguf");
 * g.tensors.get("token_embd.weight")?.byteLength;
 */
export function readGgufIndex(path: string): GgufIndex {
  const { parts, split } = ggufParts(path);
  const loaded = parts.map((p) => {
    const h = parseHeaderOf(p, 1 << 20);
    const tensors = new Map<string, GgufTensorRef>();
    for (const t of h.tensorInfos) {
      if (t.begin + t.byteLength > h.fileBytes) {
        throw new QwenrtError(p, `tensor "${t.name}" data [${t.begin}, ${t.begin + t.byteLength}) lies beyond the end of the file (${h.fileBytes} bytes)`);
      }
      tensors.set(t.name, { ...t, file: p });
    }
    return { path: p, version: h.version, alignment: h.alignment, metadata: h.metadata, tensors, parts: [p] };
  });
  if (!split) {
    checkNotSplit(loaded[0]!);
    return loaded[0]!;
  }
  return mergeParts(loaded);
}

export { metaInt as ggufMetaInt };
