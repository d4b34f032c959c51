/**
 * Qwen2 / Qwen2.5 / QwQ (`model_type: "qwen2"`): Qwen3's decoder without q/k norm, with biases on
 * the q, k and v projections (always, whatever `attention_bias` says) and none on o.
 */
import { attentionOptions, defineArchitecture } from "./architecture.js";

/** The `qwen2` architecture. */
export const qwen2 = defineArchitecture({
  modelType: "qwen2",
  configRules: { moe: false },
  plan: (c) => ({ attention: attentionOptions(c, { qkNorm: false, qkvBias: true, oBias: false }), ffn: "dense" }),
});
