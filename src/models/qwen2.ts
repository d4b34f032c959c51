/**
 * Qwen2 / Qwen2.5 / QwQ (`model_type: "qwen2"`): Qwen3's decoder without q/k norm, with biases on
 * the q, k and v projections (always, whatever `attention_bias` says) and none on o.
 */
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import type { AttentionOptions } from "../layers/attention.js";
import { attentionOptions, defineArchitecture } from "./architecture.js";
import type { ModelConfig } from "./config.js";
import { attentionLayer, attentionLayerWeights } from "./qwen3.js";

const qwen2Attention = (c: ModelConfig): AttentionOptions => attentionOptions(c, { qkNorm: false, qkvBias: true, oBias: false });

/** The `qwen2` architecture. */
export const qwen2 = defineArchitecture({
  modelType: "qwen2",
  configRules: { moe: false },
  layer: {
    weights: (c, p) => attentionLayerWeights(c, p, qwen2Attention(c), swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize)),
    block: (c, w, be, p, i) => attentionLayer(c, w, be, p, i, qwen2Attention(c), new SwiGlu(w, `${p}.mlp`)),
  },
});
