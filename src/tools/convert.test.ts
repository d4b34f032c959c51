import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ggufTensorsAsHf, ggufToHfConfig } from "../formats/gguf/arch.js";
import { readGguf } from "../formats/gguf/read.js";
import { ggufTokenizerData } from "../formats/gguf/tokenizer_meta.js";
import { encodeGguf } from "../formats/gguf/write.js";
import { dequantizeAll } from "../formats/quant/index.js";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { isFileTensor } from "../formats/tensor_source.js";
import { parseModelConfig } from "../models/registry.js";
import { isObject, readJsonFile } from "../util/json.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { buildGgufFromHf, convertHfToGguf } from "./convert.js";

const fixtures = new URL("../../test/fixtures/", import.meta.url).pathname;
const tokenizerDir = join(fixtures, "qwen3-tokenizer");
const out = mkdtempSync(join(tmpdir(), "qwenrt-convert-"));

async function convert(model: string, type: Parameters<typeof convertHfToGguf>[2]["type"], logs: string[] = []): Promise<string> {
  const path = join(out, `${model}-${type}.gguf`);
  await convertHfToGguf(join(fixtures, "models", model), path, { type, tokenizerDir, log: (l) => logs.push(l), threads: 2 });
  return path;
}

for (const model of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
  test(`${model} converted to F32 GGUF reads back as the same tensors, config and metadata`, async () => {
    const dir = join(fixtures, "models", model);
    const path = await convert(model, "f32");
    const g = readGguf(path);
    const hfRaw = readJsonFile(join(dir, "config.json"));
    const want = parseModelConfig(hfRaw, "config.json");
    const got = parseModelConfig(ggufToHfConfig(g), path);
    for (const k of ["modelType", "vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKvHeads", "headDim", "tieWordEmbeddings", "attentionBias", "numExperts", "numExpertsPerTok", "moeIntermediateSize", "normTopkProb", "maxPositionEmbeddings"] as const) {
      assert.deepEqual(got[k], want[k], k);
    }
    assert.equal(got.rmsNormEps, Math.fround(want.rmsNormEps));
    assert.equal(got.ropeTheta, Math.fround(want.ropeTheta));
    const st = readSafetensorsDir(dir).tensors;
    const hf = ggufTensorsAsHf(g);
    const expected = [...st.keys()].filter((n) => !(n === "lm_head.weight" && want.tieWordEmbeddings)).sort();
    assert.deepEqual([...hf.keys()].sort(), expected);
    for (const [name, t] of st) {
      const h = hf.get(name);
      if (h === undefined) continue;
      assert.ok(!isFileTensor(h), name);
      assert.deepEqual(h.shape, t.shape, name);
      const n = t.shape.reduce((a, b) => a * b, 1);
      assert.deepEqual(dequantizeAll(h.type, h.bytes, n), dequantizeAll(t.type, t.bytes, n), name);
    }
    // re-encoding what we read gives the file's bytes: metadata and tensors are bit-identical
    assert.deepEqual(encodeGguf({ metadata: g.metadata, tensors: [...g.tensors.values()] }), new Uint8Array(readFileSync(path)));
  });
}

test("converted GGUF carries the Qwen3 tokenizer: tokens, types, merges, special ids, template", async () => {
  const g = readGguf(await convert("qwen3-dense-tiny", "bf16"));
  const tok = ggufTokenizerData(g);
  const tj = JSON.parse(readFileSync(join(tokenizerDir, "tokenizer.json"), "utf8")) as { model: { merges: unknown[] } };
  const tc = JSON.parse(readFileSync(join(tokenizerDir, "tokenizer_config.json"), "utf8")) as { chat_template: string };
  assert.equal(tok.model, "gpt2");
  assert.equal(tok.pre, "qwen2");
  assert.equal(tok.tokens.length, 151936);
  assert.equal(tok.tokens[151645], "<|im_end|>");
  assert.equal(tok.tokenTypes![151645], 3);
  assert.equal(tok.tokenTypes![151667], 4, "<think> is an added, non-special token");
  assert.equal(tok.tokenTypes![0], 1);
  assert.equal(tok.tokens[151935], "[PAD151935]");
  assert.equal(tok.tokenTypes![151935], 5);
  assert.equal(tok.merges.length, tj.model.merges.length);
  assert.equal(tok.eosTokenId, 151645);
  assert.equal(tok.paddingTokenId, 151643);
  assert.equal(tok.bosTokenId, 151643);
  assert.equal(tok.chatTemplate, tc.chat_template);
  assert.equal(g.tensors.get("blk.0.attn_q.weight")!.type, "bf16");
  assert.equal(g.tensors.get("blk.0.attn_norm.weight")!.type, "f32");
});

