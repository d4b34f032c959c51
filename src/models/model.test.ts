// Differential tests (cached vs uncached, chunked vs whole, batched vs single, fork/truncate,
// cache growth) and synthetic checkpoints unlike the fixtures, checked against an independent
// float64 forward pass (test/helpers/f64-forward.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { differentialSuite, ids } from "../../test/helpers/differential.js";
import { decodeSafetensorsF64, forwardF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { isSparseLayer } from "./config.js";
import { loadModel } from "./load.js";
import { getArchitecture } from "./registry.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-model-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("fixture qwen3-dense-tiny forward invariants", async () => {
  const model = await loadModel(join(fixtures, "qwen3-dense-tiny"));
  differentialSuite("qwen3-dense-tiny", () => model, 12);

  test("forward rejects out-of-vocab ids and a sequence twice in one batch, naming them", () => {
    const seq = model.newSequence();
    assert.throws(() => model.forward([{ seq, ids: Int32Array.of(5, 151936) }]), /index 1: token id 151936/);
    assert.throws(() => model.forward([{ seq, ids: Int32Array.of(5) }, { seq, ids: Int32Array.of(6) }]), /repeats a sequence/);
    assert.equal(seq.length, 0, "a rejected batch leaves the cache untouched");
  });
});

interface Synthetic {
  label: string;
  raw: Record<string, unknown>;
  f64: F64Config;
  shards?: number;
  dtype?: "BF16" | "F16" | "F32";
}

const base = { vocab_size: 97, rms_norm_eps: 1e-6, max_position_embeddings: 4096, bos_token_id: 1, eos_token_id: [2, 3] };
const synthetics: Synthetic[] = [
  {
    label: "qwen3 MQA (1 kv head), head_dim ≠ hidden/heads, theta 1e4, q/k/v/o biases, untied",
    raw: { ...base, model_type: "qwen3", hidden_size: 24, intermediate_size: 40, num_hidden_layers: 2, num_attention_heads: 3, num_key_value_heads: 1, head_dim: 10, rope_theta: 10000, attention_bias: true, tie_word_embeddings: false },
    f64: { modelType: "qwen3", hidden: 24, heads: 3, kvHeads: 1, headDim: 10, layers: 2, eps: 1e-6, theta: 10000, attentionBias: true, tied: false, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] },
  },
  {
    label: "qwen3_moe with mlp_only_layers, decoder_sparse_step 2, top-3 of 4 unnormalised, F32, 3 shards",
    raw: { ...base, model_type: "qwen3_moe", hidden_size: 16, intermediate_size: 24, moe_intermediate_size: 12, num_experts: 4, num_experts_per_tok: 3, norm_topk_prob: false, decoder_sparse_step: 2, mlp_only_layers: [3], num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, rope_theta: 500000, tie_word_embeddings: true },
    f64: { modelType: "qwen3_moe", hidden: 16, heads: 4, kvHeads: 2, headDim: 8, layers: 4, eps: 1e-6, theta: 500000, attentionBias: false, tied: true, numExperts: 4, topK: 3, normTopk: false, sparseStep: 2, mlpOnly: [3] },
    shards: 3,
    dtype: "F32",
  },
  {
    label: "qwen2 with YaRN (factor 2, explicit beta_fast 16), 6 heads / 3 kv, F16",
    raw: { ...base, model_type: "qwen2", hidden_size: 36, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 3, rope_theta: 10000, rope_scaling: { rope_type: "yarn", factor: 2, original_max_position_embeddings: 64, beta_fast: 16 }, tie_word_embeddings: true },
    f64: { modelType: "qwen2", hidden: 36, heads: 6, kvHeads: 3, headDim: 6, layers: 2, eps: 1e-6, theta: 10000, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [], yarn: { factor: 2, original: 64, betaFast: 16, betaSlow: 1, attentionFactor: 0.1 * Math.log(2) + 1 } },
    dtype: "F16",
  },
];

for (const [i, s] of synthetics.entries()) {
  describe(`synthetic ${s.label}`, async () => {
    const dir = join(tmp, `synth-${i}`);
    synthesizeCheckpoint(dir, s.raw, { seed: 100 + i, shards: s.shards, dtype: s.dtype });
    const model = await loadModel(dir);
    differentialSuite(s.raw.model_type as string, () => model, 9);

    test("all-position logits match an independent float64 forward pass", (t) => {
      const files = s.shards === undefined ? ["model.safetensors"] : Array.from({ length: s.shards }, (_, k) => `model-0000${k + 1}-of-0000${s.shards}.safetensors`);
      const weights = new Map(files.flatMap((f) => [...decodeSafetensorsF64(readFileSync(join(dir, f)))]));
      const prompt = ids(33 + i, 20, model.config.vocabSize);
      const want = forwardF64(s.f64, weights, [...prompt]);
      const [got] = model.forward([{ seq: model.newSequence(), ids: prompt }], { logits: "all", maxChunk: 8 });
      let worst = 0;
      want.forEach((row, pos) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got![pos * row.length + j]!)))));
      assert.ok(worst <= 1e-4, `max |Δ| vs float64 ${worst}`);
      t.diagnostic(`max |Δ| vs float64 ${worst.toExponential(2)}`);
    });
  });
}

test("qwen3_moe layer plan follows mlp_only_layers and decoder_sparse_step as transformers", async () => {
  const model = await loadModel(join(tmp, "synth-1"));
  const c = model.config;
  assert.deepEqual([0, 1, 2, 3].map((l) => isSparseLayer(c, l)), [false, true, false, false]);
  const names = getArchitecture("qwen3_moe").weightTable(c).map((w) => w.name);
  assert.ok(names.includes("model.layers.1.mlp.experts.3.down_proj.weight"));
  assert.ok(names.includes("model.layers.0.mlp.gate_proj.weight"));
  assert.ok(!names.includes("model.layers.3.mlp.gate.weight"));
});
