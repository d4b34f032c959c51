/**
 * Load a Hugging Face model directory: `config.json` (required), `generation_config.json`
 * (optional), `model.safetensors` or a sharded `model.safetensors.index.json`; or a `.gguf` file
 * (see `load_gguf.ts`).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsDirIndex } from "../formats/safetensors.js";
import { createRefBackend } from "../kernels/ref/index.js";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";
import { readGenerationConfig } from "./generation_config.js";
import { assembleModel } from "./assemble.js";
import { detectWeightLayout, type Architecture } from "./architecture.js";
import { loadGgufModel } from "./load_gguf.js";
import { recordSkippedTensors, type LoadOptions, type SkippedTensors } from "./load_info.js";
import type { Model } from "./model.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { loadWeights, type SourceTensor } from "./weights.js";

export type { LoadOptions } from "./load_info.js";

/**
 * Load a model directory, or a `.gguf` file (the first or any part of a split model), into a
 * ready-to-run `Model`.
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
  const configPath = join(dir, "config.json");
  const config = parseModelConfig(readJsonFile(configPath), configPath);
  const generation = readGenerationConfig(join(dir, "generation_config.json"));
  const arch = getArchitecture(config.modelType, configPath);
  const { tensors, where } = await readSafetensorsDirIndex(dir);
  const backend = opts.backend ?? createRefBackend();
  const layout = detectWeightLayout(tensors.keys());
  const { kept, skipped } = withoutIgnored(arch, tensors);
  const weights = await loadWeights(kept, arch.weightTable(config, layout), backend, where, { onProgress: opts.onProgress });
  const model = assembleModel(arch, config, generation, weights, backend, layout);
  recordSkippedTensors(model, skipped);
  return model;
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
