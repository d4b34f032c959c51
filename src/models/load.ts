/**
 * Load a Hugging Face model directory: `config.json` (required), `generation_config.json`
 * (optional), `model.safetensors` or a sharded `model.safetensors.index.json`.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend } from "../kernels/types.js";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";
import { readGenerationConfig } from "./generation_config.js";
import { Model } from "./model.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { loadWeights } from "./weights.js";

/** Options of `loadModel`. */
export interface LoadOptions {
  /** Kernel backend (default: the float32 reference backend). */
  readonly backend?: KernelBackend;
}

/**
 * Load a model directory into a ready-to-run `Model`.
 *
 * @example
 * const model = await loadModel("models/Qwen3-0.6B");
 * const [logits] = model.forward([{ seq: model.newSequence(), ids: Int32Array.of(9707) }]);
 */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<Model> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new QwenrtError(dir, "not a model directory", { code: "not_found" });
  }
  const configPath = join(dir, "config.json");
  const config = parseModelConfig(readJsonFile(configPath), configPath);
  const generation = readGenerationConfig(join(dir, "generation_config.json"));
  const arch = getArchitecture(config.modelType, configPath);
  const { tensors } = readSafetensorsDir(dir);
  const backend = opts.backend ?? createRefBackend();
  const where = existsSync(join(dir, "model.safetensors.index.json"))
    ? join(dir, "model.safetensors.index.json")
    : join(dir, "model.safetensors");
  const weights = loadWeights(tensors, arch.weightTable(config), backend, where);
  const layers = arch.build(config, weights);
  const embed = weights.matrix("model.embed_tokens.weight");
  const lmHead = config.tieWordEmbeddings ? embed : weights.matrix("lm_head.weight");
  const finalNorm = weights.vector("model.norm.weight");
  const unused = weights.unused();
  if (unused.length > 0) throw new Error(`internal: ${arch.modelType} declares tensors its builder never used: ${unused.join(", ")}`);
  return new Model({ config, generation, backend, embed, finalNorm, lmHead, layers });
}
