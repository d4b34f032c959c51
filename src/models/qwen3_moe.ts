/**
 * Qwen3-MoE (`model_type: "qwen3_moe"`): Qwen3's attention unchanged; the feed-forward of layer `i`
 * is a sparse MoE block when `i` is not in `mlp_only_layers`, `num_experts > 0` and
 * `(i + 1) % decoder_sparse_step == 0`, else the dense SwiGLU of `intermediate_size`.
 */
import { defineArchitecture } from "./architecture.js";
import { isSparseLayer } from "./config.js";
import { qwen3Attention } from "./qwen3.js";

/** The `qwen3_moe` architecture. */
export const qwen3Moe = defineArchitecture({
  modelType: "qwen3_moe",
  configRules: { moe: true },
  plan: (c, i) => ({ attention: qwen3Attention(c), ffn: isSparseLayer(c, i) ? "moe" : "dense" }),
});
