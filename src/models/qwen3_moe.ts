/**
 * Qwen3-MoE (`model_type: "qwen3_moe"`): Qwen3's attention unchanged; the feed-forward of layer `i`
 * is a sparse MoE block when `i` is not in `mlp_only_layers`, `num_experts > 0` and
 * `(i + 1) % decoder_sparse_step == 0`, else the dense SwiGLU of `intermediate_size`.
 */
import type { FeedForward, WeightSpec, Weights } from "../layers/context.js";
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import { SparseMoe, moeWeightSpecs } from "../layers/moe.js";
import { defineArchitecture } from "./architecture.js";
import { isSparseLayer, type ModelConfig } from "./config.js";
import { attentionLayer, attentionLayerWeights, qwen3Attention } from "./qwen3.js";

function ffnWeights(c: ModelConfig, p: string, i: number): WeightSpec[] {
  return isSparseLayer(c, i)
    ? moeWeightSpecs(`${p}.mlp`, c.hiddenSize, c.moeIntermediateSize, c.numExperts)
    : swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize);
}

function ffn(c: ModelConfig, w: Weights, p: string, i: number): FeedForward {
  return isSparseLayer(c, i) ? new SparseMoe(w, `${p}.mlp`, c.numExperts, c.numExpertsPerTok, c.normTopkProb) : new SwiGlu(w, `${p}.mlp`);
}

/** The `qwen3_moe` architecture. */
export const qwen3Moe = defineArchitecture({
  modelType: "qwen3_moe",
  configRules: { moe: true },
  layer: {
    weights: (c, p, i) => attentionLayerWeights(c, p, qwen3Attention(c), ffnWeights(c, p, i)),
    block: (c, w, be, p, i) => attentionLayer(c, w, be, p, i, qwen3Attention(c), ffn(c, w, p, i)),
  },
});
