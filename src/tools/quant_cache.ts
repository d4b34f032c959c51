/**
 * The quantized-weights cache: `--dtype` on a float checkpoint quantizes it once into a GGUF under
 * `~/.cache/qwenrt/quantized/` (beside the Hugging Face cache, see `hub/env.ts`), and every later
 * start with the same checkpoint and dtype loads that file instead: a GGUF start.
 *
 * The file holds exactly what quantize-on-load would hold in memory — every matrix the
 * architecture declares in the wasm backend's stored type for the dtype (`storedType`: the dtype
 * where the row length fits its blocks, else the checkpoint's float type), norms and biases as
 * f32 (exact) — under llama.cpp's names and metadata, so the model is the same bit for bit either
 * way (and llama.cpp can read the file too).
 *
 * Key: sha256 over the cache format version, the dtype, the bytes of config.json and the tokenizer
 * files, and per weight file either its content hash — free when the file is a Hugging Face cache
 * blob, whose name is the sha256 `pull` verified — or its size, mtime (ns) and the sha256 of its
 * safetensors header. Hashing every byte of an 8B checkpoint would cost ~10 s on each start, more
 * than the GGUF start itself; size + mtime + header catch every rewrite that does not restore the
 * old mtime by hand. Entries superseded for the same directory and dtype are removed.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { planGgufFromHf, type GgufPlan } from "../formats/gguf/convert.js";
import { readSafetensorsDirIndex, safetensorsShards } from "../formats/safetensors.js";
import { qwenrtCacheDir } from "../hub/env.js";
import { storedType } from "../kernels/wasm/load_convert.js";
import type { WasmDtype } from "../kernels/wasm/matrix.js";
import { createQuantizer, type Quantizer } from "../kernels/wasm/quantizer.js";
import { detectWeightLayout } from "../models/architecture.js";
import { getArchitecture, parseModelConfig } from "../models/registry.js";
import { QwenrtError } from "../util/errors.js";
import { isObject, readJsonFile } from "../util/json.js";
import { checkFreeSpace, ggufPlanBytes, writeGgufPlan } from "./convert.js";

/** Bump when the quantizers, the stored-type rules or the file layout change: old entries stop matching. */
export const QUANT_CACHE_VERSION = 1;

/** Files besides the weights whose bytes are part of the key. */
const KEYED_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"];

/** Where quantized GGUFs are kept: `<qwenrt cache>/quantized`. */
export function quantCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(qwenrtCacheDir(env), "quantized");
}

/** A cache entry found or made. */
export interface QuantCacheEntry {
  readonly path: string;
  /** Made by this call (a first start), else found. */
  readonly created: boolean;
  /** Seconds spent making it (0 when found). */
  readonly seconds: number;
  readonly bytes: number;
}

/** Options of {@link quantizedGguf}. */
export interface QuantCacheOptions {
  /** Cache directory (default {@link quantCacheDir}). */
  readonly dir?: string;
  /** Quantizer threads (default: all cores). */
  readonly threads?: number;
  /** Hears source bytes quantized so far while an entry is made. */
  readonly onProgress?: (done: number, total: number) => void;
}

function sha256(b: Uint8Array | string): string {
  return createHash("sha256").update(b).digest("hex");
}

/** The 8-byte length and the JSON header of a safetensors file (not its data). */
function safetensorsHeader(path: string): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const len = Buffer.alloc(8);
    if (size < 8 || readSync(fd, len, 0, 8, 0) !== 8) throw new QwenrtError(path, "truncated: no safetensors header length");
    const n = Number(len.readBigUInt64LE(0));
    if (n > size - 8) throw new QwenrtError(path, `truncated or corrupt: header length ${n} exceeds file size ${size}`);
    const out = Buffer.alloc(8 + n);
    len.copy(out);
    for (let off = 0; off < n; ) {
      const got = readSync(fd, out, 8 + off, n - off, 8 + off);
      if (got === 0) throw new QwenrtError(path, "truncated while reading the header");
      off += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** What identifies one weight file's contents (see the module comment). */
function weightIdentity(path: string): Record<string, string> {
  const real = realpathSync(path);
  if (basename(dirname(real)) === "blobs" && /^[0-9a-f]{64}$/.test(basename(real))) return { sha256: basename(real) };
  const st = readFileStat(path);
  return { size: st.size, mtimeNs: st.mtimeNs, header: sha256(safetensorsHeader(path)) };
}

function readFileStat(path: string): { size: string; mtimeNs: string } {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd, { bigint: true });
    return { size: st.size.toString(), mtimeNs: st.mtimeNs.toString() };
  } finally {
    closeSync(fd);
  }
}

/**
 * The cache key of a checkpoint directory quantized to `dtype` (64 hex digits).
 *
 * @example
 * quantCacheKey("models/Qwen3-0.6B", "q4_k"); // "3f1c…"
 */
export function quantCacheKey(modelDir: string, dtype: WasmDtype): string {
  const parts: Record<string, unknown> = { version: QUANT_CACHE_VERSION, dtype };
  for (const f of KEYED_FILES) {
    const p = join(modelDir, f);
    parts[f] = existsSync(p) ? sha256(readFileSync(p)) : null;
  }
  const shards = safetensorsShards(modelDir);
  if (shards.files.length > 1) parts.index = sha256(readFileSync(shards.where));
  parts.weights = shards.files.map((f) => ({ file: basename(f.path), ...weightIdentity(f.path) }));
  return sha256(JSON.stringify(parts));
}

/** A readable name for a directory: `Qwen--Qwen3-0.6B` for a Hub snapshot, else its basename. */
function label(modelDir: string): string {
  const abs = resolve(modelDir);
  const parent = basename(dirname(abs));
  const name = parent === "snapshots" ? basename(dirname(dirname(abs))).replace(/^models--/, "") : basename(abs);
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "model";
}

