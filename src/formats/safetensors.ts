/**
 * safetensors reader and writer. A file is an 8-byte little-endian header length `N`, `N` bytes of
 * JSON (`{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}`), then the data;
 * offsets are relative to the first data byte. Two ways in, neither mmap'd (see DESIGN.md):
 * `readSafetensorsDir` reads whole files into memory, tensors being zero-copy views over them (tests,
 * tools); `readSafetensorsDirIndex` reads only the headers and says where each tensor's bytes lie,
 * for the model loader to read tensor by tensor. Sharded checkpoints list their files in
 * `model.safetensors.index.json` (`weight_map: {tensor: file}`).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { QwenrtError } from "../util/errors.js";
import { isObject, readJsonFile } from "../util/json.js";
import type { WeightType } from "./quant/types.js";
import { openError } from "./read_chunked.js";
import { checkNoOverlap, type ByteRange, type FileTensor } from "./tensor_source.js";

/** Element types we read and write. Others (I8, F64, F8_E4M3, …) fail naming the tensor. */
export type SafetensorsDtype = "BF16" | "F16" | "F32";

const dtypeBytes: Record<SafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4 };
const dtypeWeightType: Record<SafetensorsDtype, WeightType> = { BF16: "bf16", F16: "f16", F32: "f32" };

/** One tensor: a view over the bytes of the file it came from (row-major, little-endian). */
export interface SafeTensor {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly type: WeightType; // the same dtype as a quant-registry type
  readonly shape: readonly number[];
  readonly bytes: Uint8Array; // [product(shape) * dtypeBytes]
  readonly file: string; // path of the file holding it, for error messages
}

/** Every tensor of a checkpoint by name, plus the `__metadata__` strings of its (first) file. */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafeTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

function isDtype(s: string): s is SafetensorsDtype {
  return s === "BF16" || s === "F16" || s === "F32";
}

