/**
 * Strict weight loading against an architecture's declared table: every declared tensor must be
 * present with the declared shape, and every tensor in the checkpoint must be declared. Matrices go
 * through `backend.loadMatrix`; norm weights and biases are dequantized and go through
 * `backend.loadVector`. Tensors still on disk (`FileTensor`, formats/tensor_source.ts) are read with
 * positioned reads: a matrix straight into the backend's memory when it offers `loadMatrixFrom`
 * (wasm: into its bank, or a slab at a time when the layout changes on load), else — and for
 * vectors — one at a time into one reused scratch buffer sized to the largest such tensor
 * (`loadMatrix` copies or converts what it is given and keeps no reference to it). Either way host
 * memory never holds the file, and with `loadMatrixFrom` not even one whole tensor.
 */
import { dequantizeAll, rowBytes } from "../formats/quant/index.js";
import type { WeightType } from "../formats/quant/types.js";
import { isFileTensor, tensorByteLength, TensorFileReader, type TensorSource } from "../formats/tensor_source.js";
import type { KernelBackend, Matrix, Tensor } from "../kernels/types.js";
import type { VectorTransform, WeightSpec, Weights } from "../layers/context.js";
import { QwenrtError } from "../util/errors.js";
import type { LoadProgressListener, WeightMemory } from "./load_info.js";

/** A tensor as any checkpoint reader provides it: in memory, or a range of a file read on demand. */
export type SourceTensor = TensorSource;

/** Loaded weights that also report which declared names were never taken (a builder bug). */
export interface LoadedWeights extends Weights {
  unused(): string[];
  /** What the weights take in memory, as loaded. */
  readonly memory: WeightMemory;
}

