/**
 * The last step every checkpoint format shares: build the architecture's layers from loaded weights
 * and wire embedding, final norm and LM head into a `Model`.
 */
import type { KernelBackend } from "../kernels/types.js";
import { HF_LAYOUT, type Architecture, type WeightLayout } from "./architecture.js";
import type { ModelConfig } from "./config.js";
import type { GenerationConfig } from "./generation_config.js";
import { recordWeightMemory } from "./load_info.js";
import { Model } from "./model.js";
import type { LoadedWeights } from "./weights.js";

/**
 * Assemble a `Model` from strictly loaded weights (decoder tensors under `layout.root`), for
 * `contextLength` positions (default `max_position_embeddings`).
 *
 * @example
 * const model = assembleModel(arch, config, generation, await loadWeights(tensors, arch.weightTable(config), backend, where), backend);
 */
export function assembleModel(
  arch: Architecture,
  config: ModelConfig,
  generation: GenerationConfig,
  weights: LoadedWeights,
  backend: KernelBackend,
  layout: WeightLayout = HF_LAYOUT,
  contextLength: number = config.maxPositionEmbeddings,
): Model {
  const root = layout.root;
  const blocks = arch.build(config, weights, backend, layout);
  const embed = weights.matrix(`${root}embed_tokens.weight`);
  const lmHead = config.tieWordEmbeddings ? embed : weights.matrix("lm_head.weight");
  const finalNorm = weights.vector(`${root}norm.weight`);
  const unused = weights.unused();
  if (unused.length > 0) throw new Error(`internal: ${arch.modelType} declares tensors its builder never used: ${unused.join(", ")}`);
  const model = new Model({ config, generation, backend, embed, finalNorm, lmHead, blocks, contextLength });
  recordWeightMemory(model, weights.memory);
  return model;
}
