/**
 * Test helper: tiny random-weight hybrid checkpoints (Qwen3-Next, Qwen3.5 dense, Qwen3.5-MoE) in
 * their published layouts — Qwen3-Next's fused, interleaved `in_proj_qkvz` / `in_proj_ba` and
 * per-expert tensors; Qwen3.5's vision-language wrapper (`text_config`, `model.language_model.`,
 * `mtp.*` and `model.visual.*` tensors beside the text model) with split projections and, for the
 * MoE, transformers 5's fused experts — and the independent float64 reference's view of the same
 * config (test/helpers/f64-hybrid.ts), read from the raw JSON.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensorsF64, type F64Weights } from "./f64-forward.js";
import type { F64HybridConfig } from "./f64-hybrid.js";
import { synthesizeCheckpoint } from "./random-checkpoint.js";

export type HybridKind = "qwen3_next" | "qwen3_5" | "qwen3_5_moe";
export const HYBRID_KINDS: readonly HybridKind[] = ["qwen3_next", "qwen3_5", "qwen3_5_moe"];

/** Shape knobs of a tiny hybrid checkpoint. */
export interface TinyHybridOptions {
  readonly vocab?: number; // default 512
  readonly layers?: number; // default 4: three DeltaNet layers, then attention
  readonly mlpOnly?: readonly number[]; // qwen3_next: dense layers (default [1])
  readonly tied?: boolean;
  /** Gated DeltaNet heads: [key heads, value heads, head dim] (default [2, 4, 16]). */
  readonly linear?: readonly [number, number, number];
}

/** The raw `config.json` of a tiny hybrid model of `kind`. */
export function tinyHybridConfig(kind: HybridKind, o: TinyHybridOptions = {}): Record<string, unknown> {
  const layers = o.layers ?? 4;
  const [nk, nv, d] = o.linear ?? [2, 4, 16];
  const text: Record<string, unknown> = {
    attention_bias: false,
    head_dim: 32,
    hidden_act: "silu",
    hidden_size: 64,
    linear_conv_kernel_dim: 4,
    linear_key_head_dim: d,
    linear_num_key_heads: nk,
    linear_num_value_heads: nv,
    linear_value_head_dim: d,
    max_position_embeddings: 4096,
    num_attention_heads: 4,
    num_hidden_layers: layers,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: o.tied ?? false,
    vocab_size: o.vocab ?? 512,
    eos_token_id: 2,
    bos_token_id: 1,
  };
  if (kind === "qwen3_next") {
    return {
      ...text,
      architectures: ["Qwen3NextForCausalLM"],
      model_type: "qwen3_next",
      decoder_sparse_step: 1,
      full_attention_interval: 4,
      intermediate_size: 96,
      mlp_only_layers: [...(o.mlpOnly ?? [1])],
      moe_intermediate_size: 32,
      norm_topk_prob: true,
      num_experts: 8,
      num_experts_per_tok: 2,
      partial_rotary_factor: 0.25,
      rope_theta: 10000000,
      shared_expert_intermediate_size: 48,
    };
  }
  const layerTypes = Array.from({ length: layers }, (_, i) => ((i + 1) % 4 === 0 ? "full_attention" : "linear_attention"));
  const moe = kind === "qwen3_5_moe";
  return {
    architectures: [moe ? "Qwen3_5MoeForConditionalGeneration" : "Qwen3_5ForConditionalGeneration"],
    model_type: kind,
    tie_word_embeddings: o.tied ?? false,
    text_config: {
      ...text,
      model_type: `${kind}_text`,
      attn_output_gate: true,
      layer_types: layerTypes,
      partial_rotary_factor: 0.25,
      rope_parameters: { mrope_interleaved: true, mrope_section: [2, 1, 1], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: "default" },
      ...(moe ? { moe_intermediate_size: 32, num_experts: 8, num_experts_per_tok: 2, shared_expert_intermediate_size: 48 } : { intermediate_size: 96 }),
    },
    vision_config: { depth: 1, hidden_size: 8 },
  };
}

/** Write a tiny hybrid checkpoint of `kind` (float32 weights) into `dir`; returns its raw config. */
export function writeTinyHybrid(dir: string, kind: HybridKind, o: TinyHybridOptions & { seed?: number } = {}): Record<string, unknown> {
  const raw = tinyHybridConfig(kind, o);
  const wrapped = kind !== "qwen3_next";
  synthesizeCheckpoint(dir, raw, {
    dtype: "F32",
    seed: o.seed ?? 5,
    layout: { root: wrapped ? "model.language_model." : "model.", fusedExperts: kind === "qwen3_5_moe" },
    extra: wrapped ? new Map([["mtp.fc.weight", [64, 128]], ["mtp.layers.0.input_layernorm.weight", [64]], ["model.visual.patch_embed.proj.weight", [8, 12]]]) : new Map([["mtp.fc.weight", [64, 128]]]),
  });
  return raw;
}

/** The float64 reference's config, read straight from the raw config.json. */
export function f64HybridConfig(raw: Record<string, unknown>): F64HybridConfig {
  const inner = raw.text_config;
  const t: Record<string, unknown> = typeof inner === "object" && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : raw;
  const num = (k: string): number => {
    const v = t[k];
    if (typeof v !== "number") throw new Error(`f64HybridConfig: "${k}" is not a number`);
    return v;
  };
  const layers = num("num_hidden_layers");
  const listed = t.layer_types;
  const types = Array.from({ length: layers }, (_, i): "linear_attention" | "full_attention" => {
    const v = Array.isArray(listed) ? listed[i] : (i + 1) % num("full_attention_interval") === 0 ? "full_attention" : "linear_attention";
    return v === "full_attention" ? "full_attention" : "linear_attention";
  });
  const experts = typeof t.num_experts === "number" ? t.num_experts : 0;
  const mlpOnly = Array.isArray(t.mlp_only_layers) ? t.mlp_only_layers : [];
  const rope = t.rope_parameters;
  const theta = typeof rope === "object" && rope !== null && "rope_theta" in rope && typeof rope.rope_theta === "number" ? rope.rope_theta : num("rope_theta");
  return {
    hidden: num("hidden_size"),
    layers,
    layerTypes: types,
    eps: num("rms_norm_eps"),
    heads: num("num_attention_heads"),
    kvHeads: num("num_key_value_heads"),
    headDim: num("head_dim"),
    rotaryDim: Math.trunc(num("head_dim") * num("partial_rotary_factor")),
    theta,
    convKernel: num("linear_conv_kernel_dim"),
    keyHeads: num("linear_num_key_heads"),
    valueHeads: num("linear_num_value_heads"),
    keyDim: num("linear_key_head_dim"),
    valueDim: num("linear_value_head_dim"),
    fusedProjections: raw.model_type === "qwen3_next",
    sparse: (l) => experts > 0 && !mlpOnly.includes(l),
    topK: experts > 0 ? num("num_experts_per_tok") : 0,
    normTopk: raw.model_type === "qwen3_5_moe" || t.norm_topk_prob === true,
    root: raw.model_type === "qwen3_next" ? "model." : "model.language_model.",
    tied: t.tie_word_embeddings === true,
  };
}

/** The checkpoint's tensors as float64 (one `model.safetensors`). */
export function f64Weights(dir: string): F64Weights {
  return decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
}