/** Read a whole file into one fresh ArrayBuffer (chunked reads: no 2 GiB `readFileSync` limit). */
export function readWholeFile(path: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new QwenrtError(path, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`, {
      code: "not_found",
    });
  }
  try {
    const size = fstatSync(fd).size;
    const buf = new Uint8Array(size);
    const chunk = 1 << 28;
    let off = 0;
    while (off < size) {
      const got = readSync(fd, buf, off, Math.min(chunk, size - off), off);
      if (got === 0) throw new QwenrtError(path, `file ended after ${off} of ${size} bytes while reading`);
      off += got;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function parseHeaderJson(bytes: Uint8Array, file: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new QwenrtError(file, `corrupt header: ${(e as Error).message}`);
  }
  if (!isObject(header)) throw new QwenrtError(file, "corrupt header: not a JSON object");
  return header;
}

/**
 * Parse one safetensors file held in memory; tensors are views over `buf`.
 *
 * @example
 * const { tensors } = parseSafetensors(readWholeFile("model.safetensors"), "model.safetensors");
 */
export function parseSafetensors(buf: Uint8Array, file: string): SafetensorsFile {
  if (buf.byteLength < 8) throw new QwenrtError(file, `truncated: ${buf.byteLength} bytes, no header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = dv.getBigUint64(0, true);
  if (headerLen > BigInt(buf.byteLength - 8)) {
    throw new QwenrtError(file, `truncated or corrupt: header length ${headerLen} exceeds file size ${buf.byteLength}`);
  }
  const n = Number(headerLen);
  const header = parseHeaderJson(buf.subarray(8, 8 + n), file);
  const dataStart = 8 + n;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  const metadata: Record<string, string> = {};
  const ranges: ByteRange[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(entry)) throw new QwenrtError(file, '"__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") throw new QwenrtError(file, `"__metadata__.${k}" must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = parseEntry(buf, file, name, entry, dataStart, dataLen);
    tensors.set(name, t);
    ranges.push({ name, begin: t.bytes.byteOffset - buf.byteOffset, end: t.bytes.byteOffset - buf.byteOffset + t.bytes.byteLength });
  }
  checkNoOverlap(file, ranges);
  return { tensors, metadata };
}

/** A header entry, checked: its dtype and shape, and `[begin, end)` relative to the data section. */
interface EntryInfo {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** Check one header entry against the header rules and the data section's length (`dataLen`). */
function checkEntry(file: string, name: string, entry: unknown, dataLen: number): EntryInfo {
  if (!isObject(entry)) throw new QwenrtError(file, `tensor "${name}": entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") throw new QwenrtError(file, `tensor "${name}": missing "dtype"`);
  if (!isDtype(dtype)) {
    throw new QwenrtError(file, `tensor "${name}" has unsupported dtype ${dtype} (supported: BF16, F16, F32)`, {
      code: "unsupported",
    });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new QwenrtError(file, `tensor "${name}": "shape" must be an array of non-negative integers`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new QwenrtError(file, `tensor "${name}": "data_offsets" must be [begin, end] with 0 <= begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const dims = shape as number[];
  const expected = dims.reduce((a, b) => a * b, 1) * dtypeBytes[dtype];
  if (end - begin !== expected) {
    throw new QwenrtError(
      file,
      `tensor "${name}": shape [${dims.join(", ")}] of ${dtype} needs ${expected} bytes, data_offsets give ${end - begin}`,
    );
  }
  if (end > dataLen) {
    throw new QwenrtError(
      file,
      `truncated: tensor "${name}" ends at data byte ${end} but the file holds only ${Math.max(0, dataLen)} data bytes`,
    );
  }
  return { dtype, shape: Object.freeze(dims.slice()), begin, end };
}

function parseEntry(
  buf: Uint8Array,
  file: string,
  name: string,
  entry: unknown,
  dataStart: number,
  dataLen: number,
): SafeTensor {
  const { dtype, shape, begin, end } = checkEntry(file, name, entry, dataLen);
  return { name, dtype, type: dtypeWeightType[dtype], shape, bytes: buf.subarray(dataStart + begin, dataStart + end), file };
}

/** Read and parse one `.safetensors` file. */
export function readSafetensorsFile(path: string): SafetensorsFile {
  return parseSafetensors(readWholeFile(path), path);
}

/** The files a model directory's weights live in, and the tensors its index lists per file. */
export interface SafetensorsShards {
  /** `model.safetensors.index.json` when sharded, else `model.safetensors`. */
  readonly where: string;
  /** Each file once, with the tensors the index says it holds (undefined: unsharded, holds all). */
  readonly files: readonly { readonly path: string; readonly listed?: readonly string[] }[];
}

/**
 * Which files hold a model directory's tensors: those `model.safetensors.index.json` names (sharded)
 * when it exists, else `model.safetensors`. Reads only the index.
 *
 * @example
 * safetensorsShards("models/Qwen3-8B").files.length; // 5
 */
export function safetensorsShards(dir: string): SafetensorsShards {
  const indexPath = join(dir, "model.safetensors.index.json");
  if (!existsSync(indexPath)) return { where: join(dir, "model.safetensors"), files: [{ path: join(dir, "model.safetensors") }] };
  const index = readJsonFile(indexPath);
  if (!isObject(index) || !isObject(index.weight_map)) {
    throw new QwenrtError(indexPath, '"weight_map" must be an object of tensor name -> file name');
  }
  const byFile = new Map<string, string[]>();
  for (const [tensor, file] of Object.entries(index.weight_map)) {
    if (typeof file !== "string" || file.includes("/") || file.includes("\\") || file === "..") {
      throw new QwenrtError(indexPath, `"weight_map.${tensor}" must be a file name in the model directory`);
    }
    const list = byFile.get(file) ?? [];
    list.push(tensor);
    byFile.set(file, list);
  }
  return { where: indexPath, files: [...byFile].map(([file, listed]) => ({ path: join(dir, file), listed })) };
}

/** Merge parsed shards (in `plan.files` order): every listed tensor present, none in two shards. */
function mergeShards<T>(
  plan: SafetensorsShards,
  shards: readonly { readonly tensors: ReadonlyMap<string, T>; readonly metadata: Readonly<Record<string, string>> }[],
): { tensors: Map<string, T>; metadata: Readonly<Record<string, string>> } {
  const tensors = new Map<string, T>();
  let metadata: Record<string, string> | undefined;
  plan.files.forEach(({ path, listed }, i) => {
    const shard = shards[i]!;
    metadata ??= { ...shard.metadata };
    for (const name of listed ?? []) {
      if (!shard.tensors.has(name)) {
        throw new QwenrtError(path, `tensor "${name}" is listed in ${basename(plan.where)} but not in this file`);
      }
    }
    for (const [name, t] of shard.tensors) {
      if (tensors.has(name)) throw new QwenrtError(path, `tensor "${name}" appears in more than one shard`);
      tensors.set(name, t);
    }
  });
  return { tensors, metadata: metadata ?? {} };
}

/**
 * Read every tensor of a model directory: `model.safetensors.index.json` (sharded) when present,
 * else `model.safetensors`. Each shard is read once; a tensor the index lists in a shard that lacks
 * it, or one found in two shards, is an error naming it.
 */
export function readSafetensorsDir(dir: string): SafetensorsFile {
  const plan = safetensorsShards(dir);
  return mergeShards(plan, plan.files.map((f) => readSafetensorsFile(f.path)));
}

/** A tensor of a checkpoint still on disk: its header entry and where its bytes lie. */
export interface SafeTensorRef extends FileTensor {
  readonly dtype: SafetensorsDtype;
}

/** Read exactly `n` bytes at `pos`, or fail naming the file. */
async function readExactly(fh: FileHandle, file: string, pos: number, n: number): Promise<Uint8Array> {
  const buf = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const { bytesRead } = await fh.read(buf, off, n - off, pos + off);
    if (bytesRead === 0) throw new QwenrtError(file, `truncated: file ended at byte ${pos + off} while reading the header`);
    off += bytesRead;
  }
  return buf;
}

/** Read one file's header (not its data) and check every entry against the file's size. */
async function readSafetensorsHeader(path: string): Promise<{ tensors: Map<string, SafeTensorRef>; metadata: Record<string, string> }> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const size = (await fh.stat()).size;
    if (size < 8) throw new QwenrtError(path, `truncated: ${size} bytes, no header length`);
    const headerLen = new DataView((await readExactly(fh, path, 0, 8)).buffer).getBigUint64(0, true);
    if (headerLen > BigInt(size - 8)) throw new QwenrtError(path, `truncated or corrupt: header length ${headerLen} exceeds file size ${size}`);
    const n = Number(headerLen);
    const header = parseHeaderJson(await readExactly(fh, path, 8, n), path);
    const dataStart = 8 + n;
    const tensors = new Map<string, SafeTensorRef>();
    const metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") {
        if (!isObject(entry)) throw new QwenrtError(path, '"__metadata__" must be an object of strings');
        for (const [k, v] of Object.entries(entry)) {
          if (typeof v !== "string") throw new QwenrtError(path, `"__metadata__.${k}" must be a string`);
          metadata[k] = v;
        }
        continue;
      }
      const { dtype, shape, begin, end } = checkEntry(path, name, entry, size - dataStart);
      tensors.set(name, { name, dtype, type: dtypeWeightType[dtype], shape, file: path, begin: dataStart + begin, byteLength: end - begin });
    }
    checkNoOverlap(path, [...tensors.values()].map((t) => ({ name: t.name, begin: t.begin, end: t.begin + t.byteLength })));
    return { tensors, metadata };
  } finally {
    await fh.close();
  }
}

