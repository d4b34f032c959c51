/**
 * The start-up lines of interactive commands (`chat`, `serve`): a "loading…" line while the model
 * loads (redrawn with the elapsed time on a terminal), then one friendly summary line:
 * `Qwen3-0.6B · qwen3, 28 layers, 0.60B params · bf16 · ref backend, 1 thread · context 40,960 · weights 1.50 GB`.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import type { Model } from "../models/model.js";
import { getArchitecture } from "../models/registry.js";
import { isObject, readJsonFile } from "../util/json.js";
import { formatBytes, formatDuration, type ProgressStream } from "./progress.js";

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
  readonly contextLength: number;
  /** Bytes of the `*.safetensors` files (the weights as stored). */
  readonly weightBytes: number;
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
  return {
    name: modelDisplayName(dir),
    modelType: c.modelType,
    layers: c.numLayers,
    params,
    ...(dtype === undefined ? {} : { dtype }),
    backend: model.backend.name,
    threads: model.backend.threads,
    contextLength: c.maxPositionEmbeddings,
    weightBytes: weightFileBytes(dir),
  };
}

/** Parameter count as `0.60B` / `5.2M`. */
export function formatParams(n: number): string {
  if (n >= 5e8) return `${(n / 1e9).toFixed(2)}B`; // Qwen names its sizes in billions: 0.6B, 1.7B
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(1)}K`;
}

/**
 * The summary as one line.
 *
 * @example
 * formatModelSummary(summary); // "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · bf16 · ref backend, 1 thread · context 40,960 · weights 1.50 GB"
 */
export function formatModelSummary(s: ModelSummary): string {
  return [
    s.name,
    `${s.modelType}, ${s.layers} layers, ${formatParams(s.params)} params`,
    ...(s.dtype === undefined ? [] : [s.dtype]),
    `${s.backend} backend, ${s.threads} thread${s.threads === 1 ? "" : "s"}`,
    `context ${s.contextLength.toLocaleString("en-US")}`,
    `weights ${formatBytes(s.weightBytes)}`,
  ].join(" · ");
}

/**
 * Run `load` with a status line: on a terminal, "Loading NAME… 3s" redrawn each second while the
 * event loop is free, then erased; elsewhere nothing. Returns the value and the seconds it took.
 *
 * @example
 * const { value: model, seconds } = await withLoadingLine("Qwen3-0.6B", () => loadModel(dir));
 */
export async function withLoadingLine<T>(
  label: string,
  load: () => Promise<T>,
  stream: ProgressStream = process.stderr,
): Promise<{ value: T; seconds: number }> {
  const t0 = Date.now();
  const tty = stream.isTTY === true;
  const draw = (): void => {
    stream.write(`\r\x1b[2KLoading ${label}… ${formatDuration((Date.now() - t0) / 1000)}`);
  };
  if (tty) draw();
  const timer = tty ? setInterval(draw, 1000) : undefined;
  // Let the first line reach the terminal before a synchronous load blocks the thread.
  await new Promise<void>((r) => setImmediate(r));
  try {
    const value = await load();
    return { value, seconds: (Date.now() - t0) / 1000 };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    if (tty) stream.write("\r\x1b[2K");
  }
}
