import assert from "node:assert/strict";
import { test } from "node:test";
import { synthConfigs } from "./synth.js";
import { QwenrtError } from "../util/errors.js";
import { parseModelConfig } from "../models/registry.js";

type Raw = Record<string, unknown>;
const next = (): Raw => structuredClone(synthConfigs("qwen3-next-80b-a3b").config) as Raw;
const q35 = (): Raw => structuredClone(synthConfigs("qwen3.5-0.8b").config) as Raw;
const q35moe = (): Raw => structuredClone(synthConfigs("qwen3.5-35b-a3b").config) as Raw;
const text = (c: Raw): Raw => c.text_config as Raw;

function rejects(cfg: Raw, message: string): void {
  assert.throws(() => parseModelConfig(cfg, "config.json"), (e: unknown) => {
    assert.ok(e instanceof QwenrtError, String(e));
    assert.equal(e.message, `config.json: ${message}`);
    return true;
  });
}

test("qwen3_next: layer types from full_attention_interval, DeltaNet shape, shared expert, partial RoPE", () => {
  const c = parseModelConfig(next());
  assert.equal(c.modelType, "qwen3_next");
  assert.deepEqual(c.layerTypes.slice(0, 8), ["linear_attention", "linear_attention", "linear_attention", "full_attention", "linear_attention", "linear_attention", "linear_attention", "full_attention"]);
  assert.deepEqual(c.linearAttention, { convKernel: 4, keyHeads: 16, valueHeads: 32, keyHeadDim: 128, valueHeadDim: 128 });
  assert.deepEqual([c.headDim, c.rotaryDim, c.ropeTheta, c.sharedExpertIntermediateSize, c.numExperts, c.numExpertsPerTok, c.normTopkProb], [256, 64, 1e7, 512, 512, 10, true]);
  assert.deepEqual([c.attentionOutputGate, c.mropeSection, c.intermediateSize], [true, null, 5120]);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.layerTypes));
});

test("qwen3_5: the text model's fields come from text_config; rope_parameters with mRoPE sections", () => {
  const c = parseModelConfig(q35());
  assert.equal(c.modelType, "qwen3_5");
  assert.deepEqual([c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.intermediateSize, c.vocabSize, c.tieWordEmbeddings], [1024, 24, 8, 2, 3584, 248320, true]);
  assert.deepEqual([c.rotaryDim, c.ropeTheta, c.mropeSection, c.numExperts, c.sharedExpertIntermediateSize], [64, 1e7, [11, 11, 10], 0, 0]);
  assert.deepEqual(c.ropeScaling, { type: "default" });
  assert.deepEqual(c.eosTokenIds, [248046]);
  // The text config alone (Qwen3_5ForCausalLM) reads the same.
  const alone = parseModelConfig({ ...text(q35()), model_type: "qwen3_5_text" });
  assert.deepEqual(alone, c);
});

test("qwen3_5_moe: every layer sparse, top-k always renormalised, no intermediate_size needed", () => {
  const c = parseModelConfig(q35moe());
  assert.deepEqual([c.modelType, c.numExperts, c.numExpertsPerTok, c.moeIntermediateSize, c.normTopkProb, c.decoderSparseStep, c.intermediateSize], ["qwen3_5_moe", 256, 8, 512, true, 1, 0]);
  assert.equal(c.linearAttention?.valueHeads, 32);
  const withFalse = q35moe();
  text(withFalse).norm_topk_prob = false;
  rejects(withFalse, '"text_config.norm_topk_prob" must be true: this architecture always renormalises the top-k weights');
  const withStep = q35moe();
  text(withStep).decoder_sparse_step = 2;
  rejects(withStep, '"text_config.decoder_sparse_step" is not a field of this architecture (every layer is sparse)');
});

test("hybrid configs fail loudly on missing or inconsistent fields, naming them", () => {
  for (const field of ["linear_conv_kernel_dim", "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim", "shared_expert_intermediate_size", "norm_topk_prob", "head_dim"]) {
    const c = next();
    delete c[field];
    rejects(c, `"${field}" is required`);
  }
  const noTypes = next();
  delete noTypes.full_attention_interval;
  rejects(noTypes, '"layer_types" is required (or "full_attention_interval")');
  rejects({ ...next(), linear_num_value_heads: 24, linear_num_key_heads: 16 }, '"linear_num_value_heads" (24) must be a multiple of "linear_num_key_heads" (16)');
  rejects({ ...next(), layer_types: ["linear_attention"] }, `"layer_types" must be a list of 48 layer types ("num_hidden_layers"), got ["linear_attention"]`);
  const mixed = next();
  mixed.layer_types = Array.from({ length: 48 }, (_, i) => (i % 2 === 0 ? "linear_attention" : "full_attention"));
  rejects(mixed, '"full_attention_interval" 4 disagrees with "layer_types"');
  const sliding = next();
  sliding.layer_types = Array.from({ length: 48 }, () => "sliding_attention");
  delete sliding.full_attention_interval;
  rejects(sliding, '"layer_types" [0] "sliding_attention" is not supported (supported: "linear_attention", "full_attention")');
  rejects({ ...next(), attn_output_gate: false }, '"attn_output_gate" false is not supported (the hybrid models gate every attention output)');
  rejects({ ...next(), attention_bias: true }, '"attention_bias" true is not supported (no published hybrid model has attention biases)');
  rejects({ ...next(), partial_rotary_factor: 0.31 }, '"partial_rotary_factor" 0.31 of "head_dim" 256 gives 79 rotary dimensions, which must be even and > 0');

  const section = q35();
  (text(section).rope_parameters as Raw).mrope_section = [11, 11, 11];
  rejects(section, '"text_config.rope_parameters.mrope_section" sums to 33, but the 64 rotary dimensions have 32 pairs');
  const theta = q35();
  text(theta).rope_theta = 1e6;
  rejects(theta, '"text_config.rope_theta" is 1000000 but "rope_parameters.rope_theta" is 10000000');
  const tie = q35();
  tie.tie_word_embeddings = false;
  rejects(tie, '"tie_word_embeddings" is false but "text_config.tie_word_embeddings" is true');
  const wrapped = q35();
  delete wrapped.text_config;
  rejects(wrapped, '"text_config" is required for "model_type" "qwen3_5" (the text model\'s fields)');
  const yarn = q35();
  (text(yarn).rope_parameters as Raw).rope_type = "linear";
  rejects(yarn, '"text_config.rope_parameters.rope_type" "linear" is not supported (supported: "default", "yarn")');
});

test("a plain Qwen3 config still rejects partial RoPE and reads rope_parameters when given", () => {
  const base = { model_type: "qwen3", hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, head_dim: 16, rms_norm_eps: 1e-6, vocab_size: 100, max_position_embeddings: 64 };
  rejects({ ...base, partial_rotary_factor: 0.5 }, '"partial_rotary_factor" 0.5 is not supported (only 1)');
  const c = parseModelConfig({ ...base, rope_parameters: { rope_type: "yarn", rope_theta: 5e5, factor: 2, original_max_position_embeddings: 32 } });
  assert.equal(c.ropeTheta, 5e5);
  assert.ok(c.ropeScaling.type === "yarn" && c.ropeScaling.factor === 2);
  assert.deepEqual([c.rotaryDim, c.layerTypes, c.linearAttention, c.attentionOutputGate], [16, ["full_attention", "full_attention"], null, false]);
});