/** Options of {@link loadWeights}. */
export interface LoadWeightsOptions {
  /** Hears `load` events: source bytes (read from disk and) handed to the backend so far, of all
   * declared tensors; one at 0 first, `done` only grows, the last is at `total`. */
  readonly onProgress?: LoadProgressListener;
  /** Yield to the event loop after about this many source bytes (default 64 MiB). */
  readonly yieldBytes?: number;
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function addBytes(map: Map<WeightType, number>, type: WeightType, n: number): void {
  map.set(type, (map.get(type) ?? 0) + n);
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The float32 values of a vector as the model holds them. */
function transformed(v: Float32Array, t: VectorTransform | undefined): Float32Array {
  if (t === "onePlus") for (let i = 0; i < v.length; i++) v[i] = 1 + v[i]!;
  else if (t === "negExp") for (let i = 0; i < v.length; i++) v[i] = -Math.exp(v[i]!);
  return v;
}

/** The names a spec is taken by: its parts', or its own. */
function namesOf(s: WeightSpec): string[] {
  return s.parts === undefined ? [s.name] : s.parts.map((p) => p.name);
}

function listNames(names: string[], limit = 12): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Check `tensors` against `table` and load them, yielding to the event loop every ~64 MiB so a
 * progress bar can redraw (quantize-on-load can take minutes).
 *
 * @param where file or directory named in errors
 * @example
 * const w = await loadWeights(tensors, arch.weightTable(config), backend, "model/model.safetensors");
 */
export async function loadWeights(
  tensors: ReadonlyMap<string, SourceTensor>,
  table: readonly WeightSpec[],
  backend: KernelBackend,
  where: string,
  opts: LoadWeightsOptions = {},
): Promise<LoadedWeights> {
  const declared = new Map(table.map((s) => [s.name, s] as const));
  const missing = table.filter((s) => !tensors.has(s.name)).map((s) => s.name);
  if (missing.length > 0) {
    throw new QwenrtError(where, `missing tensor${missing.length > 1 ? "s" : ""}: ${listNames(missing)}`);
  }
  const extra = [...tensors.keys()].filter((n) => !declared.has(n));
  if (extra.length > 0) {
    const tiedHint = extra.includes("lm_head.weight") ? ' ("lm_head.weight" is unused because "tie_word_embeddings" is true)' : "";
    throw new QwenrtError(where, `unused tensor${extra.length > 1 ? "s" : ""} the model does not declare: ${listNames(extra)}${tiedHint}`);
  }
  for (const s of table) {
    const t = tensors.get(s.name)!;
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new QwenrtError(where, `tensor "${s.name}" has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`);
    }
    const rows = product(s.shape) / s.shape[s.shape.length - 1]!;
    for (const p of s.parts ?? []) {
      if (p.rows.some((r) => !Number.isInteger(r) || r < 0 || r >= rows)) throw new Error(`internal: part "${p.name}" of "${s.name}" selects rows outside 0..${rows - 1}`);
    }
  }

  const matrices = new Map<string, Matrix>();
  const vectors = new Map<string, Tensor>();
  const held = new Map<WeightType, number>();
  const stored = new Map<WeightType, number>();
  let bytes = 0;
  const total = table.reduce((n, s) => n + tensorByteLength(tensors.get(s.name)!), 0);
  const yieldBytes = opts.yieldBytes ?? 64 * 1024 * 1024;
  let done = 0;
  let sinceYield = 0;
  const reader = new TensorFileReader();
  // Matrices on disk go straight into the backend where it can take them so.
  const loadFrom = backend.loadMatrixFrom?.bind(backend);
  const direct = (s: WeightSpec, t: SourceTensor): boolean => loadFrom !== undefined && s.kind === "matrix" && s.parts === undefined && isFileTensor(t);
  // One scratch for every other tensor still on disk, sized to the largest of them.
  let scratchBytes = 0;
  for (const s of table) {
    const t = tensors.get(s.name)!;
    if (isFileTensor(t) && !direct(s, t)) scratchBytes = Math.max(scratchBytes, t.byteLength);
  }
  const scratch = new Uint8Array(scratchBytes);
  const dataOf = async (t: SourceTensor): Promise<Uint8Array> => (isFileTensor(t) ? reader.read(t, scratch) : t.bytes);
  opts.onProgress?.({ phase: "load", done, total });
  try {
    for (const s of table) {
      const t = tensors.get(s.name)!;
      const size = tensorByteLength(t);
      if (s.kind === "matrix") {
        const cols = s.shape[s.shape.length - 1]!;
        const rb = rowBytes(t.type, cols);
        const load = (name: string, rows: number, m: Matrix): void => {
          matrices.set(name, m);
          // What the backend holds (ref: f32; wasm: the file's type or a converted one), as it reports;
          // counted at the type's nominal size (a backend's repacked layout may pad it).
          const n = rows * rowBytes(m.type, cols);
          addBytes(held, m.type, n);
          bytes += n;
        };
        if (direct(s, t) && isFileTensor(t)) {
          const rows = product(s.shape) / cols;
          load(s.name, rows, await loadFrom!(t.type, rows, cols, (first, count, into) => {
            if (into.byteLength !== count * rb) throw new Error(`internal: ${into.byteLength} bytes for ${count} rows of "${t.name}"`);
            return reader.readRange(t, first * rb, into);
          }));
        } else {
          const data = await dataOf(t);
          if (s.parts === undefined) {
            const rows = product(s.shape) / cols;
            load(s.name, rows, backend.loadMatrix({ type: t.type, rows, cols, bytes: data }));
          }
          // Parts: rows picked out of one checkpoint tensor (an interleaved projection split on load).
          for (const p of s.parts ?? []) {
            const out = new Uint8Array(p.rows.length * rb);
            p.rows.forEach((r, i) => out.set(data.subarray(r * rb, (r + 1) * rb), i * rb));
            load(p.name, p.rows.length, backend.loadMatrix({ type: t.type, rows: p.rows.length, cols, bytes: out }));
          }
        }
        addBytes(stored, t.type, size);
      } else {
        const v = transformed(dequantizeAll(t.type, await dataOf(t), product(s.shape)), s.transform);
        vectors.set(s.name, backend.loadVector(v));
        bytes += v.byteLength;
      }
      done += size;
      sinceYield += size;
      if (size > 0) opts.onProgress?.({ phase: "load", done, total });
      if (sinceYield >= yieldBytes) {
        sinceYield = 0;
        await nextTick();
      }
    }
  } finally {
    await reader.close();
  }
  const taken = new Set<string>();
  const take = <T>(map: Map<string, T>, name: string, kind: string): T => {
    const v = map.get(name);
    if (v === undefined) throw new Error(`internal: "${name}" is not declared as a ${kind} in the weight table`);
    taken.add(name);
    return v;
  };
  return {
    matrix: (name) => take(matrices, name, "matrix"),
    vector: (name) => take(vectors, name, "vector"),
    unused: () => table.flatMap(namesOf).filter((n) => !taken.has(n)),
    memory: { bytes, held, stored },
  };
}
