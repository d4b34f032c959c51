// Converting the hybrid checkpoints to GGUF as llama.cpp's convert_hf_to_gguf.py does: names,
// metadata, each tensor transformation (norms 1 + w, A = −exp(A_log), conv squeezed, qkvz split, ba
// kept, value heads tiled for Qwen3.5, fused experts split), F32 for conv and routers; and reading
// the GGUF back: the same config, MTP blocks skipped and reported, quantized types load.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { writeTinyHybrid, type HybridKind } from "../../test/helpers/hybrid-checkpoints.js";
import { ggufToHfConfig } from "../formats/gguf/arch.js";
import { readGguf } from "../formats/gguf/read.js";
import { writeGguf } from "../formats/gguf/write.js";
import { dequantizeAll } from "../formats/quant/index.js";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { loadModel } from "../models/load.js";
import { skippedTensorsOf } from "../models/load_info.js";
import { parseModelConfig } from "../models/registry.js";
import { readJsonFile } from "../util/json.js";
import { buildGgufFromHf, convertHfToGguf } from "./convert.js";

const out = mkdtempSync(join(tmpdir(), "qwenrt-convert-hybrid-"));
after(() => rmSync(out, { recursive: true, force: true }));

const VOCAB = 151936;
async function converted(kind: HybridKind, type: "f32" | "q8_0" = "f32", extra: { mlpOnly?: number[] } = {}): Promise<{ dir: string; path: string; logs: string[] }> {
  const dir = join(out, `${kind}-${type}`);
  writeTinyHybrid(dir, kind, { vocab: VOCAB, ...extra });
  const path = join(out, `${kind}-${type}.gguf`);
  const logs: string[] = [];
  await convertHfToGguf(dir, path, { type, tokenizerDir: QWEN3_TOKENIZER_DIR, log: (l) => logs.push(l) });
  return { dir, path, logs };
}

const values = (t: { type: Parameters<typeof dequantizeAll>[0]; bytes: Uint8Array; shape: readonly number[] }): Float32Array => dequantizeAll(t.type, t.bytes, t.shape.reduce((a, b) => a * b, 1));

test("qwen3_next → qwen3next: llama.cpp's metadata keys and values", async () => {
  const { path, logs } = await converted("qwen3_next", "f32", { mlpOnly: [] });
  const g = readGguf(path);
  const md = (k: string): unknown => {
    const v = g.metadata.get(k);
    return v === undefined ? undefined : v.type === "array" ? v.value.items : v.value;
  };
  const want: Record<string, unknown> = {
    "general.architecture": "qwen3next",
    "qwen3next.block_count": 4,
    "qwen3next.embedding_length": 64,
    "qwen3next.feed_forward_length": 96,
    "qwen3next.attention.head_count": 4,
    "qwen3next.attention.head_count_kv": 2,
    "qwen3next.attention.key_length": 32,
    "qwen3next.attention.value_length": 32,
    "qwen3next.rope.freq_base": 1e7,
    "qwen3next.expert_count": 8,
    "qwen3next.expert_used_count": 2,
    "qwen3next.expert_feed_forward_length": 32,
    "qwen3next.expert_shared_feed_forward_length": 48,
    "qwen3next.ssm.conv_kernel": 4,
    "qwen3next.ssm.state_size": 16,
    "qwen3next.ssm.group_count": 2,
    "qwen3next.ssm.time_step_rank": 4,
    "qwen3next.ssm.inner_size": 64,
    "qwen3next.full_attention_interval": 4,
    "qwen3next.rope.dimension_count": 8,
    "qwen3next.attention.recurrent_layers": undefined, // the config gives only the interval
    "tokenizer.ggml.pre": "qwen2",
  };
  for (const [k, v] of Object.entries(want)) assert.deepEqual(md(k), v, k);
  assert.ok(logs.some((l) => l.startsWith("mtp.fc.weight: skipped")), logs.join("\n"));
  const names = [...g.tensors.keys()];
  for (const n of ["blk.0.attn_qkv.weight", "blk.0.attn_gate.weight", "blk.0.ssm_ba.weight", "blk.0.ssm_a", "blk.0.ssm_dt.bias", "blk.0.ssm_conv1d.weight", "blk.0.ssm_norm.weight", "blk.0.ssm_out.weight", "blk.0.post_attention_norm.weight", "blk.0.ffn_gate_inp_shexp.weight", "blk.0.ffn_up_shexp.weight", "blk.3.attn_q.weight", "blk.3.attn_q_norm.weight", "blk.0.ffn_gate_exps.weight"]) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(!names.some((n) => n.includes("ssm_in") || n.includes("ffn_norm") || n.includes("mtp")), names.join(", "));
  const t = (n: string): { type: string; shape: readonly number[] } => g.tensors.get(n)!;
  assert.deepEqual(t("blk.0.attn_qkv.weight").shape, [2 * 2 * 16 + 4 * 16, 64]);
  assert.deepEqual(t("blk.0.ssm_conv1d.weight").shape, [2 * 2 * 16 + 4 * 16, 4]);
  assert.deepEqual(t("blk.3.attn_q.weight").shape, [2 * 4 * 32, 64]);
});

