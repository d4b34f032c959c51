import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { bf16Format } from "../formats/quant/float.js";
import { loadModel } from "../models/load.js";
import { parseModelConfig } from "../models/registry.js";
import { Tokenizer } from "../tokenizer/index.js";
import { HF_LAYOUT } from "../models/architecture.js";
import { synthConfigs, synthesize, synthTensorPlan } from "./synth.js";
import { synthPresets } from "./synth-presets.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tokenizerDir = join(root, "test/fixtures/qwen3-tokenizer");
const tmp = (): string => mkdtempSync(join(tmpdir(), "qwenrt-synth-"));

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

test("synth presets: published shapes and parameter counts", () => {
  // [hidden, layers, heads, kv heads, head_dim, intermediate, tied, total params (B), non-embedding (B)]
  const want: Record<string, [number, number, number, number, number, number, boolean, number, number]> = {
    "qwen3-0.6b": [1024, 28, 16, 8, 128, 3072, true, 0.596, 0.44],
    "qwen3-1.7b": [2048, 28, 16, 8, 128, 6144, true, 1.72, 1.41],
    "qwen3-4b": [2560, 36, 32, 8, 128, 9728, true, 4.02, 3.63],
    "qwen3-8b": [4096, 36, 32, 8, 128, 12288, false, 8.19, 6.95],
    "qwen3-30b-a3b": [2048, 48, 32, 4, 128, 6144, false, 30.53, 29.91],
    "qwen2.5-0.5b": [896, 24, 14, 2, 64, 4864, true, 0.494, 0.358],
  };
  for (const [preset, [hidden, layers, heads, kv, headDim, inter, tied, total, nonEmb]] of Object.entries(want)) {
    const c = parseModelConfig(synthConfigs(preset).config);
    assert.deepEqual(
      [c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.intermediateSize, c.tieWordEmbeddings, c.vocabSize],
      [hidden, layers, heads, kv, headDim, inter, tied, 151936],
      preset,
    );
    assert.equal(c.ropeTheta, 1e6);
    assert.equal(c.rmsNormEps, 1e-6);
    const plan = synthTensorPlan(synthConfigs(preset).config);
    const params = plan.reduce((a, s) => a + count(s.shape), 0);
    const emb = plan.filter((s) => /embed_tokens|lm_head/.test(s.name)).reduce((a, s) => a + count(s.shape), 0);
    assert.ok(Math.abs(params / 1e9 - total) < 0.01, `${preset}: ${params}`);
    assert.ok(Math.abs((params - emb) / 1e9 - nonEmb) < 0.01, `${preset}: ${params - emb}`);
  }
  const moe = parseModelConfig(synthConfigs("qwen3-30b-a3b").config);
  assert.deepEqual([moe.numExperts, moe.numExpertsPerTok, moe.moeIntermediateSize, moe.normTopkProb], [128, 8, 768, true]);
  const q25 = synthTensorPlan(synthConfigs("qwen2.5-0.5b").config).map((s) => s.name);
  assert.ok(q25.includes("model.layers.0.self_attn.q_proj.bias") && !q25.some((n) => n.includes("q_norm")));
  for (const [name, p] of Object.entries(synthPresets)) assert.deepEqual(p.generationConfig.bos_token_id, name.startsWith("qwen3.5") ? 248044 : 151643);
});

