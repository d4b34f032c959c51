/**
 * Load a Hugging Face model directory: `config.json` (required), `generation_config.json`
 * (optional), `model.safetensors` or a sharded `model.safetensors.index.json`; or a `.gguf` file
 * (see `load_gguf.ts`).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ggufTensorsAsHf } from "../formats/gguf/arch.js";
import { readGgufIndex } from "../formats/gguf/read.js";
import { readSafetensorsDirIndex } from "../formats/safetensors.js";
import type { TensorSource } from "../formats/tensor_source.js";
import { createRefBackend } from "../kernels/ref/index.js";
import { QwenrtError } from "../util/errors.js";
import { isObject, readJsonFile } from "../util/json.js";
import { guardHeadSpecs, isStreamGuardConfig, loadGuardHeads, parseGuardHeadConfig, STREAM_GUARD_ARCHITECTURE, type GuardHeads } from "./guard_heads.js";
import { readGenerationConfig } from "./generation_config.js";
import { assembleModel } from "./assemble.js";
import { detectWeightLayout, GGUF_LAYOUT, type Architecture } from "./architecture.js";
import { loadGgufModel } from "./load_gguf.js";
import { recordSkippedTensors, type LoadOptions, type SkippedTensors } from "./load_info.js";
import type { Model } from "./model.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { loaderPreflight } from "./preflight.js";
import { loadWeights, type SourceTensor } from "./weights.js";

export type { LoadOptions } from "./load_info.js";

/**
 * The memory preflight of a model directory as `opts.backend` would hold it (after any `dtype`
 * conversion), from config.json and the safetensors headers alone: throws, with the numbers and the
 * way out, when it does not fit. `loadModel` runs it itself; this is for work done before the load
 * (quantizing into the cache).
 *
 * @example
 * await preflightModelDir("models/Qwen3-32B", { backend: await createWasmBackend({ dtype: "q4_k" }) });
 */
export async function preflightModelDir(dir: string, opts: LoadOptions = {}): Promise<void> {
  const configPath = join(dir, "config.json");
  const config = parseModelConfig(readJsonFile(configPath), configPath);
  const arch = getArchitecture(config.modelType, configPath);
  const { tensors } = await readSafetensorsDirIndex(dir);
  const { kept } = withoutIgnored(arch, tensors);
  loaderPreflight(dir, config, arch.weightTable(config, detectWeightLayout(kept.keys())), kept, opts.backend ?? createRefBackend(), opts);
}

/**
 * Load a model directory, or a `.gguf` file (the first or any part of a split model), into a
 * ready-to-run `Model`. A directory's weights may come from a GGUF made from it (`opts.weightsFile`).
 *
 * @example
 * const model = await loadModel("models/Qwen3-0.6B");
 * const [logits] = model.forward([{ seq: model.newSequence(), ids: Int32Array.of(9707) }]);
 */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  if (existsSync(dir) && statSync(dir).isFile()) {
    if (!/\.gguf$/i.test(dir)) throw new QwenrtError(dir, "not a model directory or a .gguf file");
    return loadGgufModel(dir, opts);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new QwenrtError(dir, "not a model directory", { code: "not_found" });
  }
  const { model, heads } = await loadDir(dir, opts);
  if (heads !== undefined) {
    throw new QwenrtError(join(dir, "config.json"), `"architectures" is ${STREAM_GUARD_ARCHITECTURE} (Qwen3Guard-Stream): load it with loadStreamGuard, or serve it as --guard`);
  }
  return model;
}

/** A Qwen3Guard-Stream checkpoint: its Qwen3 backbone and its classifier heads. */
export interface LoadedStreamGuard {
  readonly model: Model;
  readonly heads: GuardHeads;
}

/**
 * Load a Qwen3Guard-Stream directory (`Qwen3ForGuardModel`): the backbone as a `Model` (its
 * forward with `output: "hidden"` feeds the heads) and the heads, each tensor checked.
 *
 * @example
 * const { model, heads } = await loadStreamGuard("models/Qwen3Guard-Stream-0.6B");
 */
