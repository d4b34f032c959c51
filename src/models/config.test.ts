import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { QwenrtError } from "../util/errors.js";
import { parseGenerationConfig } from "./generation_config.js";
import { parseModelConfig, supportedModelTypes } from "./registry.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const raw = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`${fixtures}${name}/config.json`, "utf8")) as Record<string, unknown>;

function rejects(cfg: Record<string, unknown>, message: string): void {
  assert.throws(() => parseModelConfig(cfg, "config.json"), (e: unknown) => {
    assert.ok(e instanceof QwenrtError);
    assert.equal(e.message, `config.json: ${message}`);
    return true;
  });
}

test("config of the dense fixture parses into a frozen typed object with head_dim kept", () => {
  const c = parseModelConfig(raw("qwen3-dense-tiny"));
  assert.ok(Object.isFrozen(c));
  assert.equal(c.modelType, "qwen3");
  assert.deepEqual([c.hiddenSize, c.numHeads, c.numKvHeads, c.headDim, c.numLayers], [32, 4, 2, 16, 2]);
  assert.deepEqual([c.tieWordEmbeddings, c.ropeTheta, c.numExperts, c.bosTokenId], [true, 1e6, 0, 151643]);
  assert.deepEqual(c.eosTokenIds, [151645]);
  assert.deepEqual(c.ropeScaling, { type: "default" });
});

test("qwen2 derives head_dim from hidden / heads; qwen3_moe reads the MoE fields", () => {
  assert.equal(parseModelConfig(raw("qwen2-tiny")).headDim, 8);
  const m = parseModelConfig(raw("qwen3-moe-tiny"));
  assert.deepEqual([m.numExperts, m.numExpertsPerTok, m.moeIntermediateSize, m.normTopkProb, m.decoderSparseStep], [8, 2, 32, true, 1]);
  assert.deepEqual(m.mlpOnlyLayers, []);
});

test("yarn rope_scaling gets the reference defaults (beta 32/1, truncate) and keeps explicit values", () => {
  const y = parseModelConfig({ ...raw("qwen3-dense-tiny"), rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 32768 } });
  assert.deepEqual(y.ropeScaling, { type: "yarn", factor: 4, originalMaxPositionEmbeddings: 32768, betaFast: 32, betaSlow: 1, mscale: null, mscaleAllDim: null, attentionFactor: null, truncate: true });
  const z = parseModelConfig({ ...raw("qwen3-dense-tiny"), max_position_embeddings: 1000, rope_scaling: { type: "yarn", original_max_position_embeddings: 250, truncate: false } });
  assert.ok(z.ropeScaling.type === "yarn" && z.ropeScaling.factor === 4 && !z.ropeScaling.truncate);
});

test("impossible or missing config values are errors naming the field and value", () => {
  const moe = raw("qwen3-moe-tiny");
  rejects({ ...moe, num_experts_per_tok: 9 }, '"num_experts_per_tok" must be <= "num_experts" (8), got 9');
  rejects({ ...moe, mlp_only_layers: [5] }, '"mlp_only_layers" lists layer 5 but "num_hidden_layers" is 2');
  const { moe_intermediate_size: _drop, ...noMoeInter } = moe;
  rejects(noMoeInter, '"moe_intermediate_size" is required');
  const dense = raw("qwen3-dense-tiny");
  rejects({ ...dense, hidden_size: -1 }, '"hidden_size" must be a positive integer, got -1');
  rejects({ ...dense, num_key_value_heads: 3 }, '"num_attention_heads" (4) must be a multiple of "num_key_value_heads" (3)');
  rejects({ ...dense, num_hidden_layers: "2" }, '"num_hidden_layers" must be a positive integer, got "2"');
  rejects({ ...dense, head_dim: 15 }, '"head_dim" must be even for rotary embeddings, got 15');
  rejects({ ...dense, eos_token_id: 151936 }, '"eos_token_id" 151936 is not below "vocab_size" (151936)');
  rejects({ ...dense, rope_scaling: { rope_type: "linear", factor: 2 } }, '"rope_scaling.rope_type" "linear" is not supported (supported: "default", "yarn")');
  rejects({ ...dense, rope_scaling: { rope_type: "yarn" } }, '"rope_scaling.factor" is required for yarn (or give original_max_position_embeddings)');
  rejects({ ...dense, hidden_act: "gelu" }, '"hidden_act" "gelu" is not supported (only "silu")');
  const { vocab_size: _v, ...noVocab } = dense;
  rejects(noVocab, '"vocab_size" is required');
});

test("an unknown model_type is an error listing the supported ones", () => {
  rejects({ ...raw("qwen3-dense-tiny"), model_type: "llama" }, `"model_type" "llama" is not supported (supported: ${supportedModelTypes.join(", ")})`);
  assert.deepEqual([...supportedModelTypes].sort(), ["qwen2", "qwen3", "qwen3_5", "qwen3_5_moe", "qwen3_5_moe_text", "qwen3_5_text", "qwen3_moe", "qwen3_next"]);
});

test("generation_config: eos as int or list, sampling fields typed, bad values named", () => {
  const g = parseGenerationConfig(JSON.parse(readFileSync(`${fixtures}qwen3-dense-tiny/generation_config.json`, "utf8")));
  assert.deepEqual(g, { eosTokenIds: [151645, 151643], bosTokenId: 151643, padTokenId: 151643, doSample: true, temperature: 0.6, topK: 20, topP: 0.95 });
  assert.deepEqual(parseGenerationConfig({ eos_token_id: 7, min_p: 0, repetition_penalty: 1.1 }), { eosTokenIds: [7], minP: 0, repetitionPenalty: 1.1 });
  assert.throws(() => parseGenerationConfig({ top_p: 1.5 }, "gen.json"), /gen\.json: "top_p" must be a number in \[0, 1\], got 1\.5/);
  assert.throws(() => parseGenerationConfig({ eos_token_id: "x" }, "gen.json"), /"eos_token_id"/);
});