/**
 * The tensors of a model directory without their data: every shard's header is read and checked
 * (dtypes, shapes, offsets within the file, the index's listing) exactly as `readSafetensorsDir`
 * checks them, and each tensor says where its bytes lie, for a loader to read one at a time.
 *
 * @example
 * const { tensors } = await readSafetensorsDirIndex("models/Qwen3-8B");
 */
export async function readSafetensorsDirIndex(
  dir: string,
): Promise<{ readonly where: string; readonly tensors: ReadonlyMap<string, SafeTensorRef>; readonly metadata: Readonly<Record<string, string>> }> {
  const plan = safetensorsShards(dir);
  const shards = [];
  for (const f of plan.files) shards.push(await readSafetensorsHeader(f.path));
  return { where: plan.where, ...mergeShards(plan, shards) };
}

/** A tensor to write: raw little-endian bytes of `shape` in `dtype`. */
export interface TensorToWrite {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

function isTensorMap(
  t: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
): t is ReadonlyMap<string, TensorToWrite> {
  return t instanceof Map;
}

/**
 * Serialize tensors (in the given order) to safetensors bytes; the header is space-padded so data
 * starts 8-byte aligned, as the reference writer does.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries: [string, TensorToWrite][] = isTensorMap(tensors) ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new QwenrtError(name, "reserved tensor name");
    const expected = t.shape.reduce((a, b) => a * b, 1) * dtypeBytes[t.dtype];
    if (t.bytes.byteLength !== expected) {
      throw new QwenrtError(`tensor "${name}"`, `shape [${t.shape.join(", ")}] of ${t.dtype} needs ${expected} bytes, got ${t.bytes.byteLength}`);
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let headerBytes = enc.encode(json);
  const pad = (8 - (headerBytes.byteLength % 8)) % 8;
  if (pad > 0) {
    json += " ".repeat(pad);
    headerBytes = enc.encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const [, t] of entries) {
    out.set(t.bytes, at);
    at += t.bytes.byteLength;
  }
  return out;
}

/**
 * Write a safetensors file.
 *
 * @example
 * writeSafetensors("model.safetensors", { "w": { dtype: "F32", shape: [2], bytes } }, { format: "pt" });
 */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {},
): void {
  writeFileSync(path, encodeSafetensors(tensors, metadata));
}