test("qwen3_next tensors: q/k/v/z regrouped out of in_proj_qkvz, A = −exp(A_log), norms 1 + w, linear_attn.norm kept", async () => {
  const { dir, path } = await converted("qwen3_next", "f32", { mlpOnly: [] });
  const g = readGguf(path), st = readSafetensorsDir(dir).tensors;
  const hf = (n: string): Float32Array => values(st.get(n)!);
  const gg = (n: string): Float32Array => values(g.tensors.get(n)!);
  const qkvz = hf("model.layers.0.linear_attn.in_proj_qkvz.weight"), qkv = gg("blk.0.attn_qkv.weight"), z = gg("blk.0.attn_gate.weight");
  const H = 64, group = 2 * 16 + 2 * 2 * 16; // per key head: q 16, k 16, v 2·16, z 2·16 rows
  const row = (a: Float32Array, r: number): number[] => [...a.subarray(r * H, (r + 1) * H)];
  assert.deepEqual(row(qkv, 16), row(qkvz, group)); // q of key head 1
  assert.deepEqual(row(qkv, 32), row(qkvz, 16)); // k of key head 0
  assert.deepEqual(row(qkv, 64 + 32), row(qkvz, group + 32)); // v head 2 = first v of key head 1
  assert.deepEqual(row(z, 32), row(qkvz, group + 64)); // z head 2
  assert.deepEqual([...gg("blk.0.ssm_a")], [...hf("model.layers.0.linear_attn.A_log").map((x) => -Math.exp(x))]);
  assert.deepEqual([...gg("blk.0.attn_norm.weight")], [...hf("model.layers.0.input_layernorm.weight").map((x) => 1 + x)]);
  assert.deepEqual([...gg("blk.3.attn_k_norm.weight")], [...hf("model.layers.3.self_attn.k_norm.weight").map((x) => 1 + x)]);
  assert.deepEqual([...gg("output_norm.weight")], [...hf("model.norm.weight").map((x) => 1 + x)]);
  assert.deepEqual([...gg("blk.0.ssm_norm.weight")], [...hf("model.layers.0.linear_attn.norm.weight")]);
  assert.deepEqual([...gg("blk.0.ssm_ba.weight")], [...hf("model.layers.0.linear_attn.in_proj_ba.weight")]);
  assert.deepEqual([...gg("blk.0.ssm_conv1d.weight")], [...hf("model.layers.0.linear_attn.conv1d.weight")]);
});

