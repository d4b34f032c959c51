/**
 * Qwen3 dense (`model_type: "qwen3"`): pre-norm decoder, grouped-query attention with per-head
 * q/k RMSNorm before RoPE, `head_dim` independent of `hidden / heads`, SwiGLU MLP. Projection biases
 * only with `attention_bias` (then on q, k, v and o, as transformers' `Qwen3Attention`).
 */
import type { AttentionOptions } from "../layers/attention.js";
import { attentionOptions, defineArchitecture } from "./architecture.js";
import type { ModelConfig } from "./config.js";

/** Qwen3 attention: q/k norm, biases per `attention_bias`. Reused by `qwen3_moe`. */
export function qwen3Attention(c: ModelConfig): AttentionOptions {
  return attentionOptions(c, { qkNorm: true, qkvBias: c.attentionBias, oBias: c.attentionBias });
}

/** The `qwen3` architecture. */
export const qwen3 = defineArchitecture({
  modelType: "qwen3",
  configRules: { moe: false },
  plan: (c) => ({ attention: qwen3Attention(c), ffn: "dense" }),
});
