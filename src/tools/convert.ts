/**
 * `qwenrt convert`: a Hugging Face checkpoint directory → a GGUF file llama.cpp loads. The model
 * registry checks and parses config.json; `formats/gguf/convert.ts` plans the GGUF (names, types,
 * metadata); this module encodes it, streaming: each tensor is read a slab of rows at a time
 * (positioned reads), quantized on a worker pool by the SIMD quantizers and written, so memory holds
 * a few slabs, not the model. The file appears atomically (a temp file renamed into place).
 */
import { renameSync, rmSync, statfsSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { ggufContentsFromHf, planGgufFromHf, type ConvertOptions, type GgufPlan, type SourceInfo, type TypeChooser } from "../formats/gguf/convert.js";
import { GgufStreamWriter, type GgufContents } from "../formats/gguf/write.js";
import { dequantizeAll, rowBytes, type WeightType } from "../formats/quant/index.js";
import { readSafetensorsDirIndex } from "../formats/safetensors.js";
import { isFileTensor, tensorByteLength, TensorFileReader, type TensorSource } from "../formats/tensor_source.js";
import { createQuantizer, type Quantizer } from "../kernels/wasm/quantizer.js";
import { parseModelConfig } from "../models/registry.js";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";

export type { ConvertOptions } from "../formats/gguf/convert.js";

/** Options of {@link convertHfToGguf}. */
export interface StreamConvertOptions extends ConvertOptions {
  /** Hears source bytes encoded so far, of all (`done` grows to `total`). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Quantizer threads (default: all cores); ignored when `quantizer` is given. */
  readonly threads?: number;
  /** A quantizer to use (and not dispose); default: one made for this conversion. */
  readonly quantizer?: Quantizer;
  /** Per-tensor types instead of `type`'s mix (`type` still names the file type). */
  readonly choose?: TypeChooser;
  /** Source bytes read and encoded per slab (default 16 MiB). */
  readonly slabBytes?: number;
}

/** What a conversion wrote. */
export interface ConvertSummary {
  readonly path: string;
  readonly tensors: number;
  /** Tensors by type written. */
  readonly types: ReadonlyMap<WeightType, number>;
  /** File size in bytes. */
  readonly bytes: number;
}

/**
 * Build the GGUF contents of an HF checkpoint in memory with the reference encoders (tests and
 * small models).
 *
 * @example
 * const contents = buildGgufFromHf("models/Qwen3-0.6B", { type: "q8_0" });
 */
export function buildGgufFromHf(modelDir: string, opts: ConvertOptions): GgufContents {
  const configPath = join(modelDir, "config.json");
  const raw = readJsonFile(configPath);
  return ggufContentsFromHf(modelDir, raw, parseModelConfig(raw, configPath), opts);
}

/** Plan the GGUF of a checkpoint directory from its safetensors headers (no weights read). */
export async function planHfGguf(modelDir: string, opts: ConvertOptions, choose?: TypeChooser): Promise<GgufPlan> {
  const configPath = join(modelDir, "config.json");
  const raw = readJsonFile(configPath);
  const { tensors } = await readSafetensorsDirIndex(modelDir);
  return planGgufFromHf(modelDir, raw, parseModelConfig(raw, configPath), tensors, opts, choose);
}

/**
 * Convert an HF checkpoint directory to a GGUF file, streaming (see the module comment).
 *
 * @example
 * await convertHfToGguf("models/Qwen3-0.6B", "qwen3-0.6b-q4_k_m.gguf", { type: "q4_k_m", log: console.error });
 */
export async function convertHfToGguf(modelDir: string, outPath: string, opts: StreamConvertOptions): Promise<ConvertSummary> {
  const plan = await planHfGguf(modelDir, opts, opts.choose);
  const summary = await writeGgufPlan(plan, outPath, opts);
  const counts = [...summary.types].map(([k, v]) => `${v} ${k}`).join(", ");
  opts.log?.(`wrote ${outPath}: ${summary.tensors} tensors (${counts})`);
  return summary;
}

/**
 * Bytes of a planned file's tensor data (the header is small beside it).
 *
 * @example
 * ggufPlanBytes(await planHfGguf(dir, { type: "q4_k_m" })); // ≈ 5.0e9 for an 8B model
 */
export function ggufPlanBytes(plan: GgufPlan<SourceInfo>): number {
  return plan.tensors.reduce((n, t) => {
    const cols = t.shape[t.shape.length - 1]!;
    return n + (t.shape.reduce((a, b) => a * b, 1) / cols) * rowBytes(t.type, cols);
  }, 0);
}

/**
 * Refuse to start writing `bytes` into `dir` when its file system has less free space (with a
 * margin), naming both numbers.
 */
export function checkFreeSpace(dir: string, bytes: number, what: string): void {
  const st = statfsSync(dir);
  const free = st.bavail * st.bsize;
  if (free < bytes * 1.02 + (256 << 20)) {
    throw new QwenrtError(dir, `${what} needs ${(bytes / 1e9).toFixed(1)} GB, only ${(free / 1e9).toFixed(1)} GB are free there`, { code: "out_of_memory" });
  }
}

/** Source bytes read per slab. */
const SLAB_BYTES = 16 << 20;
/** Yield to the event loop after about this many source bytes (progress bars redraw). */
const YIELD_BYTES = 64 << 20;

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Rows and row length of a checkpoint tensor (a 1-D tensor is one row). */
function rowsCols(t: TensorSource): [number, number] {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  return [t.shape.reduce((a, b) => a * b, 1) / cols, cols];
}

/**
 * Encode `plan` into `outPath` (a temp file beside it, renamed into place when complete; removed
 * on failure). The next slab is read while the current one is quantized.
 *
 * @example
 * await writeGgufPlan(await planHfGguf(dir, { type: "q8_0" }), "m.gguf", { onProgress: (d, t) => bar.update(d) });
 */
export async function writeGgufPlan(
  plan: GgufPlan,
  outPath: string,
  opts: Pick<StreamConvertOptions, "quantizer" | "threads" | "onProgress" | "slabBytes">,
): Promise<ConvertSummary> {
  const slabBytes = opts.slabBytes ?? SLAB_BYTES;
  const total = plan.tensors.reduce((n, t) => n + t.sources.reduce((m, s) => m + tensorByteLength(s), 0), 0);
  const tmp = join(dirname(outPath), `.${basename(outPath)}.${process.pid}.${Date.now()}.tmp`);
  const owned = opts.quantizer === undefined ? await createQuantizer(opts.threads === undefined ? {} : { threads: opts.threads }) : undefined;
  const q = opts.quantizer ?? owned!;
  const reader = new TensorFileReader();
  let writer: GgufStreamWriter | undefined;
  try {
    writer = GgufStreamWriter.create(tmp, plan.metadata, plan.tensors);
    const w = writer;
    let done = 0, sinceYield = 0;
    opts.onProgress?.(0, total);
    // Two input buffers: the read of slab k + 1 runs (on libuv's threads) while slab k is encoded.
    const bufs = [new Uint8Array(0), new Uint8Array(0)];
    let out = new Uint8Array(0);
    const types = new Map<WeightType, number>();
    for (const t of plan.tensors) {
      types.set(t.type, (types.get(t.type) ?? 0) + 1);
      if (t.transform !== undefined) {
        // A hybrid model's transformed tensor: its source read whole, transformed, encoded from f32.
        const src = t.sources[0]!;
        const size = tensorByteLength(src);
        const raw = isFileTensor(src) ? await reader.read(src, new Uint8Array(size)) : src.bytes;
        const f32 = t.transform(dequantizeAll(src.type, raw, src.shape.reduce((a, b) => a * b, 1)));
        const cols = t.shape[t.shape.length - 1]!;
        const rows = f32.length / cols;
        const encoded = new Uint8Array(rows * rowBytes(t.type, cols));
        q.encode("f32", new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength), t.type, rows, cols, encoded);
        w.write(encoded);
        done += size;
        opts.onProgress?.(done, total);
        continue;
      }
      const slabs: { src: TensorSource; r0: number; n: number }[] = [];
      for (const src of t.sources) {
        const [rows, cols] = rowsCols(src);
        const per = Math.max(1, Math.min(rows, Math.floor(slabBytes / rowBytes(src.type, cols))));
        for (let r0 = 0; r0 < rows; r0 += per) slabs.push({ src, r0, n: Math.min(per, rows - r0) });
      }
      const read = (k: number): Promise<Uint8Array> => {
        const { src, r0, n } = slabs[k]!;
        const row = rowBytes(src.type, rowsCols(src)[1]);
        if (!isFileTensor(src)) return Promise.resolve(src.bytes.subarray(r0 * row, (r0 + n) * row));
        if (bufs[k % 2]!.byteLength < n * row) bufs[k % 2] = new Uint8Array(n * row);
        return reader.read({ ...src, begin: src.begin + r0 * row, byteLength: n * row }, bufs[k % 2]!);
      };
      let pending = slabs.length > 0 ? read(0) : undefined;
      for (let k = 0; k < slabs.length; k++) {
        const bytes = await pending!;
        pending = k + 1 < slabs.length ? read(k + 1) : undefined;
        pending?.catch(() => undefined); // awaited next round; if this round throws, nobody will
        const { src, n } = slabs[k]!;
        const cols = rowsCols(src)[1];
        const need = n * rowBytes(t.type, cols);
        if (out.byteLength < need) out = new Uint8Array(need);
        q.encode(src.type, bytes, t.type, n, cols, out);
        w.write(out.subarray(0, need));
        done += bytes.byteLength;
        sinceYield += bytes.byteLength;
        opts.onProgress?.(done, total);
        if (sinceYield >= YIELD_BYTES) {
          sinceYield = 0;
          await nextTick();
        }
      }
    }
    w.close();
    renameSync(tmp, outPath);
    return { path: outPath, tensors: plan.tensors.length, types, bytes: w.bytesWritten };
  } catch (e) {
    writer?.abort();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    await reader.close();
    owned?.dispose();
  }
}