/** The plan of a cache entry: llama.cpp's names and metadata; the types quantize-on-load keeps
 * (matrices as the wasm backend stores them for `dtype`, the rest f32). */
async function planEntry(modelDir: string, dtype: WasmDtype): Promise<GgufPlan> {
  const configPath = join(modelDir, "config.json");
  const raw = readJsonFile(configPath);
  const config = parseModelConfig(raw, configPath);
  const { tensors } = await readSafetensorsDirIndex(modelDir);
  const table = getArchitecture(config.modelType, configPath).weightTable(config, detectWeightLayout(tensors.keys()));
  const kind = new Map(table.map((s) => [s.name, s.kind]));
  const opts = { type: dtype === "q4_k" ? "q4_k_m" : dtype, noTokenizer: !existsSync(join(modelDir, "tokenizer.json")) } as const;
  return planGgufFromHf(modelDir, raw, config, tensors, opts, (t) => (kind.get(t.hfName) === "matrix" ? storedType(t.sourceType, t.dims[0]!, dtype) : "f32"));
}

/** Remove entries made earlier from the same directory and dtype (their source has changed since). */
function removeSuperseded(dir: string, source: string, dtype: string, keep: string): void {
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(".json") || f === `${keep}.json`) continue;
    try {
      const meta = readJsonFile(join(dir, f));
      if (typeof meta !== "object" || meta === null || !("source" in meta) || !("dtype" in meta)) continue;
      if (meta.source !== source || meta.dtype !== dtype) continue;
      rmSync(join(dir, f.replace(/\.json$/, ".gguf")), { force: true });
      rmSync(join(dir, f), { force: true });
    } catch {
      // another process's entry being written, or not ours: leave it
    }
  }
}

/**
 * The cached GGUF of `modelDir` quantized to `dtype`, made (and announced through `onProgress`) when
 * missing. Throws a QwenrtError naming why when the checkpoint cannot be cached (an architecture or
 * tensor without a GGUF name, too little disk space, an unwritable cache); the caller then
 * quantizes in memory.
 *
 * @example
 * const { path } = await quantizedGguf("models/Qwen3-0.6B", "q4_k");
 * const model = await loadModel("models/Qwen3-0.6B", { backend, weightsFile: path });
 */
export async function quantizedGguf(modelDir: string, dtype: WasmDtype, opts: QuantCacheOptions = {}): Promise<QuantCacheEntry> {
  const dir = opts.dir ?? quantCacheDir();
  const key = quantCacheKey(modelDir, dtype);
  const name = `${label(modelDir)}-${dtype}-${key.slice(0, 16)}`;
  const path = join(dir, `${name}.gguf`);
  if (existsSync(path)) return { path, created: false, seconds: 0, bytes: statSync(path).size };
  const t0 = performance.now();
  // The quantizer's workers start and compile while the plan (the tokenizer's metadata: ~0.7 s for
  // a 151K vocabulary) is built on this thread.
  const starting = createQuantizer(opts.threads === undefined ? {} : { threads: opts.threads });
  starting.catch(() => undefined); // awaited below, or (the plan failed first) only disposed
  let quantizer: Quantizer | undefined;
  let summary;
  try {
    const plan = await planEntry(modelDir, dtype);
    mkdirSync(dir, { recursive: true });
    checkFreeSpace(dir, ggufPlanBytes(plan), "the quantized file");
    quantizer = await starting;
    summary = await writeGgufPlan(plan, path, { quantizer, ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }) });
  } finally {
    if (quantizer !== undefined) quantizer.dispose();
    else void starting.then((q) => q.dispose(), () => undefined);
  }
  const source = realpathSync(modelDir);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ source, dtype, key, version: QUANT_CACHE_VERSION, created: new Date().toISOString() }, null, 2)}\n`);
  removeSuperseded(dir, source, dtype, name);
  return { path, created: true, seconds: (performance.now() - t0) / 1000, bytes: summary.bytes };
}

/** One entry of the quantized-weights cache (what `qwenrt list` shows and `qwenrt rm --dtype` removes). */
export interface QuantCachedModel {
  /** The quantized GGUF. */
  readonly path: string;
  /** The checkpoint directory it was made from (its real path). */
  readonly source: string;
  readonly dtype: string;
  readonly bytes: number;
  /** Latest access (or change) time of the GGUF. */
  readonly lastUsed: Date;
}

/**
 * The entries of the quantized-weights cache, by file name; files without their metadata (one being
 * written) are left out.
 *
 * @example
 * for (const e of listQuantCache()) console.log(e.source, e.dtype, e.bytes);
 */
export function listQuantCache(dir: string = quantCacheDir()): QuantCachedModel[] {
  if (!existsSync(dir)) return [];
  const out: QuantCachedModel[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".json")) continue;
    const path = join(dir, f.replace(/\.json$/, ".gguf"));
    let meta: unknown;
    try {
      meta = readJsonFile(join(dir, f));
    } catch {
      continue; // being written, or not ours
    }
    if (!isObject(meta) || typeof meta.source !== "string" || typeof meta.dtype !== "string" || !existsSync(path)) continue;
    const st = statSync(path);
    out.push({ path, source: meta.source, dtype: meta.dtype, bytes: st.size, lastUsed: new Date(Math.max(st.atimeMs, st.mtimeMs)) });
  }
  return out;
}

/** Remove an entry of the quantized-weights cache (its GGUF and metadata). */
export function removeQuantCached(entry: QuantCachedModel): void {
  rmSync(entry.path, { force: true });
  rmSync(entry.path.replace(/\.gguf$/, ".json"), { force: true });
}
