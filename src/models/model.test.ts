// Differential tests (cached vs uncached, chunked vs whole, batched vs single, fork/truncate,
// cache growth) and synthetic checkpoints unlike the fixtures, checked against an independent
// float64 forward pass (test/helpers/f64-forward.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeSafetensorsF64, forwardF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { QwenrtError } from "../util/errors.js";
import { isSparseLayer } from "./config.js";
import { loadModel } from "./load.js";
import type { Model } from "./model.js";
import { getArchitecture } from "./registry.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-model-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function ids(seed: number, n: number, vocab: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s % vocab;
  }
  return out;
}

/** The differential properties every model must have. */
function differentialSuite(label: string, getModel: () => Model, promptLen: number): void {
  const EPS = 1e-5;
  test(`${label}: cached incremental decode equals uncached full forward`, () => {
    const m = getModel();
    const prompt = ids(7, promptLen, m.config.vocabSize);
    const seq = m.newSequence(8);
    const split = promptLen - 4;
    m.forward([{ seq, ids: prompt.subarray(0, split) }]);
    for (let j = split; j < promptLen; j++) {
      const [cached] = m.forward([{ seq, ids: prompt.subarray(j, j + 1) }]);
      const [full] = m.forward([{ seq: m.newSequence(), ids: prompt.subarray(0, j + 1) }]);
      assert.ok(maxDiff(cached!, full!) <= EPS, `position ${j}: ${maxDiff(cached!, full!)}`);
    }
  });

  test(`${label}: chunked prefill equals whole prefill at every position`, () => {
    const m = getModel();
    const prompt = ids(11, promptLen, m.config.vocabSize);
    const [whole] = m.forward([{ seq: m.newSequence(), ids: prompt }], { logits: "all" });
    for (const maxChunk of [1, 3, 7]) {
      const [chunked] = m.forward([{ seq: m.newSequence(), ids: prompt }], { logits: "all", maxChunk });
      assert.ok(maxDiff(chunked!, whole!) <= EPS, `maxChunk ${maxChunk}`);
      const [lastOnly] = m.forward([{ seq: m.newSequence(), ids: prompt }], { maxChunk });
      assert.ok(maxDiff(lastOnly!, whole!.subarray((promptLen - 1) * m.config.vocabSize)) <= EPS, `last, maxChunk ${maxChunk}`);
    }
  });

  test(`${label}: a batch of segments from different sequences equals running them one at a time`, () => {
    const m = getModel();
    const v = m.config.vocabSize;
    const a = ids(1, promptLen, v), b = ids(2, 5, v), c = ids(3, promptLen + 3, v);
    // Sequence B already has a prefix: a decode-like segment mixed with prefill segments.
    const single = [a, b, c].map((p, i) => {
      const seq = m.newSequence();
      if (i === 1) m.forward([{ seq, ids: ids(4, 6, v) }], { logits: "none" });
      return m.forward([{ seq, ids: p }], { logits: "all" })[0]!;
    });
    const seqs = [m.newSequence(), m.newSequence(), m.newSequence()];
    m.forward([{ seq: seqs[1]!, ids: ids(4, 6, v) }], { logits: "none" });
    const batched = m.forward(
      [a, b, c].map((p, i) => ({ seq: seqs[i]!, ids: p })),
      { logits: "all", maxChunk: 4 },
    );
    batched.forEach((r, i) => assert.ok(maxDiff(r, single[i]!) <= EPS, `segment ${i}`));
    assert.deepEqual(seqs.map((s) => s.length), [promptLen, 11, promptLen + 3]);
  });

  test(`${label}: fork and truncate reuse a cached prefix exactly`, () => {
    const m = getModel();
    const v = m.config.vocabSize;
    const prefix = ids(21, promptLen, v);
    const seq = m.newSequence(2); // also grows the cache several times
    m.forward([{ seq, ids: prefix }], { logits: "none" });
    const forked = m.fork(seq);
    const [x] = m.forward([{ seq, ids: Int32Array.of(1, 2) }]);
    const [y] = m.forward([{ seq: forked, ids: Int32Array.of(3) }]);
    const full = (tail: number[]): Float32Array =>
      m.forward([{ seq: m.newSequence(), ids: Int32Array.from([...prefix, ...tail]) }])[0]!;
    assert.ok(maxDiff(x!, full([1, 2])) <= EPS, "original after fork");
    assert.ok(maxDiff(y!, full([3])) <= EPS, "fork");
    m.truncate(seq, promptLen);
    const [z] = m.forward([{ seq, ids: Int32Array.of(3) }]);
    assert.ok(maxDiff(z!, y!) <= EPS, "truncate then continue");
    assert.throws(() => m.truncate(seq, promptLen + 5), QwenrtError);
  });
}

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
