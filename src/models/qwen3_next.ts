/**
 * Qwen3-Next (`model_type: "qwen3_next"`, Qwen3-Next-80B-A3B): the hybrid decoder (models/hybrid.ts)
 * with Gated DeltaNet projections fused and interleaved per key head (`in_proj_qkvz`, `in_proj_ba`),
 * and a feed-forward that is, per Qwen3-MoE's rule, a sparse MoE with a sigmoid-gated shared expert
 * or a dense SwiGLU of `intermediate_size`.
 */
import type { FeedForward, WeightSpec, Weights } from "../layers/context.js";
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import { SharedExpertMoe, moeWeightSpecs, sharedExpertWeightSpecs } from "../layers/moe.js";
import { defineArchitecture, type WeightLayout } from "./architecture.js";
import { isSparseLayer, type ModelConfig } from "./config.js";
import { checkHybridConfig, hybridLayer } from "./hybrid.js";

/** A sparse layer's MoE + shared expert tensors under `p` (`p.mlp.…`). */
export function sharedMoeWeights(c: ModelConfig, p: string, layout: WeightLayout): WeightSpec[] {
  return [
    ...moeWeightSpecs(`${p}.mlp`, c.hiddenSize, c.moeIntermediateSize, c.numExperts, layout.fusedExperts),
    ...sharedExpertWeightSpecs(`${p}.mlp`, c.hiddenSize, c.sharedExpertIntermediateSize),
  ];
}

/** A sparse layer's MoE + shared expert under `p`. */
export function sharedMoe(c: ModelConfig, w: Weights, p: string): FeedForward {
  return new SharedExpertMoe(w, `${p}.mlp`, c.numExperts, c.numExpertsPerTok, c.normTopkProb);
}

/** The `qwen3_next` architecture. */
export const qwen3Next = defineArchitecture({
  modelType: "qwen3_next",
  zeroCentredNorm: true,
  ignoredTensors: [{ prefix: "mtp.", what: "MTP heads not loaded (multi-token prediction is not used yet)" }],
  configRules: { moe: true, hybrid: true },
  checkConfig: checkHybridConfig,
  layer: hybridLayer({
    // llama.cpp's converter splits in_proj_qkvz into attn_qkv + attn_gate and keeps ssm_ba fused.
    projections: (layout) => (layout.format === "hf" ? "interleaved" : "qkvz-split"),
    tiledHeads: () => false,
    ffnWeights: (c, p, i, layout) => (isSparseLayer(c, i) ? sharedMoeWeights(c, p, layout) : swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize)),
    ffn: (c, w, p, i) => (isSparseLayer(c, i) ? sharedMoe(c, w, p) : new SwiGlu(w, `${p}.mlp`)),
  }),
});
