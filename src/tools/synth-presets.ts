/**
 * Model shapes for `qwenrt synth`, as data: each preset is the `config.json` and
 * `generation_config.json` exactly as published on the Hugging Face Hub (key order included), so a
 * synthesized directory differs from the real one only in its weight values. The `tiny-*` presets
 * are the shapes of the test fixtures in `test/fixtures/models/` (full vocabulary, so the real
 * tokenizer works with them).
 *
 * Sources of the shapes: the `config.json` files of Qwen/Qwen3-{0.6B,1.7B,4B,8B,14B,32B},
 * Qwen/Qwen3-30B-A3B, Qwen/Qwen3-235B-A22B (hidden 4096, 94 layers, 64/4 heads, 128 experts of
 * 1536, top 8), Qwen/QwQ-32B (qwen2: hidden 5120, FFN 27648, 64 layers, 40/8 heads, vocabulary
 * 152064) and Qwen/Qwen2.5-0.5B on the Hugging Face Hub. QwQ-32B's generation_config.json is
 * given as recalled (its sampling defaults do not change a shape).
 */

import type { JsonObject } from "./synth-json.js";
import { qwen35, qwen35Generation } from "./synth-presets-qwen35.js";

/** A raw JSON object as written to disk. */
export type { JsonObject, JsonValue } from "./synth-json.js";

/** One synthesizable model: its Hub name, its two config files, and where its checkpoint keeps the
 * decoder (`model.language_model.` in the Qwen3.5 vision-language wrappers) and whether its experts
 * are fused per layer (transformers 5's `experts.gate_up_proj`). */
export interface SynthPreset {
  readonly hubName: string;
  readonly config: JsonObject;
  readonly generationConfig: JsonObject;
  readonly layout?: { readonly root: "model." | "model.language_model."; readonly fusedExperts: boolean };
}

const qwen3Generation: JsonObject = {
  bos_token_id: 151643,
  do_sample: true,
  eos_token_id: [151645, 151643],
  pad_token_id: 151643,
  temperature: 0.6,
  top_k: 20,
  top_p: 0.95,
  transformers_version: "4.51.0",
};

