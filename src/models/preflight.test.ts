// The memory preflight: what real shapes need against a machine's memory, and the one line that
// names the way out (a smaller --ctx, a smaller quant, or vLLM / SGLang across GPUs for a model no
// single machine of this size holds); the loaders refuse before reading a byte of weights, and the
// KV cache is never reserved for the whole context.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FIXTURES } from "../../test/helpers/gguf-fixture.js";
import type { WeightType } from "../formats/quant/types.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend } from "../kernels/types.js";
import { KvSlot } from "../layers/kv_cache.js";
import { QwenrtError } from "../util/errors.js";
import { loadModel } from "./load.js";
import { kvBytesPerToken, memoryNeeds, memoryVerdict } from "./preflight.js";
import { getArchitecture, parseModelConfig } from "./registry.js";

const GiB = 2 ** 30;
const machine = { total: 24 * GiB, available: 20 * GiB };

const moeBase = {
  architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe", attention_bias: false, head_dim: 128,
  max_position_embeddings: 40960, rms_norm_eps: 1e-6, rope_theta: 1000000, vocab_size: 151936, tie_word_embeddings: false,
  decoder_sparse_step: 1, mlp_only_layers: [], norm_topk_prob: true, num_experts_per_tok: 8, num_experts: 128,
  bos_token_id: 151643, eos_token_id: 151645,
};
/** Qwen3-235B-A22B's config.json (the shape only). */
const qwen3_235b = parseModelConfig({ ...moeBase, hidden_size: 4096, intermediate_size: 12288, moe_intermediate_size: 1536, num_hidden_layers: 94, num_attention_heads: 64, num_key_value_heads: 4 }, "config.json");
/** Qwen3-30B-A3B's. */
const qwen3_30b = parseModelConfig({ ...moeBase, hidden_size: 2048, intermediate_size: 6144, moe_intermediate_size: 768, num_hidden_layers: 48, num_attention_heads: 32, num_key_value_heads: 4 }, "config.json");
/** Qwen3-8B's. */
const qwen3_8b = parseModelConfig({ ...moeBase, model_type: "qwen3", architectures: ["Qwen3ForCausalLM"], num_experts: 0, hidden_size: 4096, intermediate_size: 12288, num_hidden_layers: 36, num_attention_heads: 32, num_key_value_heads: 8 }, "config.json");

/** Needs of a checkpoint of `config` whose matrices are `type` (Q4_K_M-like: q4_k where the width allows, norms f32). */
function needs(config: typeof qwen3_30b, type: WeightType, context = config.maxPositionEmbeddings, kvType: KernelBackend["kvType"] = "f16") {
  const table = getArchitecture(config.modelType).weightTable(config);
  const kinds = new Map(table.map((s) => [s.name, s.kind] as const));
  const typeOf = (name: string): WeightType => (kinds.get(name) === "vector" ? "f32" : type);
  return memoryNeeds(config, table, typeOf, { kvType }, context);
}

