import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, test } from "node:test";
import { readSafetensorsFile, writeSafetensors, type TensorToWrite } from "../formats/safetensors.js";
import { QwenrtError } from "../util/errors.js";
import { loadModel } from "./load.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-load-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = {
  model_type: "qwen3", vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1,
  num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, rms_norm_eps: 1e-6, rope_theta: 10000,
  max_position_embeddings: 128, tie_word_embeddings: true,
};
const file = join(dir, "model.safetensors");

beforeEach(() => synthesizeCheckpoint(dir, config, { seed: 3 }));

/** Rewrite the checkpoint with `edit` applied to its tensor map. */
function editTensors(edit: (m: Map<string, TensorToWrite>) => void): void {
  const st = readSafetensorsFile(file);
  const m = new Map<string, TensorToWrite>([...st.tensors].map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, bytes: t.bytes.slice() }]));
  edit(m);
  writeSafetensors(file, m);
}

async function rejects(...parts: string[]): Promise<void> {
  await assert.rejects(loadModel(dir), (e: unknown) => {
    assert.ok(e instanceof QwenrtError, String(e));
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should name ${p}`);
    return true;
  });
}

test("a synthesized checkpoint loads and runs", async () => {
  const m = await loadModel(dir);
  const [logits] = m.forward([{ seq: m.newSequence(), ids: Int32Array.of(1, 2, 3) }]);
  assert.equal(logits!.length, 50);
  assert.ok(logits!.every(Number.isFinite));
});

test("a missing tensor is an error naming it", async () => {
  editTensors((m) => m.delete("model.layers.0.self_attn.k_norm.weight"));
  await rejects(file, "missing tensor", "model.layers.0.self_attn.k_norm.weight");
});

test("an extra tensor is an error naming it; lm_head.weight with tied embeddings is unused", async () => {
  editTensors((m) => m.set("model.layers.0.mlp.extra.weight", { dtype: "F32", shape: [1], bytes: new Uint8Array(4) }));
  await rejects("unused tensor", "model.layers.0.mlp.extra.weight");
  synthesizeCheckpoint(dir, config, { seed: 3 });
  editTensors((m) => m.set("lm_head.weight", m.get("model.embed_tokens.weight")!));
  await rejects("lm_head.weight", "tie_word_embeddings");
});

test("untied models require lm_head.weight", async () => {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, tie_word_embeddings: false }));
  await rejects("missing tensor", "lm_head.weight");
});

test("a tensor of the wrong shape is an error naming it with both shapes", async () => {
  editTensors((m) => {
    const t = m.get("model.layers.0.self_attn.q_proj.weight")!;
    m.set("model.layers.0.self_attn.q_proj.weight", { ...t, shape: [8, 32] });
  });
  await rejects('"model.layers.0.self_attn.q_proj.weight"', "[8, 32]", "expected [16, 16]");
});

test("an unsupported dtype and a truncated file are errors naming file and tensor", async () => {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = buf.subarray(8, 8 + n).toString("utf8");
  const patched = header.replace(/"dtype":"BF16"/, '"dtype":"I16" '); // same length
  buf.write(patched, 8, "utf8");
  writeFileSync(file, buf);
  await rejects(file, "unsupported dtype I16");
  synthesizeCheckpoint(dir, config, { seed: 3 });
  truncateSync(file, readFileSync(file).length - 10);
  await rejects(file, "truncated", "tensor");
});

test("an impossible config fails before weights are read", async () => {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, num_key_value_heads: 3 }));
  await rejects(join(dir, "config.json"), '"num_key_value_heads" (3)');
  await assert.rejects(loadModel(join(dir, "nope")), /not a model directory/);
});
