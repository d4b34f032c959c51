/**
 * What loading tells its caller besides the model: progress events while it runs, and afterwards
 * the memory the weights really take in the backend (which may differ from the files: `--dtype`
 * quantizes on load, the reference backend widens everything to float32).
 */
import type { WeightType } from "../formats/quant/types.js";
import type { KernelBackend } from "../kernels/types.js";
import type { MemoryProbe } from "../util/memory.js";
import type { Model } from "./model.js";

/**
 * One step of loading. `load`: checkpoint tensor bytes read from disk (tensor by tensor) and handed
 * to the backend (converted, quantized or copied there). `read` (whole-file bytes read before any
 * `load`) is not emitted by `loadModel` / `loadGgufModel` since they stream, but listeners may still
 * see it from other producers. Within a phase `done` only grows and the last event has
 * `done === total`. `quantize`: source bytes quantized into the quantized-weights cache before the
 * load (a first start with `--dtype`).
 */
export interface LoadProgressEvent {
  readonly phase: "read" | "load" | "quantize";
  readonly done: number;
  readonly total: number;
}

/** Receives {@link LoadProgressEvent}s. */
export type LoadProgressListener = (e: LoadProgressEvent) => void;

/** Options of `loadModel` and `loadGgufModel` (here, so the two loaders share it without importing each other). */
export interface LoadOptions {
  /** Kernel backend (default: the float32 reference backend). */
  readonly backend?: KernelBackend;
  /**
   * Hears loading progress: `load` events, checkpoint tensor bytes read from disk and handed to the
   * backend (weights are read tensor by tensor, so reading and loading are one phase). The loader
   * yields to the event loop between steps, so a terminal bar can redraw.
   */
  readonly onProgress?: LoadProgressListener;
  /**
   * A `.gguf` file holding a model directory's weights (the quantized-weights cache,
   * `tools/quant_cache.ts`): `loadModel(dir)` takes the tensors from it and everything else
   * (config, generation config) from the directory. Ignored when loading a `.gguf` itself.
   */
  readonly weightsFile?: string;
  /**
   * Positions the model is loaded for (default and most: `max_position_embeddings`, or when its KV
   * cache would not fit beside the weights, the largest power of two from 4096 up that does): the
   * memory preflight counts the KV cache for this many (the cache itself grows with use), and
   * generation stops there (`Model.contextLength`).
   */
  readonly contextLength?: number;
  /** The machine's memory for the preflight, which runs before any weight is read (default: Node's
   * `os` figures); `false` skips it. */
  readonly memory?: MemoryProbe | false;
}

/** Bytes of weights by type. */
export type BytesByType = ReadonlyMap<WeightType, number>;

/**
 * The weights of a loaded model: as the checkpoint stored them and as the backend holds them.
 * Matrices count `rows × rowBytes(type, cols)` of the type the backend kept; norm weights and biases
 * count as float32 (the loader dequantizes them).
 */
export interface WeightMemory {
  /** Bytes held in memory for all weights. */
  readonly bytes: number;
  /** Matrix bytes by the type the backend holds them in. */
  readonly held: BytesByType;
  /** Matrix bytes by the type the checkpoint stored them in. */
  readonly stored: BytesByType;
}

// A side table rather than a Model field: `Model` belongs to the architecture code; the loader is
// the only writer, and entries go with their models.
const memoryOf = new WeakMap<Model, WeightMemory>();

/** Record what `loadWeights` measured for `model` (called by the loaders). */
export function recordWeightMemory(model: Model, memory: WeightMemory): void {
  memoryOf.set(model, memory);
}

/**
 * The weight memory of a model built by `loadModel` / `loadGgufModel`; undefined for a model built
 * some other way.
 *
 * @example
 * weightMemoryOf(model)?.bytes; // 639_000_000
 */
export function weightMemoryOf(model: Model): WeightMemory | undefined {
  return memoryOf.get(model);
}

/** Tensors a checkpoint holds that the loaded model does not run (a vision tower, MTP heads). */
export interface SkippedTensors {
  readonly what: string; // e.g. "text only: image input is not supported yet (vision tower not loaded)"
  readonly count: number;
}

const skippedOf = new WeakMap<Model, readonly SkippedTensors[]>();

/** Record the tensor groups a loader left on disk (called by the loaders). */
export function recordSkippedTensors(model: Model, skipped: readonly SkippedTensors[]): void {
  skippedOf.set(model, Object.freeze([...skipped]));
}

/**
 * What the checkpoint of `model` holds that the model does not run (empty when everything was
 * loaded, or for a model built some other way). The start-up line says it.
 *
 * @example
 * skippedTensorsOf(model); // [{ what: "text only: image input is not supported yet (vision tower not loaded)", count: 333 }]
 */
export function skippedTensorsOf(model: Model): readonly SkippedTensors[] {
  return skippedOf.get(model) ?? [];
}

/**
 * The types that make up most of `bytes`, largest first, joined with "+": `q8_0`, or `q4_k+q6_k`
 * for a mixed quantization (types under 5% of the bytes are left out).
 *
 * @example
 * mainTypes(new Map([["q4_k", 900], ["q6_k", 300], ["f32", 1]])); // "q4_k+q6_k"
 */
export function mainTypes(bytes: BytesByType): string {
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  const sorted = [...bytes].sort((a, b) => b[1] - a[1]);
  const shown = sorted.filter(([, n], i) => i === 0 || n >= total * 0.05).map(([t]) => t);
  return shown.join("+");
}