/** Qwen3 dense `config.json` with the fields that differ per size. */
function qwen3Dense(hidden: number, layers: number, heads: number, intermediate: number, tied: boolean): JsonObject {
  return {
    architectures: ["Qwen3ForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: "silu",
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: intermediate,
    max_position_embeddings: 40960,
    max_window_layers: layers,
    model_type: "qwen3",
    num_attention_heads: heads,
    num_hidden_layers: layers,
    num_key_value_heads: 8,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: tied,
    torch_dtype: "bfloat16",
    transformers_version: "4.51.0",
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

/** Qwen3 mixture-of-experts `config.json` (128 experts, top 8) with the fields that differ per size. */
function qwen3Moe(hidden: number, layers: number, heads: number, intermediate: number, moeIntermediate: number): JsonObject {
  return {
    architectures: ["Qwen3MoeForCausalLM"],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    decoder_sparse_step: 1,
    eos_token_id: 151645,
    head_dim: 128,
    hidden_act: "silu",
    hidden_size: hidden,
    initializer_range: 0.02,
    intermediate_size: intermediate,
    max_position_embeddings: 40960,
    max_window_layers: layers,
    mlp_only_layers: [],
    model_type: "qwen3_moe",
    moe_intermediate_size: moeIntermediate,
    norm_topk_prob: true,
    num_attention_heads: heads,
    num_experts: 128,
    num_experts_per_tok: 8,
    num_hidden_layers: layers,
    num_key_value_heads: 4,
    output_router_logits: false,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000.0,
    router_aux_loss_coef: 0.001,
    sliding_window: null,
    tie_word_embeddings: false,
    torch_dtype: "bfloat16",
    transformers_version: "4.51.0",
    use_cache: true,
    use_sliding_window: false,
    vocab_size: 151936,
  };
}

/** Fields the fixtures' tiny shapes share (see test/fixtures/README.md). */
const tinyBase = {
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  hidden_act: "silu",
  initializer_range: 0.02,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  torch_dtype: "bfloat16",
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
} as const;

/**
 * Qwen3Guard-Stream's extra config.json fields (`Qwen3ForGuardModel`): the heads' inner width and
 * the class names of each head. Reconstructed, not copied from the Hub (no network here): the field
 * names are those vLLM's and SGLang's `qwen3_guard.py` and the remote code read; the risk levels are
 * `{0: Safe, 1: Unsafe, 2: Controversial}` on both sides as published; the category names are the
 * Qwen3Guard policy's (the prompt side adds Jailbreak), which the published maps may spell differently.
 */
export function streamGuardFields(inner: number): JsonObject {
  const risk = { "0": "Safe", "1": "Unsafe", "2": "Controversial" };
  const categories = ["Violent", "Non-violent Illegal Acts", "Sexual Content or Sexual Acts", "PII", "Suicide & Self-Harm", "Unethical Acts", "Politically Sensitive Topics", "Copyright Violation"];
  const map = (names: readonly string[]): JsonObject => Object.fromEntries(names.map((n, i) => [String(i), n]));
  return {
    guard_inner_size: inner,
    num_category: categories.length,
    num_query_category: categories.length + 1,
    num_query_risk_level: 3,
    num_risk_level: 3,
    query_category_map: map([...categories, "Jailbreak"]),
    query_risk_level_map: risk,
    response_category_map: map(categories),
    response_risk_level_map: risk,
  };
}

/** A preset's config as a Qwen3Guard-Stream checkpoint (same backbone, `Qwen3ForGuardModel`, the head fields). */
function asStreamGuard(config: JsonObject, inner: number): JsonObject {
  return { ...config, architectures: ["Qwen3ForGuardModel"], ...streamGuardFields(inner) };
}

/** The shape of test/fixtures/models/qwen3-dense-tiny. */
const tinyQwen3: JsonObject = {
      architectures: ["Qwen3ForCausalLM"],
      attention_bias: false,
      ...tinyBase,
      head_dim: 16,
      hidden_size: 32,
      intermediate_size: 96,
      max_position_embeddings: 40960,
      max_window_layers: 2,
      model_type: "qwen3",
      num_attention_heads: 4,
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
      transformers_version: "4.51.0",
    };


/** Every preset by its `--preset` name. */
export const synthPresets: Readonly<Record<string, SynthPreset>> = {
  "qwen3.5-0.8b": {
    hubName: "Qwen/Qwen3.5-0.8B",
    config: qwen35({ hidden: 1024, layers: 24, heads: 8, kvHeads: 2, valueHeads: 16, tied: true, intermediate: 3584 }),
    generationConfig: qwen35Generation,
    layout: { root: "model.language_model.", fusedExperts: false },
  },
  "qwen3.5-2b": {
    hubName: "Qwen/Qwen3.5-2B",
    config: qwen35({ hidden: 2048, layers: 24, heads: 8, kvHeads: 2, valueHeads: 16, tied: true, intermediate: 6144 }),
    generationConfig: qwen35Generation,
    layout: { root: "model.language_model.", fusedExperts: false },
  },
  "qwen3.5-35b-a3b": {
    hubName: "Qwen/Qwen3.5-35B-A3B",
    config: qwen35({ hidden: 2048, layers: 40, heads: 16, kvHeads: 2, valueHeads: 32, tied: false, moe: { experts: 256, topK: 8, inter: 512 } }),
    generationConfig: qwen35Generation,
    layout: { root: "model.language_model.", fusedExperts: true },
  },
  "qwen3-next-80b-a3b": {
    hubName: "Qwen/Qwen3-Next-80B-A3B-Instruct",
    config: {
      architectures: ["Qwen3NextForCausalLM"],
      attention_bias: false,
      attention_dropout: 0.0,
      bos_token_id: 151643,
      decoder_sparse_step: 1,
      eos_token_id: 151645,
      full_attention_interval: 4,
      head_dim: 256,
      hidden_act: "silu",
      hidden_size: 2048,
      initializer_range: 0.02,
      intermediate_size: 5120,
      linear_conv_kernel_dim: 4,
      linear_key_head_dim: 128,
      linear_num_key_heads: 16,
      linear_num_value_heads: 32,
      linear_value_head_dim: 128,
      max_position_embeddings: 262144,
      mlp_only_layers: [],
      model_type: "qwen3_next",
      moe_intermediate_size: 512,
      norm_topk_prob: true,
      num_attention_heads: 16,
      num_experts: 512,
      num_experts_per_tok: 10,
      num_hidden_layers: 48,
      num_key_value_heads: 2,
      output_router_logits: false,
      partial_rotary_factor: 0.25,
      rms_norm_eps: 1e-6,
      rope_scaling: null,
      rope_theta: 10000000,
      router_aux_loss_coef: 0.001,
      shared_expert_intermediate_size: 512,
      tie_word_embeddings: false,
      torch_dtype: "bfloat16",
      transformers_version: "4.57.0.dev0",
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 151936,
    },
    generationConfig: { ...qwen3Generation, temperature: 0.7, top_k: 20, top_p: 0.8 },
  },
  "qwen3-0.6b": { hubName: "Qwen/Qwen3-0.6B", config: qwen3Dense(1024, 28, 16, 3072, true), generationConfig: qwen3Generation },
  "qwen3-1.7b": { hubName: "Qwen/Qwen3-1.7B", config: qwen3Dense(2048, 28, 16, 6144, true), generationConfig: qwen3Generation },
  "qwen3-4b": { hubName: "Qwen/Qwen3-4B", config: qwen3Dense(2560, 36, 32, 9728, true), generationConfig: qwen3Generation },
  "qwen3-8b": { hubName: "Qwen/Qwen3-8B", config: qwen3Dense(4096, 36, 32, 12288, false), generationConfig: qwen3Generation },
  "qwen3-14b": { hubName: "Qwen/Qwen3-14B", config: qwen3Dense(5120, 40, 40, 17408, false), generationConfig: qwen3Generation },
  "qwen3-32b": { hubName: "Qwen/Qwen3-32B", config: qwen3Dense(5120, 64, 64, 25600, false), generationConfig: qwen3Generation },
  "qwen3-30b-a3b": { hubName: "Qwen/Qwen3-30B-A3B", config: qwen3Moe(2048, 48, 32, 6144, 768), generationConfig: qwen3Generation },
  // Shape only: ~470 GB in bf16, ~130 GB at Q4 — for preflight and planning, not for this machine.
  "qwen3-235b-a22b": { hubName: "Qwen/Qwen3-235B-A22B", config: qwen3Moe(4096, 94, 64, 12288, 1536), generationConfig: qwen3Generation },
  "qwq-32b": {
    hubName: "Qwen/QwQ-32B",
    config: {
      architectures: ["Qwen2ForCausalLM"],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151645,
      hidden_act: "silu",
      hidden_size: 5120,
      initializer_range: 0.02,
      intermediate_size: 27648,
      max_position_embeddings: 131072,
      max_window_layers: 64,
      model_type: "qwen2",
      num_attention_heads: 40,
      num_hidden_layers: 64,
      num_key_value_heads: 8,
      rms_norm_eps: 1e-5,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: false,
      torch_dtype: "bfloat16",
      transformers_version: "4.43.1",
      use_cache: true,
      use_sliding_window: false,
      vocab_size: 152064,
    },
    generationConfig: {
      bos_token_id: 151643,
      do_sample: true,
      eos_token_id: [151645, 151643],
      pad_token_id: 151643,
      repetition_penalty: 1.0,
      temperature: 0.6,
      top_k: 40,
      top_p: 0.95,
      transformers_version: "4.45.2",
    },
  },
  "qwen2.5-0.5b": {
    hubName: "Qwen/Qwen2.5-0.5B",
    config: {
      architectures: ["Qwen2ForCausalLM"],
      attention_dropout: 0.0,
      bos_token_id: 151643,
      eos_token_id: 151643,
      hidden_act: "silu",
      hidden_size: 896,
      initializer_range: 0.02,
      intermediate_size: 4864,
      max_position_embeddings: 32768,
      max_window_layers: 24,
      model_type: "qwen2",
      num_attention_heads: 14,
      num_hidden_layers: 24,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      sliding_window: 32768,
      tie_word_embeddings: true,
      torch_dtype: "bfloat16",
      transformers_version: "4.40.1",
      use_cache: true,
      use_mrope: false,
      use_sliding_window: false,
      vocab_size: 151936,
    },
    generationConfig: {
      bos_token_id: 151643,
      do_sample: false,
      eos_token_id: 151643,
      max_new_tokens: 2048,
      transformers_version: "4.37.0",
    },
  },
  "tiny-qwen3": {
    hubName: "test/fixtures/models/qwen3-dense-tiny",
    config: tinyQwen3,
    generationConfig: qwen3Generation,
  },
  // Qwen3Guard-Stream-0.6B: Qwen3-0.6B's backbone and the guard heads (inner width 512).
  "qwen3guard-stream-0.6b": { hubName: "Qwen/Qwen3Guard-Stream-0.6B", config: asStreamGuard(qwen3Dense(1024, 28, 16, 3072, true), 512), generationConfig: qwen3Generation },
  "tiny-qwen3guard-stream": { hubName: "tiny Qwen3Guard-Stream (the tiny-qwen3 backbone)", config: asStreamGuard(tinyQwen3, 16), generationConfig: qwen3Generation },
  "tiny-qwen3-moe": {
    hubName: "test/fixtures/models/qwen3-moe-tiny",
    config: {
      architectures: ["Qwen3MoeForCausalLM"],
      attention_bias: false,
      ...tinyBase,
      decoder_sparse_step: 1,
      head_dim: 16,
      hidden_size: 16,
      intermediate_size: 64,
      max_position_embeddings: 40960,
      max_window_layers: 2,
      mlp_only_layers: [],
      model_type: "qwen3_moe",
      moe_intermediate_size: 32,
      norm_topk_prob: true,
      num_attention_heads: 4,
      num_experts: 8,
      num_experts_per_tok: 2,
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      output_router_logits: false,
      router_aux_loss_coef: 0.001,
      tie_word_embeddings: false,
      transformers_version: "4.51.0",
    },
    generationConfig: qwen3Generation,
  },
  "tiny-qwen2": {
    hubName: "test/fixtures/models/qwen2-tiny",
    config: {
      architectures: ["Qwen2ForCausalLM"],
      ...tinyBase,
      hidden_size: 32,
      intermediate_size: 64,
      max_position_embeddings: 32768,
      max_window_layers: 2,
      model_type: "qwen2",
      num_attention_heads: 4,
      num_hidden_layers: 2,
      num_key_value_heads: 2,
      tie_word_embeddings: true,
      transformers_version: "4.51.0",
    },
    generationConfig: qwen3Generation,
  },
};