test("qwen3_5 → qwen35: text_config read, language_model stripped, vision dropped, value heads tiled, mRoPE sections", async () => {
  const { dir, path, logs } = await converted("qwen3_5");
  const g = readGguf(path), st = readSafetensorsDir(dir).tensors;
  const items = (k: string): unknown => {
    const v = g.metadata.get(k);
    return v?.type === "array" ? v.value.items : undefined;
  };
  assert.equal(g.metadata.get("general.architecture")?.value, "qwen35");
  assert.deepEqual(items("qwen35.rope.dimension_sections"), [2, 1, 1, 0]);
  const sections = g.metadata.get("qwen35.rope.dimension_sections");
  assert.ok(sections?.type === "array" && sections.value.itemType === "i32", "sections are an i32 array");
  assert.deepEqual(items("qwen35.attention.recurrent_layers"), [true, true, true, false]);
  assert.equal(g.metadata.get("qwen35.rope.freq_base")?.value, 1e7);
  assert.ok(logs.some((l) => l.startsWith("model.visual.patch_embed.proj.weight: skipped")));
  assert.ok([...g.tensors.keys()].every((n) => !n.includes("visual") && !n.includes("language_model")));
  // Value heads grouped per key head [k0: v0 v1, k1: v2 v3] → tiled [v0 v2 v1 v3] (2 key heads, 4 value heads).
  const hf = (n: string): Float32Array => values(st.get(n)!);
  const gg = (n: string): Float32Array => values(g.tensors.get(n)!);
  const p = "model.language_model.layers.1.linear_attn";
  const rows = (a: Float32Array, width: number, head: number, per: number): number[] => [...a.subarray(head * per * width, (head + 1) * per * width)];
  const tiledFrom = [0, 2, 1, 3];
  tiledFrom.forEach((src, dst) => {
    assert.deepEqual(rows(gg("blk.1.attn_gate.weight"), 64, dst, 16), rows(hf(`${p}.in_proj_z.weight`), 64, src, 16), `z head ${dst}`);
    assert.deepEqual(rows(gg("blk.1.ssm_beta.weight"), 64, dst, 1), rows(hf(`${p}.in_proj_b.weight`), 64, src, 1), `b head ${dst}`);
    assert.equal(gg("blk.1.ssm_dt.bias")[dst], hf(`${p}.dt_bias`)[src]);
    const vOff = 2 * 2 * 16;
    assert.deepEqual(rows(gg("blk.1.attn_qkv.weight").subarray(vOff * 64), 64, dst, 16), rows(hf(`${p}.in_proj_qkv.weight`).subarray(vOff * 64), 64, src, 16), `v head ${dst}`);
    assert.deepEqual(rows(gg("blk.1.ssm_conv1d.weight").subarray(vOff * 4), 4, dst, 16), rows(hf(`${p}.conv1d.weight`).subarray(vOff * 4), 4, src, 16), `conv v head ${dst}`);
    const out = gg("blk.1.ssm_out.weight"), outHf = hf(`${p}.out_proj.weight`);
    assert.equal(out[dst * 16 + 3], outHf[src * 16 + 3], `out_proj column of head ${dst}`);
  });
  // q and k are not reordered.
  assert.deepEqual([...gg("blk.1.attn_qkv.weight").subarray(0, 64 * 64)], [...hf(`${p}.in_proj_qkv.weight`).subarray(0, 64 * 64)]);
});

test("qwen3_5_moe → qwen35moe: fused experts split into gate / up, no feed_forward_length, shared expert gate F32", async () => {
  const { dir, path } = await converted("qwen3_5_moe");
  const g = readGguf(path), st = readSafetensorsDir(dir).tensors;
  assert.equal(g.metadata.get("general.architecture")?.value, "qwen35moe");
  assert.equal(g.metadata.get("qwen35moe.feed_forward_length"), undefined);
  assert.equal(g.metadata.get("qwen35moe.expert_shared_feed_forward_length")?.value, 48);
  const gu = values(st.get("model.language_model.layers.0.mlp.experts.gate_up_proj")!); // [8, 64, 64]
  const gate = values(g.tensors.get("blk.0.ffn_gate_exps.weight")!), up = values(g.tensors.get("blk.0.ffn_up_exps.weight")!);
  assert.deepEqual(g.tensors.get("blk.0.ffn_up_exps.weight")!.shape, [8, 32, 64]);
  assert.deepEqual([...up.subarray(3 * 32 * 64, 3 * 32 * 64 + 64)], [...gu.subarray((3 * 64 + 32) * 64, (3 * 64 + 33) * 64)]);
  assert.deepEqual([...gate.subarray(5 * 32 * 64, 5 * 32 * 64 + 64)], [...gu.subarray(5 * 64 * 64, (5 * 64 + 1) * 64)]);
  assert.equal(g.tensors.get("blk.0.ffn_gate_inp_shexp.weight")!.type, "f32");
});

