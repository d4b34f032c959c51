// A GGUF whose matrices use the types of real-world Q4_K_M / Q5_K_M files beyond Q4_K/Q6_K/Q8_0
// (q5_0, q5_k natively; q4_1, q5_1, q2_k → q8_0 and q3_k → q6_k converted on load) runs on the wasm
// backend and gives the ref backend's logits within the int8-activation tolerance.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { ggufContentsFromHf } from "../formats/gguf/convert.js";
import { writeGguf, type GgufTensorToWrite } from "../formats/gguf/write.js";
import { getFormat } from "../formats/quant/index.js";
import type { WeightType } from "../formats/quant/types.js";
import { createRefBackend } from "../kernels/ref/index.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { loadModel } from "./load.js";
import { parseModelConfig } from "./registry.js";

const TYPES: readonly WeightType[] = ["q5_0", "q5_k", "q4_1", "q5_1", "q2_k", "q3_k"];

const wide = {
  model_type: "qwen3", vocab_size: 151936, hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 64, rope_theta: 1000000, rms_norm_eps: 1e-6, max_position_embeddings: 4096,
  bos_token_id: 151643, eos_token_id: 151645, tie_word_embeddings: true,
};

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-gguf-types-"));

/** Re-encode every f32 matrix of `t` (rows of 256k values) as `type`, from its exact values. */
function reencode(t: GgufTensorToWrite, type: WeightType): GgufTensorToWrite {
  const count = t.shape.reduce((a, b) => a * b, 1);
  const vals = new Float32Array(count);
  getFormat("f32").dequantize(t.bytes, vals, count);
  const fmt = getFormat(type);
  const bytes = new Uint8Array((count / fmt.blockSize) * fmt.blockBytes);
  fmt.quantize!(vals, bytes, count);
  return { ...t, type, bytes };
}

describe("a GGUF with q5_0, q5_k, q4_1, q5_1, q2_k and q3_k matrices on wasm", () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test("loads (one conversion line per converted type) and matches ref logits within int8-activation tolerance", async (t) => {
    const dir = join(tmp, "hf");
    synthesizeCheckpoint(dir, wide, { seed: 9 });
    const contents = ggufContentsFromHf(dir, wide, parseModelConfig(wide, "wide"), { type: "f32", tokenizerDir: QWEN3_TOKENIZER_DIR, pure: true });
    let i = 0;
    const used = new Set<WeightType>();
    const tensors = contents.tensors.map((tt) => {
      if (tt.shape.length !== 2 || tt.type !== "f32" || tt.shape[0]! % 256 !== 0) return tt;
      const type = TYPES[i++ % TYPES.length]!;
      used.add(type);
      return reencode(tt, type);
    });
    assert.deepEqual([...used].sort(), [...TYPES].sort(), "every type appears");
    const path = join(tmp, "mixed.gguf");
    writeGguf(path, { metadata: contents.metadata, tensors });

    const lines: string[] = [];
    const be = await createWasmBackend({ threads: 2, log: (l) => lines.push(l) });
    try {
      const ref = await loadModel(path, { backend: createRefBackend() });
      const wasm = await loadModel(path, { backend: be });
      assert.equal(lines.length, 4, lines.join("\n"));
      for (const [from, to] of [["q4_1", "q8_0"], ["q5_1", "q8_0"], ["q2_k", "q8_0"], ["q3_k", "q6_k"]]) {
        assert.ok(lines.some((l) => l.includes(`${from} matrices to ${to}`)), `${from} logged`);
      }
      const prompt = Int32Array.from({ length: 9 }, (_, k) => (k * 7919 + 13) % 5000);
      const [want] = ref.forward([{ seq: ref.newSequence(), ids: prompt }], { logits: "all" });
      const [got] = wasm.forward([{ seq: wasm.newSequence(), ids: prompt }], { logits: "all", maxChunk: 4 });
      let err = 0, dev = 0, mean = 0;
      for (let k = 0; k < want!.length; k++) mean += want![k]! / want!.length;
      for (let k = 0; k < want!.length; k++) {
        err += (got![k]! - want![k]!) ** 2;
        dev += (want![k]! - mean) ** 2;
      }
      const rel = Math.sqrt(err / dev);
      t.diagnostic(`relative RMS logit error wasm vs ref: ${rel.toExponential(2)}`);
      // q8_0 activations add ~0.5% noise per matmul; the converted q8_0 matrices a little more.
      assert.ok(rel < 0.03, `relative RMS logit error ${rel}`);
    } finally {
      be.dispose();
    }
  });
});
