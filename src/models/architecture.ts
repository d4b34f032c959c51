/**
 * The contract every architecture module (`qwen3.ts`, `qwen3_moe.ts`, `qwen2.ts`) exports, and the
 * decoder-stack helpers they are built from: the weight-name table and the builder are both derived
 * from one per-layer plan, so the names the loader checks are exactly the names the builder takes.
 */
import { Attention, attentionWeightSpecs, type AttentionOptions } from "../layers/attention.js";
import type { FeedForward, WeightSpec, Weights } from "../layers/context.js";
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import { SparseMoe, moeWeightSpecs } from "../layers/moe.js";
import type { ConfigRules, ModelConfig } from "./config.js";

/** What one decoder layer is made of. */
export interface LayerPlan {
  readonly attention: AttentionOptions;
  readonly ffn: "dense" | "moe";
}

/** One loaded decoder layer: pre-norm attention and pre-norm feed-forward, each with a residual. */
export interface DecoderLayer {
  readonly inputNorm: Float32Array; // [hidden]
  readonly attention: Attention;
  readonly postAttentionNorm: Float32Array; // [hidden]
  readonly ffn: FeedForward;
}

/** An architecture, keyed by `config.json`'s `model_type` in `registry.ts`. */
export interface Architecture {
  readonly modelType: string;
  /** Which optional config groups are read (MoE fields). */
  readonly configRules: ConfigRules;
  /** Architecture-specific config checks; throw `QwenrtError("config.json", …)`. */
  checkConfig(c: ModelConfig): void;
  /** Every tensor the checkpoint must hold, by checkpoint name, with its shape. */
  weightTable(c: ModelConfig): WeightSpec[];
  /** Build the decoder layers from loaded weights (embedding, final norm and LM head are shared). */
  build(c: ModelConfig, w: Weights): DecoderLayer[];
}

/** Tensors outside the decoder layers: embedding, final norm, LM head unless tied. */
export function commonWeightSpecs(c: ModelConfig): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: "model.embed_tokens.weight", shape: [c.vocabSize, c.hiddenSize], kind: "matrix" },
    { name: "model.norm.weight", shape: [c.hiddenSize], kind: "vector" },
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

/** The full weight table of a decoder stack described by `plan`. */
export function decoderWeightTable(c: ModelConfig, plan: (layer: number) => LayerPlan): WeightSpec[] {
  const specs = commonWeightSpecs(c);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const lp = plan(i);
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [c.hiddenSize], kind: "vector" },
      { name: `${p}.post_attention_layernorm.weight`, shape: [c.hiddenSize], kind: "vector" },
      ...attentionWeightSpecs(`${p}.self_attn`, lp.attention),
      ...(lp.ffn === "moe"
        ? moeWeightSpecs(`${p}.mlp`, c.hiddenSize, c.moeIntermediateSize, c.numExperts)
        : swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize)),
    );
  }
  return specs;
}

/** Build the decoder layers described by `plan`. */
export function buildDecoderLayers(c: ModelConfig, w: Weights, plan: (layer: number) => LayerPlan): DecoderLayer[] {
  const layers: DecoderLayer[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    const lp = plan(i);
    layers.push({
      inputNorm: w.vector(`${p}.input_layernorm.weight`),
      attention: new Attention(w, `${p}.self_attn`, lp.attention, i),
      postAttentionNorm: w.vector(`${p}.post_attention_layernorm.weight`),
      ffn:
        lp.ffn === "moe"
          ? new SparseMoe(w, `${p}.mlp`, c.numExperts, c.numExpertsPerTok, c.normTopkProb)
          : new SwiGlu(w, `${p}.mlp`),
    });
  }
  return layers;
}

/** An architecture from a per-layer plan. Each architecture module is this call plus its checks. */
export function defineArchitecture(def: {
  modelType: string;
  configRules: ConfigRules;
  checkConfig?: (c: ModelConfig) => void;
  plan: (c: ModelConfig, layer: number) => LayerPlan;
}): Architecture {
  return Object.freeze({
    modelType: def.modelType,
    configRules: def.configRules,
    checkConfig: def.checkConfig ?? ((): void => undefined),
    weightTable: (c: ModelConfig) => decoderWeightTable(c, (i) => def.plan(c, i)),
    build: (c: ModelConfig, w: Weights) => buildDecoderLayers(c, w, (i) => def.plan(c, i)),
  });
}
