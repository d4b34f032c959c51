/**
 * Strict weight loading against an architecture's declared table: every declared tensor must be
 * present with the declared shape, and every tensor in the checkpoint must be declared. Matrices go
 * through `backend.loadMatrix`; norm weights and biases are dequantized to Float32Array.
 */
import { dequantizeAll } from "../formats/quant/index.js";
import type { WeightType } from "../formats/quant/types.js";
import type { KernelBackend, Matrix } from "../kernels/types.js";
import type { WeightSpec, Weights } from "../layers/context.js";
import { QwenrtError } from "../util/errors.js";

/** A tensor as any checkpoint reader provides it (safetensors today, GGUF later). */
export interface SourceTensor {
  readonly type: WeightType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** Loaded weights that also report which declared names were never taken (a builder bug). */
export interface LoadedWeights extends Weights {
  unused(): string[];
}

function listNames(names: string[], limit = 12): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Check `tensors` against `table` and load them.
 *
 * @param where file or directory named in errors
 * @example
 * const w = loadWeights(tensors, arch.weightTable(config), backend, "model/model.safetensors");
 */
export function loadWeights(
  tensors: ReadonlyMap<string, SourceTensor>,
  table: readonly WeightSpec[],
  backend: KernelBackend,
  where: string,
): LoadedWeights {
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
  }

  const matrices = new Map<string, Matrix>();
  const vectors = new Map<string, Float32Array>();
  for (const s of table) {
    const t = tensors.get(s.name)!;
    if (s.kind === "matrix") {
      matrices.set(s.name, backend.loadMatrix({ type: t.type, rows: s.shape[0]!, cols: s.shape[1]!, bytes: t.bytes }));
    } else {
      vectors.set(s.name, dequantizeAll(t.type, t.bytes, s.shape[0]!));
    }
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
    unused: () => table.map((s) => s.name).filter((n) => !taken.has(n)),
  };
}
