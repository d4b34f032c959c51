/**
 * The start-up lines of interactive commands (`chat`, `serve`, `generate` on a terminal): a progress
 * bar while the model loads (on a terminal only), then one friendly summary line:
 * `Qwen3-0.6B · qwen3, 28 layers, 0.60B params · wasm backend, 8 threads · context 40,960 · weights 0.64 GB (bf16 → q8_0) · KV 115 MB/1k tokens (f16)`.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { mainTypes, skippedTensorsOf, weightMemoryOf, type LoadProgressEvent, type LoadProgressListener } from "../models/load_info.js";
import type { KvType } from "../kernels/types.js";
import type { Model } from "../models/model.js";
import { getArchitecture } from "../models/registry.js";
import { quantCacheOf, type QuantCacheUse } from "../open.js";
import { isObject, readJsonFile } from "../util/json.js";
import { backendDetail } from "./backend.js";
import { Progress, formatBytes, formatDuration, type ProgressStream } from "./progress.js";

/** What the summary line shows. */
export interface ModelSummary {
  /** Directory name, or `owner/name` for a Hub cache snapshot. */
  readonly name: string;
  readonly modelType: string;
  readonly layers: number;
  /** Parameters, counted from the architecture's weight table. */
  readonly params: number;
  /** Checkpoint dtype from config.json (`torch_dtype` / `dtype`), when it says. */
  readonly dtype?: string;
  readonly backend: string;
  readonly threads: number;
  /** The GPU a webgpu backend runs on, or why `--backend auto` chose what it did. */
  readonly backendDetail?: string;
  readonly contextLength: number;
  /** Bytes of the `*.safetensors` files (the weights as stored). */
  readonly weightBytes: number;
  /** The weights as the backend holds them (known for models the loaders built). */
  readonly weightMemory?: {
    readonly bytes: number;
    /** Main stored type(s): `bf16`, `q4_k+q6_k`. */
    readonly stored: string;
    /** Main type(s) in memory: differs from `stored` after `--dtype` or on the f32 reference backend. */
    readonly held: string;
  };
  /** KV cache bytes per token of context (all layers, keys and values, in `kvType`). */
  readonly kvBytesPerToken: number;
  /** The KV cache's element type. */
  readonly kvType: KvType;
  /** What the checkpoint holds that the model does not run (a vision tower, MTP heads), said plainly. */
  readonly notes?: readonly string[];
  /** The quantized-weights cache file the weights came from (`--dtype` on a model directory). */
  readonly quantCache?: QuantCacheUse;
}

/**
 * A readable model name for `dir`: its basename, or `owner/name` when it is a Hub cache snapshot
 * (`…/models--Qwen--Qwen3-0.6B/snapshots/<commit>`).
 *
 * @example
 * modelDisplayName("/cache/models--Qwen--Qwen3-0.6B/snapshots/abc123"); // "Qwen/Qwen3-0.6B"
 */
export function modelDisplayName(dir: string): string {
  const parts = resolve(dir).split(sep).filter((p) => p !== "");
  const snap = parts.lastIndexOf("snapshots");
  const repo = snap > 0 ? parts[snap - 1] : undefined;
  if (repo !== undefined && snap === parts.length - 2 && repo.startsWith("models--")) {
    return repo.slice("models--".length).split("--").join("/");
  }
  return basename(resolve(dir));
}

function weightFileBytes(dir: string): number {
  if (statSync(dir).isFile()) return statSync(dir).size; // a .gguf file
  let total = 0;
  for (const f of readdirSync(dir)) if (f.endsWith(".safetensors")) total += statSync(join(dir, f)).size;
  return total;
}

function checkpointDtype(dir: string): string | undefined {
  if (statSync(dir).isFile()) return undefined; // a .gguf file: mixed per-tensor types
  const raw = readJsonFile(join(dir, "config.json"));
  if (!isObject(raw)) return undefined;
  const d = raw.torch_dtype ?? raw.dtype;
  return typeof d === "string" ? d.replace(/^bfloat16$/, "bf16").replace(/^float16$/, "f16").replace(/^float32$/, "f32") : undefined;
}

/** Gather the summary of a loaded model directory. */
export function summarizeModel(dir: string, model: Model): ModelSummary {
  const c = model.config;
  const params = getArchitecture(c.modelType)
    .weightTable(c)
    .reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  // Tied embeddings are one tensor in the table; the LM head reuses it at no extra cost.
  const dtype = checkpointDtype(dir);
  const mem = weightMemoryOf(model);
  const cache = quantCacheOf(model);
  const detail = backendDetail(model.backend);
  return {
    name: modelDisplayName(dir),
    modelType: c.modelType,
    layers: c.numLayers,
    params,
    ...(dtype === undefined ? {} : { dtype }),
    backend: model.backend.name,
    threads: model.backend.threads,
    ...(detail === undefined ? {} : { backendDetail: detail }),
    contextLength: model.contextLength,
    weightBytes: weightFileBytes(dir),
    ...(mem === undefined ? {} : { weightMemory: { bytes: mem.bytes, stored: mainTypes(mem.stored), held: mainTypes(mem.held) } }),
    kvBytesPerToken: model.kvBytesPerToken,
    kvType: model.backend.kvType,
    notes: skippedTensorsOf(model).map((g) => g.what),
    ...(cache === undefined ? {} : { quantCache: cache }),
  };
}