export async function loadStreamGuard(dir: string, opts: LoadOptions = {}): Promise<LoadedStreamGuard> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new QwenrtError(dir, "not a model directory", { code: "not_found" });
  const { model, heads } = await loadDir(dir, opts);
  if (heads === undefined) throw new QwenrtError(join(dir, "config.json"), `"architectures" does not name ${STREAM_GUARD_ARCHITECTURE}: not a Qwen3Guard-Stream checkpoint`);
  return { model, heads };
}

/** Whether `dir` is a Qwen3Guard-Stream model directory (by its config.json). */
export function isStreamGuardDir(dir: string): boolean {
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) return false;
  const raw = readJsonFile(configPath);
  return isObject(raw) && isStreamGuardConfig(raw);
}

/** Load a model directory; a Stream guard's head tensors are split off and loaded as heads. */
async function loadDir(dir: string, opts: LoadOptions): Promise<{ model: Model; heads?: GuardHeads }> {
  const configPath = join(dir, "config.json");
  const raw = readJsonFile(configPath);
  const config = parseModelConfig(raw, configPath);
  const generation = readGenerationConfig(join(dir, "generation_config.json"));
  const arch = getArchitecture(config.modelType, configPath);
  // The weights: the directory's safetensors, or a GGUF made from them (`opts.weightsFile`).
  const all: { tensors: ReadonlyMap<string, TensorSource>; where: string } =
    opts.weightsFile === undefined ? await readSafetensorsDirIndex(dir) : { tensors: ggufTensorsAsHf(readGgufIndex(opts.weightsFile)), where: opts.weightsFile };
  const headConfig = isObject(raw) && isStreamGuardConfig(raw) ? parseGuardHeadConfig(raw, configPath) : undefined;
  const headNames = new Set(headConfig === undefined ? [] : guardHeadSpecs(headConfig).map((s) => s.name));
  const tensors = new Map([...all.tensors].filter(([name]) => !headNames.has(name)));
  const where = all.where;
  const backend = opts.backend ?? createRefBackend();
  // A GGUF's tensors come renamed to HF names, in llama.cpp's layout (formats/gguf/arch.ts).
  const layout = opts.weightsFile === undefined ? detectWeightLayout(tensors.keys()) : GGUF_LAYOUT;
  const { kept, skipped } = withoutIgnored(arch, tensors);
  const table = arch.weightTable(config, layout);
  const contextLength = loaderPreflight(dir, config, table, kept, backend, opts);
  const heads = headConfig === undefined ? undefined : await loadGuardHeads(headConfig, all.tensors, where);
  const weights = await loadWeights(kept, table, backend, where, { onProgress: opts.onProgress });
  const model = assembleModel(arch, config, generation, weights, backend, layout, contextLength);
  // From a GGUF made from the directory, what the directory holds beside it is still said.
  recordSkippedTensors(model, opts.weightsFile === undefined ? skipped : withoutIgnored(arch, (await readSafetensorsDirIndex(dir)).tensors).skipped);
  return heads === undefined ? { model } : { model, heads };
}

/** The checkpoint's tensors without the groups the architecture does not run, and those groups. */
export function withoutIgnored(arch: Architecture, tensors: ReadonlyMap<string, SourceTensor>): { kept: Map<string, SourceTensor>; skipped: SkippedTensors[] } {
  const kept = new Map<string, SourceTensor>();
  const counts = new Map<string, number>();
  for (const [name, t] of tensors) {
    const group = arch.ignoredTensors.find((g) => name.startsWith(g.prefix));
    if (group === undefined) kept.set(name, t);
    else counts.set(group.what, (counts.get(group.what) ?? 0) + 1);
  }
  return { kept, skipped: [...counts].map(([what, count]) => ({ what, count })) };
}