describe("memory needs and the verdict", () => {
  test("Qwen3-235B-A22B at Q4 on a 24 GiB machine: ~130 GB, and the way out is vLLM or SGLang across GPUs", () => {
    const n = needs(qwen3_235b, "q4_k");
    assert.ok(n.weights > 128e9 && n.weights < 136e9, `weights ${n.weights}`);
    const line = memoryVerdict(n, machine, false);
    assert.ok(line !== undefined);
    assert.match(line, /^needs 1\d\d GB \(weights 13\d GB q4_k, KV cache [\d.]+ GB for 40,960 tokens at \d+ MB per 1K, scratch [\d.]+ GB\) but 21\.5 GB of 25\.8 GB are available: /);
    assert.match(line, /~13\d GB at Q4/);
    assert.match(line, /vLLM or SGLang across GPUs, behind the same OpenAI API/);
    assert.ok(!line.includes("\n"), "one line");
  });

  test("Qwen3-30B-A3B at Q4 with the whole 40K context does not fit 20 GiB free: the way out is a smaller --ctx, which then fits", () => {
    const n = needs(qwen3_30b, "q4_k");
    assert.equal(n.kvPerToken, 48 * 2 * 4 * 128 * 2);
    const line = memoryVerdict({ ...n, total: n.total + 2e9 }, machine, false); // 2 GB more than fits
    assert.ok(line !== undefined);
    const ctx = Number(/use --ctx (\d+) \(KV cache/.exec(line)?.[1]);
    assert.ok(ctx >= 1024 && ctx < 40960, line);
    assert.ok(!line.includes("vLLM") && !line.includes("smaller quant"), line);
    assert.equal(memoryVerdict(needs(qwen3_30b, "q4_k", ctx), machine, false), undefined);
  });

  test("Qwen3-30B-A3B at Q4 when other programs hold most of a 24 GiB machine: free memory (it would fit), not vLLM", () => {
    const line = memoryVerdict(needs(qwen3_30b, "q4_k"), { total: 24 * GiB, available: 16 * GiB }, false);
    assert.ok(line !== undefined);
    assert.match(line, /: close other programs \(they hold 8\.6 GB\), then use a smaller --ctx$/);
  });

  test("Qwen3-8B in bf16 on a 16 GB machine: quantize on load (and the numbers of either way out)", () => {
    const n = needs(qwen3_8b, "bf16");
    const line = memoryVerdict(n, { total: 16e9, available: 14e9 }, true);
    assert.ok(line !== undefined);
    assert.match(line, /quantize on load with --dtype q4_k or q4_0 \(weights ~4\.\d GB\)$/);
    assert.ok(!line.includes("--ctx"), "no context is small enough for 16 GB of bf16 weights");
    assert.equal(memoryVerdict(needs(qwen3_8b, "q4_k"), { total: 16e9, available: 14e9 }, false), undefined);
  });

  test("the KV cost per token follows the config and the cache type", () => {
    assert.equal(kvBytesPerToken(qwen3_8b, "f16"), 36 * 2 * 8 * 128 * 2);
    assert.equal(kvBytesPerToken(qwen3_8b, "f32"), 36 * 2 * 8 * 128 * 4);
  });
});

describe("the loaders' preflight", () => {
  const dir = join(FIXTURES, "models", "qwen3-dense-tiny");

  test("refuses within a second, before any weight reaches the backend, naming the model and the numbers", async () => {
    const ref = createRefBackend();
    const backend = Object.assign(Object.create(ref) as KernelBackend, {
      loadMatrix: () => assert.fail("a weight was loaded"),
      loadVector: () => assert.fail("a weight was loaded"),
    });
    const t0 = performance.now();
    await assert.rejects(loadModel(dir, { backend, memory: () => ({ total: 8e6, available: 4e6 }) }), (e: unknown) => {
      assert.ok(e instanceof QwenrtError && e.code === "out_of_memory", String(e));
      assert.ok(e.message.startsWith(`${dir}: needs `) && e.message.includes("but 0.0 GB of 0.0 GB are available"), e.message);
      return true;
    });
    assert.ok(performance.now() - t0 < 1000);
  });

  test("loads for the context asked (at most the model's), and reserves KV for a few hundred positions, not the context", async () => {
    const probe = () => ({ total: 64 * GiB, available: 32 * GiB });
    const model = await loadModel(dir, { memory: probe, contextLength: 2048 });
    assert.equal(model.contextLength, 2048);
    assert.equal((await loadModel(dir, { memory: false, contextLength: 1e9 })).contextLength, model.config.maxPositionEmbeddings);
    const seq = model.newSequence();
    model.forward([{ seq, ids: Int32Array.of(1, 2, 3) }]);
    const slot = seq.slots[0];
    assert.ok(slot instanceof KvSlot);
    assert.ok(slot.capacity <= 256, `capacity ${slot.capacity}`);
    await assert.rejects(loadModel(dir, { contextLength: 0 }), /contextLength: must be a positive integer/);
  });
});