test("synth hybrid presets: the published text-model shapes, layouts and parameter counts", () => {
  // [params (B), non-embedding (B), layers, linear value heads, experts]: the text model without the
  // vision tower and MTP heads (Qwen3-Next-80B-A3B 80B, Qwen3.5-35B-A3B 35B with them).
  const want: Record<string, [number, number, number, number, number]> = {
    "qwen3.5-0.8b": [0.752, 0.498, 24, 16, 0],
    "qwen3.5-2b": [1.882, 1.373, 24, 16, 0],
    "qwen3.5-35b-a3b": [34.661, 33.643, 40, 32, 256],
    "qwen3-next-80b-a3b": [79.674, 79.052, 48, 32, 512],
  };
  for (const [preset, [total, nonEmb, layers, valueHeads, experts]] of Object.entries(want)) {
    const c = parseModelConfig(synthConfigs(preset).config);
    assert.deepEqual([c.numLayers, c.linearAttention?.valueHeads, c.numExperts, c.headDim, c.rotaryDim], [layers, valueHeads, experts, 256, 64], preset);
    assert.equal(c.layerTypes.filter((t) => t === "full_attention").length, layers / 4, preset);
    const layout = { ...HF_LAYOUT, ...(synthPresets[preset]!.layout ?? {}) };
    const plan = synthTensorPlan(synthConfigs(preset).config, layout);
    const params = plan.reduce((a, s) => a + count(s.shape), 0);
    const emb = plan.filter((s) => /embed_tokens|lm_head/.test(s.name)).reduce((a, s) => a + count(s.shape), 0);
    assert.ok(Math.abs(params / 1e9 - total) < 0.001, `${preset}: ${params}`);
    assert.ok(Math.abs((params - emb) / 1e9 - nonEmb) < 0.001, `${preset}: ${params - emb}`);
  }
  const moe = synthTensorPlan(synthConfigs("qwen3.5-35b-a3b").config, { ...HF_LAYOUT, ...synthPresets["qwen3.5-35b-a3b"]!.layout! }).map((s) => s.name);
  assert.ok(moe.includes("model.language_model.layers.0.mlp.experts.gate_up_proj") && moe.includes("model.language_model.layers.0.linear_attn.in_proj_qkv.weight"));
  // --layers keeps the hybrid pattern in text_config, ending on a full-attention layer.
  const two = synthConfigs("qwen3.5-0.8b", { layers: 2 }).config.text_config as Record<string, unknown>;
  assert.deepEqual([two.num_hidden_layers, two.layer_types], [2, ["linear_attention", "full_attention"]]);
  assert.equal(two.full_attention_interval, undefined);
  const six = synthConfigs("qwen3-next-80b-a3b", { layers: 6 }).config;
  assert.deepEqual(parseModelConfig(six).layerTypes, ["linear_attention", "linear_attention", "linear_attention", "full_attention", "linear_attention", "linear_attention"]);
});

test("synthConfigs: overrides layers, vocab and dtype; rejects what cannot work, naming the flag", () => {
  const { config } = synthConfigs("qwen3-0.6b", { layers: 2, vocab: 151_700, dtype: "f32" });
  assert.equal(config.num_hidden_layers, 2);
  assert.equal(config.max_window_layers, 2);
  assert.equal(config.vocab_size, 151_700);
  assert.equal(config.torch_dtype, "float32");
  assert.equal(config.hidden_size, 1024); // the rest is the published config
  assert.equal(synthConfigs("qwen3-0.6b").config.num_hidden_layers, 28); // presets are not mutated
  assert.throws(() => synthConfigs("qwen9"), { message: /^--preset: unknown preset "qwen9"/ });
  assert.throws(() => synthConfigs("qwen3-0.6b", { vocab: 1000 }), { message: /^--vocab: must be an integer >= 151646/ });
  assert.throws(() => synthConfigs("qwen3-0.6b", { layers: 0 }), { message: /^--layers: / });
});

test("synthesize: a tiny preset round-trips through the loader, tokenizer included", async () => {
  const out = join(tmp(), "m");
  const r = synthesize({ preset: "tiny-qwen3", out, seed: 5, tokenizerDir });
  assert.deepEqual(r.files, ["model.safetensors"]);
  assert.deepEqual(r.tokenizerFiles, ["tokenizer.json", "tokenizer_config.json"]);
  assert.deepEqual(JSON.parse(readFileSync(join(out, "config.json"), "utf8")), synthPresets["tiny-qwen3"]!.config);
  const model = await loadModel(out);
  const tok = Tokenizer.fromDir(out);
  const ids = Int32Array.from(tok.encode("Hello, world"));
  const [logits] = model.forward([{ seq: model.newSequence(), ids }]);
  assert.equal(logits!.length, 151_936);
  assert.ok(logits!.every(Number.isFinite));
  assert.ok(logits!.some((x) => x !== logits![0]));

  // Realistic scale: linear weights ~ normal(0, 0.02), norms around 1.
  const { tensors } = readSafetensorsDir(out);
  const stats = (name: string): [number, number] => {
    const t = tensors.get(name)!;
    assert.equal(t.dtype, "BF16");
    const n = count(t.shape);
    const v = new Float32Array(n);
    bf16Format.dequantize(t.bytes, v, n);
    const mean = v.reduce((a, b) => a + b, 0) / n;
    return [mean, Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / n)];
  };
  const [m, sd] = stats("model.embed_tokens.weight");
  assert.ok(Math.abs(m) < 1e-3 && Math.abs(sd - 0.02) < 1e-3, `embed ${m} ${sd}`);
  const [nm, nsd] = stats("model.layers.0.input_layernorm.weight");
  assert.ok(Math.abs(nm - 1) < 0.02 && nsd < 0.05, `norm ${nm} ${nsd}`);
});

