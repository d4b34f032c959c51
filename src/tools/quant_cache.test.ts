// The quantized-weights cache: a first start with --dtype quantizes into a GGUF once, later starts
// load it, and either way the model is the one quantize-on-load builds in memory (logits bit-identical);
// the key follows the checkpoint's files; superseded entries go; an unusable cache falls back to
// quantizing in memory and says why.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readGgufIndex } from "../formats/gguf/read.js";
import { createWasmBackend, type WasmDtype } from "../kernels/wasm/index.js";
import { loadModel } from "../models/load.js";
import type { Model } from "../models/model.js";
import { openModelSource, quantCacheOf } from "../open.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { quantCacheKey, quantizedGguf } from "./quant_cache.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-qcache-"));
const cacheDir = join(tmp, "cache");

/** A byte-level BPE vocabulary of 300 tokens (a small embedding keeps the test quick). */
function writeTokenizer(dir: string): void {
  const vocab = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t${i}`, i]));
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab, merges: [] }, added_tokens: [] }));
}

const common = {
  attention_dropout: 0, bos_token_id: 1, eos_token_id: 2, hidden_act: "silu", initializer_range: 0.02, max_position_embeddings: 4096,
  rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: false, torch_dtype: "bfloat16", vocab_size: 512,
  hidden_size: 256, head_dim: 64, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
};
const dense = { ...common, architectures: ["Qwen3ForCausalLM"], model_type: "qwen3", intermediate_size: 608, attention_bias: false };
const moe = {
  ...common, architectures: ["Qwen3MoeForCausalLM"], model_type: "qwen3_moe", intermediate_size: 512, attention_bias: false,
  moe_intermediate_size: 256, num_experts: 4, num_experts_per_tok: 2, norm_topk_prob: true, decoder_sparse_step: 1, mlp_only_layers: [],
};

function checkpoint(name: string, config: Record<string, unknown>, seed: number): string {
  const dir = join(tmp, name);
  synthesizeCheckpoint(dir, config, { seed });
  writeTokenizer(dir);
  return dir;
}

const denseDir = checkpoint("dense", dense, 3);
const moeDir = checkpoint("moe", moe, 5);
const ids = Int32Array.from([5, 17, 200, 3, 99, 42]);

async function logitsOf(load: (backend: Awaited<ReturnType<typeof createWasmBackend>>) => Promise<Model>, dtype: WasmDtype): Promise<Float32Array[]> {
  const backend = await createWasmBackend({ threads: 2, dtype });
  try {
    const m = await load(backend);
    return m.forward([{ seq: m.newSequence(), ids }]).map((l) => l.slice());
  } finally {
    backend.dispose();
  }
}

describe("quantized-weights cache", () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [dir, dtype] of [[denseDir, "q4_k"], [denseDir, "q8_0"], [moeDir, "q4_0"], [moeDir, "q4_k"]] as const) {
    test(`${dir === denseDir ? "dense" : "moe"} ${dtype}: made once, found after, and the same model as quantizing in memory`, async () => {
      const first = await quantizedGguf(dir, dtype, { dir: cacheDir, threads: 2 });
      assert.equal(first.created, true);
      const again = await quantizedGguf(dir, dtype, { dir: cacheDir, threads: 2 });
      assert.deepEqual({ ...again, seconds: 0 }, { ...first, created: false, seconds: 0 });
      // what the file holds: the dtype where rows fit its blocks (608 does not fit 256: kept bf16), norms f32
      const g = readGgufIndex(first.path);
      const types = new Map([...g.tensors.values()].map((t) => [t.name, t.type]));
      assert.equal(types.get("blk.0.attn_q.weight"), dtype);
      assert.equal(types.get("blk.0.attn_norm.weight"), "f32");
      if (dir === denseDir) assert.equal(types.get("blk.0.ffn_down.weight"), dtype === "q4_k" ? "bf16" : dtype);
      else assert.equal(types.get("blk.0.ffn_down_exps.weight"), dtype);
      const cached = await logitsOf((backend) => loadModel(dir, { backend, weightsFile: first.path }), dtype);
      const inMemory = await logitsOf((backend) => loadModel(dir, { backend }), dtype);
      assert.deepEqual(cached, inMemory);
    });
  }

  test("the key follows the weight files (size, mtime, header) and the dtype; a changed checkpoint supersedes its entry", async () => {
    const dir = checkpoint("touched", dense, 7);
    const k = quantCacheKey(dir, "q8_0");
    assert.equal(quantCacheKey(dir, "q8_0"), k);
    assert.notEqual(quantCacheKey(dir, "q4_0"), k);
    const own = join(tmp, "own-cache");
    const a = await quantizedGguf(dir, "q8_0", { dir: own, threads: 1 });
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, "model.safetensors"), later, later);
    assert.notEqual(quantCacheKey(dir, "q8_0"), k);
    const b = await quantizedGguf(dir, "q8_0", { dir: own, threads: 1 });
    assert.equal(b.created, true);
    assert.notEqual(b.path, a.path);
    assert.deepEqual(readdirSync(own).sort(), [b.path, b.path.replace(/\.gguf$/, ".json")].map((p) => p.slice(own.length + 1)).sort(), "the old entry is gone");
    const before = quantCacheKey(dir, "q8_0");
    const config = readFileSync(join(dir, "config.json"), "utf8");
    assert.ok(config.includes('"rms_norm_eps": 0.000001'));
    writeFileSync(join(dir, "config.json"), config.replace('"rms_norm_eps": 0.000001', '"rms_norm_eps": 0.00001'));
    assert.notEqual(quantCacheKey(dir, "q8_0"), before, "config.json is part of the key");
  });

  test("a Hugging Face snapshot is keyed by its blobs' sha256 names, not their times", () => {
    const repo = join(tmp, "hub", "models--org--tiny");
    const blob = "ab".repeat(32);
    mkdirSync(join(repo, "blobs"), { recursive: true });
    const snap = join(repo, "snapshots", "c".repeat(40));
    mkdirSync(snap, { recursive: true });
    writeFileSync(join(repo, "blobs", blob), readFileSync(join(denseDir, "model.safetensors")));
    symlinkSync(join("..", "..", "blobs", blob), join(snap, "model.safetensors"));
    for (const f of ["config.json", "tokenizer.json"]) writeFileSync(join(snap, f), readFileSync(join(denseDir, f)));
    const k = quantCacheKey(snap, "q4_k");
    const later = new Date(Date.now() + 9000);
    utimesSync(join(repo, "blobs", blob), later, later);
    assert.equal(quantCacheKey(snap, "q4_k"), k);
  });

  test("openModelSource: the first start makes the entry and says so, the second loads it; an unusable cache falls back", async () => {
    const dir = checkpoint("open", dense, 11);
    const own = join(tmp, "open-cache");
    const lines: string[] = [];
    const events = new Set<string>();
    const load = async (cache: string): Promise<Model> => {
      const backend = await createWasmBackend({ threads: 2, dtype: "q4_0" });
      const src = await openModelSource(dir);
      return src.loadModel({ backend, onProgress: (e) => events.add(e.phase), quantize: { dtype: "q4_0", cache: true, cacheDir: cache, threads: 2, log: (l) => lines.push(l) } });
    };
    const m1 = await load(own);
    assert.equal(quantCacheOf(m1)?.created, true);
    assert.ok(events.has("quantize") && events.has("load"), [...events].join());
    assert.match(lines.join("\n"), /quantized to q4_0 in [\d.]+s, once: later starts load .*open-q4_0-[0-9a-f]{16}\.gguf/);
    const m2 = await load(own);
    assert.deepEqual(quantCacheOf(m2), { ...quantCacheOf(m1)!, created: false, seconds: 0 });
    assert.equal(lines.length, 1, "nothing to say on a second start");
    const want = m1.forward([{ seq: m1.newSequence(), ids }])[0]!.slice();
    assert.deepEqual(m2.forward([{ seq: m2.newSequence(), ids }])[0], want);
    const blocked = join(tmp, "a-file");
    writeFileSync(blocked, "");
    const m3 = await load(join(blocked, "cache")); // a directory below a file cannot be made
    assert.equal(quantCacheOf(m3), undefined);
    assert.match(lines.at(-1)!, /^--dtype q4_0: the quantized-weights cache cannot be used \(.*\); quantizing in memory$/);
    assert.deepEqual(m3.forward([{ seq: m3.newSequence(), ids }])[0], want);
    for (const m of [m1, m2, m3]) m.backend.dispose();
  });

  test("a model the machine cannot hold is refused by the preflight before anything is quantized", async () => {
    const dir = checkpoint("too-big", dense, 13);
    const own = join(tmp, "refused-cache");
    const backend = await createWasmBackend({ threads: 1, dtype: "q4_k" });
    try {
      const src = await openModelSource(dir);
      const load = src.loadModel({ backend, memory: () => ({ total: 8e6, available: 4e6 }), quantize: { dtype: "q4_k", cache: true, cacheDir: own } });
      await assert.rejects(load, /too-big: needs [\d.]+ GB \(weights [\d.]+ GB q4_k\+bf16, .* are available/); // as they would be held: 608-wide rows stay bf16

      assert.equal(existsSync(own), false, "no cache entry was started");
    } finally {
      backend.dispose();
    }
  });
});
