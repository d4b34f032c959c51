/**
 * Qwen3.5's published config.json and generation_config.json, as synth presets use them: a
 * vision-language wrapper whose text model is the hybrid (Gated DeltaNet + gated attention) decoder.
 */
import type { JsonObject } from "./synth-json.js";

export const qwen35Generation: JsonObject = {
  bos_token_id: 248044,
  do_sample: true,
  eos_token_id: [248046, 248044],
  pad_token_id: 248044,
  temperature: 0.6,
  top_k: 20,
  top_p: 0.95,
  transformers_version: "4.57.0.dev0",
};

/** Qwen3.5 `config.json` (a vision-language wrapper; its `vision_config` left out, as synth writes
 * no vision tower) with the text model's fields that differ per size. */
export function qwen35(text: { hidden: number; layers: number; heads: number; kvHeads: number; valueHeads: number; tied: boolean; intermediate?: number; moe?: { experts: number; topK: number; inter: number } }): JsonObject {
  const moe = text.moe;
  const layerTypes = Array.from({ length: text.layers }, (_, i) => ((i + 1) % 4 === 0 ? "full_attention" : "linear_attention"));
  return {
    architectures: [moe === undefined ? "Qwen3_5ForConditionalGeneration" : "Qwen3_5MoeForConditionalGeneration"],
    image_token_id: 248056,
    model_type: moe === undefined ? "qwen3_5" : "qwen3_5_moe",
    text_config: {
      attention_bias: false,
      attention_dropout: 0.0,
      attn_output_gate: true,
      bos_token_id: 248044,
      dtype: "bfloat16",
      eos_token_id: 248046,
      full_attention_interval: 4,
      head_dim: 256,
      hidden_act: "silu",
      hidden_size: text.hidden,
      initializer_range: 0.02,
      ...(text.intermediate === undefined ? {} : { intermediate_size: text.intermediate }),
      layer_types: layerTypes,
      linear_conv_kernel_dim: 4,
      linear_key_head_dim: 128,
      linear_num_key_heads: 16,
      linear_num_value_heads: text.valueHeads,
      linear_value_head_dim: 128,
      mamba_ssm_dtype: "float32",
      max_position_embeddings: 262144,
      model_type: moe === undefined ? "qwen3_5_text" : "qwen3_5_moe_text",
      ...(moe === undefined ? {} : { moe_intermediate_size: moe.inter, num_experts: moe.experts, num_experts_per_tok: moe.topK, shared_expert_intermediate_size: moe.inter }),
      mtp_num_hidden_layers: 1,
      num_attention_heads: text.heads,
      num_hidden_layers: text.layers,
      num_key_value_heads: text.kvHeads,
      partial_rotary_factor: 0.25,
      rms_norm_eps: 1e-6,
      rope_parameters: { mrope_interleaved: true, mrope_section: [11, 11, 10], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: "default" },
      tie_word_embeddings: text.tied,
      use_cache: true,
      vocab_size: 248320,
    },
    tie_word_embeddings: text.tied,
    transformers_version: "4.57.0.dev0",
    video_token_id: 248057,
    vision_end_token_id: 248054,
    vision_start_token_id: 248053,
  };
}