test("F16 GGUF holds the bf16 checkpoint's weights to half precision (exact above f16's normal range)", async () => {
  const g = readGguf(await convert("qwen3-dense-tiny", "f16"));
  const hf = ggufTensorsAsHf(g);
  for (const [name, t] of readSafetensorsDir(join(fixtures, "models", "qwen3-dense-tiny")).tensors) {
    const h = hf.get(name)!;
    assert.ok(!isFileTensor(h), name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    assert.equal(h.type, t.shape.length === 1 ? "f32" : "f16", name);
    const got = dequantizeAll(h.type, h.bytes, n);
    const want = dequantizeAll(t.type, t.bytes, n);
    for (let i = 0; i < n; i++) {
      // bf16 has 8 significant bits, f16 11: only values below f16's normal range (2^-14) round
      const tol = Math.abs(want[i]!) >= 2 ** -14 ? 0 : 2 ** -25;
      if (Math.abs(got[i]! - want[i]!) > tol) assert.fail(`${name}[${i}]: ${got[i]} vs ${want[i]}`);
    }
  }
});

test("Q4_K_M on a 32-wide model falls back the way llama.cpp does and says so", async () => {
  const logs: string[] = [];
  const g = readGguf(await convert("qwen3-dense-tiny", "q4_k_m", logs));
  const types = Object.fromEntries([...g.tensors.values()].map((t) => [t.name, t.type]));
  assert.equal(types["token_embd.weight"], "q8_0"); // tied: output rules, 32 % 256 ≠ 0 → Q8_0
  assert.equal(types["blk.0.attn_q.weight"], "q5_0"); // Q4_K → Q5_0
  assert.equal(types["blk.1.attn_v.weight"], "q8_0"); // use_more_bits → Q6_K → Q8_0
  assert.equal(types["blk.1.ffn_down.weight"], "q8_0");
  assert.equal(types["blk.0.attn_q_norm.weight"], "f32");
  assert.ok(logs.some((l) => /blk\.0\.attn_q\.weight: row length 32 .* falling back to q5_0/.test(l)), logs.join("\n"));
  assert.equal(g.metadata.get("general.file_type")?.value, 15);
});

test("the streamed, SIMD-quantized file equals the in-memory reference conversion byte for byte", async () => {
  for (const [model, type] of [["qwen3-moe-tiny", "q8_0"], ["qwen3-dense-tiny", "q4_k_m"], ["qwen2-tiny", "q4_0"], ["qwen3-moe-tiny", "q6_k"]] as const) {
    const path = await convert(model, type);
    const want = encodeGguf(buildGgufFromHf(join(fixtures, "models", model), { type, tokenizerDir }));
    assert.ok(Buffer.from(readFileSync(path)).equals(want), `${model} ${type}`);
  }
});

test("a wide checkpoint streams in slabs through the SIMD quantizers: same bytes as the reference", async () => {
  const dir = join(out, "wide");
  const base = readJsonFile(join(fixtures, "models", "qwen3-dense-tiny", "config.json"));
  assert.ok(isObject(base));
  const raw = { ...base, hidden_size: 512, intermediate_size: 768, head_dim: 128, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 600, bos_token_id: 1, eos_token_id: 2 };
  synthesizeCheckpoint(dir, raw, { seed: 4 });
  // A small byte-level BPE vocabulary keeps the embedding (and the reference encoders' time) small.
  const vocab = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t${i}`, i]));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab, merges: [] }, added_tokens: [] }));
  for (const type of ["q4_k_m", "q8_0"] as const) {
    const path = join(out, `wide-${type}.gguf`);
    await convertHfToGguf(dir, path, { type, threads: 2, slabBytes: 40_000 }); // several slabs per tensor
    const want = encodeGguf(buildGgufFromHf(dir, { type }));
    assert.ok(Buffer.from(readFileSync(path)).equals(want), type);
    const g = readGguf(path);
    assert.ok([...g.tensors.values()].some((t) => t.type === "q4_k" || t.type === "q8_0"), "block-quantized matrices");
  }
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith(".tmp")), [], "no temp files left");
});