for (const kind of ["qwen3_next", "qwen3_5", "qwen3_5_moe"] as const) {
  test(`${kind}: the GGUF's metadata reads back as the checkpoint's config`, async () => {
    const { dir, path } = await converted(kind, "f32", kind === "qwen3_next" ? { mlpOnly: [] } : {});
    const want = parseModelConfig(readJsonFile(join(dir, "config.json")), "config.json");
    const got = parseModelConfig(ggufToHfConfig(readGguf(path)), path);
    // bos/eos come from the tokenizer; float fields were written as f32.
    const norm = (c: typeof want): unknown => ({ ...c, bosTokenId: 0, eosTokenIds: [], rmsNormEps: Math.fround(c.rmsNormEps), ropeTheta: Math.fround(c.ropeTheta) });
    assert.deepEqual(norm(got), norm(want));
  });
}

test("q8_0 conversion of a hybrid keeps conv, A and routers in F32 and loads", async () => {
  const { path } = await converted("qwen3_5_moe", "q8_0");
  const g = readGguf(path);
  assert.equal(g.tensors.get("blk.0.ssm_conv1d.weight")!.type, "f32");
  assert.equal(g.tensors.get("blk.0.ssm_a")!.type, "f32");
  assert.equal(g.tensors.get("blk.0.ffn_gate_inp.weight")!.type, "f32");
  assert.equal(g.tensors.get("blk.0.attn_qkv.weight")!.type, "q8_0");
  const m = await loadModel(path);
  const [logits] = m.forward([{ seq: m.newSequence(), ids: Int32Array.of(1, 2, 3) }]);
  assert.ok(logits!.every(Number.isFinite));
});

test("a GGUF with MTP blocks after the decoder (nextn_predict_layers) loads the decoder and reports the rest", async () => {
  const { path } = await converted("qwen3_5");
  const g = readGguf(path);
  const metadata = new Map(g.metadata);
  metadata.set("qwen35.block_count", { type: "u32", value: 5 });
  metadata.set("qwen35.nextn_predict_layers", { type: "u32", value: 1 });
  const attnNorm = g.tensors.get("blk.3.attn_norm.weight")!;
  const mtp = [{ ...attnNorm, name: "blk.4.attn_norm.weight" }, { ...g.tensors.get("blk.3.attn_q.weight")!, name: "blk.4.attn_q.weight" }];
  const withMtp = join(out, "mtp.gguf");
  writeGguf(withMtp, { metadata, tensors: [...g.tensors.values(), ...mtp] });
  assert.equal(parseModelConfig(ggufToHfConfig(readGguf(withMtp)), withMtp).numLayers, 4);
  const m = await loadModel(withMtp);
  assert.deepEqual(skippedTensorsOf(m), [
    { what: "MTP heads not loaded (multi-token prediction is not used yet)", count: 2 },
    { what: "text only: image input is not supported yet (mmproj vision files are not read)", count: 0 },
  ]);
  const plain = await loadModel(path);
  const run = (x: typeof m): Float32Array => x.forward([{ seq: x.newSequence(), ids: Int32Array.of(5, 6, 7) }])[0]!;
  assert.deepEqual(run(m), run(plain));
});

test("the streamed file (sources read, transformed, encoded) equals the in-memory reference conversion", async () => {
  for (const kind of ["qwen3_next", "qwen3_5_moe"] as const) {
    const { dir, path } = await converted(kind, "q8_0", kind === "qwen3_next" ? { mlpOnly: [] } : {});
    const streamed = readGguf(path);
    const reference = buildGgufFromHf(dir, { type: "q8_0", tokenizerDir: QWEN3_TOKENIZER_DIR });
    assert.deepEqual([...streamed.tensors.keys()], reference.tensors.map((t) => t.name), kind);
    for (const t of reference.tensors) {
      const s = streamed.tensors.get(t.name)!;
      assert.equal(s.type, t.type, `${kind} ${t.name}`);
      assert.ok(Buffer.from(s.bytes).equals(Buffer.from(t.bytes)), `${kind} ${t.name}: bytes differ`);
    }
  }
});