test("synthesize: sharding changes files, not tensor bytes; the seed changes bytes", async () => {
  const dir = tmp();
  synthesize({ preset: "tiny-qwen3-moe", out: join(dir, "one"), seed: 1, tokenizerDir: null });
  const sharded = synthesize({ preset: "tiny-qwen3-moe", out: join(dir, "many"), seed: 1, tokenizerDir: null, shardBytes: 3_000_000 });
  synthesize({ preset: "tiny-qwen3-moe", out: join(dir, "other"), seed: 2, tokenizerDir: null, layers: 1 });
  assert.ok(sharded.files.length >= 3, String(sharded.files));
  assert.equal(sharded.files[0], `model-00001-of-${String(sharded.files.length).padStart(5, "0")}.safetensors`);
  assert.ok(existsSync(join(dir, "many", "model.safetensors.index.json")));
  assert.ok(!existsSync(join(dir, "one", "model.safetensors.index.json")));
  const index = JSON.parse(readFileSync(join(dir, "many", "model.safetensors.index.json"), "utf8")) as {
    metadata: { total_size: number };
    weight_map: Record<string, string>;
  };
  assert.equal(index.metadata.total_size, sharded.weightBytes);
  assert.equal(index.weight_map["model.embed_tokens.weight"], sharded.files[0]);
  assert.equal(index.weight_map["lm_head.weight"], sharded.files[sharded.files.length - 1]);
  const a = readSafetensorsDir(join(dir, "one")).tensors;
  const b = readSafetensorsDir(join(dir, "many")).tensors;
  const c = readSafetensorsDir(join(dir, "other")).tensors;
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [name, t] of a) assert.ok(Buffer.from(t.bytes).equals(Buffer.from(b.get(name)!.bytes)), name);
  const w = "model.layers.0.mlp.experts.3.up_proj.weight";
  assert.ok(!Buffer.from(a.get(w)!.bytes).equals(Buffer.from(c.get(w)!.bytes)));
  assert.ok(!c.has("model.layers.1.input_layernorm.weight"));
  const model = await loadModel(join(dir, "many"));
  const [logits] = model.forward([{ seq: model.newSequence(), ids: Int32Array.of(1, 2, 3) }]);
  assert.ok(logits!.every(Number.isFinite));
});

test("synthesize: qwen2 preset in f16 loads; bad output and tokenizer dirs are refused", async () => {
  const dir = tmp();
  synthesize({ preset: "tiny-qwen2", out: join(dir, "q2"), dtype: "f16", tokenizerDir: null });
  const t = readSafetensorsDir(join(dir, "q2")).tensors.get("model.layers.1.self_attn.k_proj.bias")!;
  assert.equal(t.dtype, "F16");
  const model = await loadModel(join(dir, "q2"));
  assert.equal(model.config.modelType, "qwen2");
  mkdirSync(join(dir, "full"));
  writeFileSync(join(dir, "full", "x"), "");
  assert.throws(() => synthesize({ preset: "tiny-qwen3", out: join(dir, "full") }), { message: /^--out: .* is not empty/ });
  assert.throws(() => synthesize({ preset: "tiny-qwen3", out: join(dir, "t"), tokenizerDir: dir }), { message: /^--tokenizer: no tokenizer\.json/ });
  assert.throws(() => synthesize({ preset: "tiny-qwen3", out: join(dir, "s"), seed: -1 }), { message: /^--seed: / });
});
