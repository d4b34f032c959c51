/**
 * The contract every architecture module (`qwen3.ts`, `qwen3_moe.ts`, `qwen2.ts`) exports. An
 * architecture owns its blocks: it declares their tensors and builds them (mixer + feed-forward +
 * norms, with the residual wiring in the architecture's own file), so a hybrid architecture can
 * build another block (another mixer, another cache slot) without touching `Model`.
 */
import type { KernelBackend } from "../kernels/types.js";
import type { AttentionOptions } from "../layers/attention.js";
import type { Block, WeightSpec, Weights } from "../layers/context.js";
import type { ConfigRules, ModelConfig } from "./config.js";

/** Where a checkpoint keeps its decoder tensors: `"model."` for a plain causal LM,
 * `"model.language_model."` for the text part of a vision-language wrapper. */
export type WeightRoot = "model." | "model.language_model.";

/** The weight root of a checkpoint from its tensor names. */
export function detectWeightRoot(names: Iterable<string>): WeightRoot {
  for (const n of names) if (n.startsWith("model.language_model.")) return "model.language_model.";
  return "model.";
}

/** An architecture, keyed by `config.json`'s `model_type` in `registry.ts`. */
export interface Architecture {
  readonly modelType: string;
  /** Which optional config groups are read (MoE fields). */
  readonly configRules: ConfigRules;
  /** Architecture-specific config checks; throw `QwenrtError("config.json", …)`. */
  checkConfig(c: ModelConfig): void;
  /** Every tensor the checkpoint must hold, by checkpoint name, with its shape. */
  weightTable(c: ModelConfig, root?: WeightRoot): WeightSpec[];
  /** Build the decoder blocks from loaded weights (embedding, final norm and LM head are shared). */
  build(c: ModelConfig, w: Weights, backend: KernelBackend, root?: WeightRoot): Block[];
}

/** Tensors outside the decoder layers: embedding, final norm, LM head unless tied. */
export function commonWeightSpecs(c: ModelConfig, root: WeightRoot = "model."): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: `${root}embed_tokens.weight`, shape: [c.vocabSize, c.hiddenSize], kind: "matrix" },
    { name: `${root}norm.weight`, shape: [c.hiddenSize], kind: "vector" },
  ];
  if (!c.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [c.vocabSize, c.hiddenSize], kind: "matrix" });
  return specs;
}

/** Attention options from the config with the architecture's variant flags. */
export function attentionOptions(
  c: ModelConfig,
  variant: { qkNorm: boolean; qkvBias: boolean; oBias: boolean },
): AttentionOptions {
  return {
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    eps: c.rmsNormEps,
    ...variant,
  };
}

/** One decoder layer as an architecture declares it: its tensors under `prefix` (e.g.
 * `model.layers.3`) and the block built from them. The two must name the same tensors (the loader
 * rejects missing and unused ones; `assembleModel` rejects declared ones the builder never took). */
export interface LayerDefinition {
  weights(c: ModelConfig, prefix: string, layer: number): WeightSpec[];
  block(c: ModelConfig, w: Weights, backend: KernelBackend, prefix: string, layer: number): Block;
}

/** An architecture from its config rules and its layer definition. */
export function defineArchitecture(def: {
  modelType: string;
  configRules: ConfigRules;
  checkConfig?: (c: ModelConfig) => void;
  layer: LayerDefinition;
}): Architecture {
  return Object.freeze({
    modelType: def.modelType,
    configRules: def.configRules,
    checkConfig: def.checkConfig ?? ((): void => undefined),
    weightTable(c: ModelConfig, root: WeightRoot = "model."): WeightSpec[] {
      const specs = commonWeightSpecs(c, root);
      for (let i = 0; i < c.numLayers; i++) specs.push(...def.layer.weights(c, `${root}layers.${i}`, i));
      return specs;
    },
    build(c: ModelConfig, w: Weights, backend: KernelBackend, root: WeightRoot = "model."): Block[] {
      return Array.from({ length: c.numLayers }, (_, i) => def.layer.block(c, w, backend, `${root}layers.${i}`, i));
    },
  });
}
