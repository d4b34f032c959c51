// A GGUF's metadata read back as a config.json (formats/gguf/arch.ts) is one the model registry's
// config parser accepts, with the MoE, YaRN and stop-id fields intact.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ggufTensorsAsHf, ggufToHfConfig, gv } from "../formats/gguf/arch.js";
import { parseGguf } from "../formats/gguf/read.js";
import { ggufTokenizerData } from "../formats/gguf/tokenizer_meta.js";
import type { GgufValue } from "../formats/gguf/types.js";
import { encodeGguf } from "../formats/gguf/write.js";
import { isFileTensor } from "../formats/tensor_source.js";
import { parseModelConfig } from "./registry.js";

test("GGUF metadata becomes a config.json the HF config parser accepts, experts sliced per expert", () => {
  const md = new Map<string, GgufValue>([
    ["general.architecture", gv.str("qwen3moe")],
    ["qwen3moe.context_length", gv.u32(40960)],
    ["qwen3moe.embedding_length", gv.u32(32)],
    ["qwen3moe.block_count", gv.u32(1)],
    ["qwen3moe.feed_forward_length", gv.u32(64)],
    ["qwen3moe.attention.head_count", gv.u32(4)],
    ["qwen3moe.attention.head_count_kv", gv.u32(2)],
    ["qwen3moe.attention.key_length", gv.u32(16)],
    ["qwen3moe.rope.freq_base", gv.f32(1e6)],
    ["qwen3moe.attention.layer_norm_rms_epsilon", gv.f32(1e-6)],
    ["qwen3moe.expert_count", gv.u32(4)],
    ["qwen3moe.expert_used_count", gv.u32(2)],
    ["qwen3moe.expert_feed_forward_length", gv.u32(32)],
    ["qwen3moe.rope.scaling.type", gv.str("yarn")],
    ["qwen3moe.rope.scaling.factor", gv.f32(4)],
    ["qwen3moe.rope.scaling.original_context_length", gv.u32(32768)],
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.tokens", { type: "array", value: { itemType: "string", items: ["a", "b", "<|im_end|>"] } }],
    ["tokenizer.ggml.token_type", { type: "array", value: { itemType: "i32", items: [1, 1, 3] } }],
    ["tokenizer.ggml.merges", { type: "array", value: { itemType: "string", items: ["a b"] } }],
    ["tokenizer.ggml.eos_token_id", gv.u32(2)],
    ["tokenizer.chat_template", gv.str("{{ x }}")],
  ]);
  const exps = new Uint8Array(4 * 32 * 32 * 4).map((_, i) => i % 251);
  const g = parseGguf(encodeGguf({
    metadata: md,
    tensors: [
      { name: "token_embd.weight", type: "f32", shape: [3, 32], bytes: new Uint8Array(3 * 32 * 4) },
      { name: "output.weight", type: "f32", shape: [3, 32], bytes: new Uint8Array(3 * 32 * 4) },
      { name: "blk.0.ffn_up_exps.weight", type: "f32", shape: [4, 32, 32], bytes: exps },
    ],
  }), "moe.gguf");
  const raw = ggufToHfConfig(g);
  const c = parseModelConfig(raw, "moe.gguf");
  assert.equal(c.modelType, "qwen3_moe");
  assert.deepEqual([c.hiddenSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize], [32, 1, 4, 2, 16, 3]);
  assert.deepEqual([c.numExperts, c.numExpertsPerTok, c.moeIntermediateSize, c.normTopkProb], [4, 2, 32, true]);
  assert.equal(c.tieWordEmbeddings, false);
  assert.equal(c.ropeScaling.type, "yarn");
  assert.deepEqual(c.eosTokenIds, [2]);
  const hf = ggufTensorsAsHf(g);
  const e2 = hf.get("model.layers.0.mlp.experts.2.up_proj.weight")!;
  assert.ok(!isFileTensor(e2), "an in-memory GGUF's tensors are in memory");
  assert.deepEqual(e2.shape, [32, 32]);
  assert.deepEqual([...e2.bytes.subarray(0, 4)], [...exps.subarray(2 * 4096, 2 * 4096 + 4)]);
  const tok = ggufTokenizerData(g);
  assert.deepEqual([tok.model, tok.tokens.length, tok.eosTokenId, tok.merges[0], tok.chatTemplate], ["gpt2", 3, 2, "a b", "{{ x }}"]);
  assert.deepEqual(tok.tokenTypes, [1, 1, 3]);
});