/** Parameter count as `0.60B` / `5.2M`. */
export function formatParams(n: number): string {
  if (n >= 5e8) return `${(n / 1e9).toFixed(2)}B`; // Qwen names its sizes in billions: 0.6B, 1.7B
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(1)}K`;
}

/**
 * The summary as one line. With the weights' memory known, the weights show as held in memory with
 * their type (`bf16 → q8_0` when converted on load); otherwise the checkpoint dtype and file size.
 * Weights from the quantized-weights cache say so, and whether this start made the file.
 *
 * @example
 * formatModelSummary(summary); // "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · wasm backend, 8 threads · context 40,960 · weights 0.64 GB (bf16 → q8_0) · KV 115 MB/1k tokens (f16)"
 */
export function formatModelSummary(s: ModelSummary): string {
  const m = s.weightMemory;
  const c = s.quantCache;
  const from = c !== undefined && s.dtype !== undefined ? s.dtype : m?.stored; // a cache file holds the quantized types already
  const conv = m === undefined ? "" : from === m.held ? m.held : `${from} → ${m.held}`;
  const cached = c === undefined ? "" : c.created ? `, quantized once in ${formatDuration(c.seconds)} into ${c.path}` : `, from the quantized cache ${c.path}`;
  const weights = m === undefined ? `weights ${formatBytes(s.weightBytes)}` : `weights ${formatBytes(m.bytes)} (${conv}${cached})`;
  return [
    s.name,
    `${s.modelType}, ${s.layers} layers, ${formatParams(s.params)} params`,
    ...(s.dtype === undefined || m !== undefined ? [] : [s.dtype]),
    `${s.backend} backend${s.backend === "webgpu" ? "" : `, ${s.threads} thread${s.threads === 1 ? "" : "s"}`}${s.backendDetail === undefined ? "" : ` (${s.backendDetail})`}`,
    `context ${s.contextLength.toLocaleString("en-US")}`,
    weights,
    `KV ${formatBytes(s.kvBytesPerToken * 1000)}/1k tokens (${s.kvType})`,
    ...(s.notes ?? []),
  ].join(" · ");
}

/** Options of {@link withLoadingLine}. */
export interface LoadingLineOptions {
  /** Clock in ms (tests pass a fake one). */
  readonly now?: () => number;
}

/**
 * Run `load` with a status line on a terminal: "Loading NAME… 3s" until the loader reports
 * progress, then a bar per phase ("Loading NAME ▕███▍   ▏ 45% 540 MB/1.20 GB 310 MB/s" while
 * reading, "Preparing NAME …" while the backend takes the weights), erased at the end. Elsewhere
 * nothing is written. Returns the value and the seconds it took.
 *
 * @example
 * const { value: model, seconds } = await withLoadingLine("Qwen3-0.6B", (onProgress) => loadModel(dir, { onProgress }));
 */
export async function withLoadingLine<T>(
  label: string,
  load: (onProgress: LoadProgressListener) => Promise<T>,
  stream: ProgressStream = process.stderr,
  opts: LoadingLineOptions = {},
): Promise<{ value: T; seconds: number }> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const tty = stream.isTTY === true;
  let bar: Progress | undefined;
  let phase: LoadProgressEvent["phase"] | undefined;
  const draw = (): void => {
    if (bar === undefined) stream.write(`\r\x1b[2KLoading ${label}… ${formatDuration((now() - t0) / 1000)}`);
  };
  const onProgress = (e: LoadProgressEvent): void => {
    if (!tty) return;
    if (e.phase !== phase) {
      bar?.finish();
      // Streamed loads report one `load` phase ("Loading"); after a `read` phase it is "Preparing".
      const verb = e.phase === "quantize" ? "Quantizing (once)" : e.phase === "load" && phase === "read" ? "Preparing" : "Loading";
      phase = e.phase;
      bar = new Progress(`${verb} ${label}`, e.total, { stream, interactive: true, bar: "blocks", now });
    }
    bar!.update(e.done);
  };
  if (tty) draw();
  const timer = tty ? setInterval(draw, 1000) : undefined;
  // Let the first line reach the terminal before a synchronous step blocks the thread.
  await new Promise<void>((r) => setImmediate(r));
  try {
    const value = await load(onProgress);
    return { value, seconds: (now() - t0) / 1000 };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    if (bar !== undefined) bar.finish();
    else if (tty) stream.write("\r\x1b[2K");
  }
}
