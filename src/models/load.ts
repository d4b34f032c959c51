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
import { detectWeightRoot } from "./architecture.js";
import { loadGgufModel } from "./load_gguf.js";
import type { LoadOptions } from "./load_info.js";
import type { Model } from "./model.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { loaderPreflight } from "./preflight.js";
import { loadWeights } from "./weights.js";

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
  const root = detectWeightRoot(tensors.keys());
  const table = arch.weightTable(config, root);
  const contextLength = loaderPreflight(dir, config, table, tensors, backend, opts);
  const weights = await loadWeights(tensors, table, backend, where, { onProgress: opts.onProgress });
  return assembleModel(arch, config, generation, weights, backend, root, contextLength);
}
