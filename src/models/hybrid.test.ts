// The hybrid architectures (qwen3_next, qwen3_5, qwen3_5_moe) on tiny random checkpoints in their
// published layouts, against the independent float64 forward (test/helpers/f64-hybrid.ts) on the
// reference and wasm backends; chunked prefill against token-by-token decode; the differential
// suite; loading strictness (MTP and vision tensors left on disk and reported).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { differentialSuite, ids, maxDiff } from "../../test/helpers/differential.js";
import { forwardHybridF64 } from "../../test/helpers/f64-hybrid.js";
import { HYBRID_KINDS, f64HybridConfig, f64Weights, writeTinyHybrid } from "../../test/helpers/hybrid-checkpoints.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import type { HostKernelBackend } from "../kernels/types.js";
import { loadModel } from "./load.js";
import { skippedTensorsOf } from "./load_info.js";
import type { Model } from "./model.js";

const root = mkdtempSync(join(tmpdir(), "qwenrt-hybrid-"));
let wasm: HostKernelBackend;
before(async () => {
  wasm = await createWasmBackend({ threads: 2, kv: "f32" }); // float32 KV: the f16 cache alone costs ~3e-4 here
});
after(() => {
  wasm.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** Max |a − b| over every position's logits. */
function maxDiffAll(got: Float32Array, want: readonly Float64Array[]): number {
  const v = want[0]!.length;
  let m = 0;
  want.forEach((row, p) => {
    for (let i = 0; i < v; i++) m = Math.max(m, Math.abs(got[p * v + i]! - row[i]!));
  });
  return m;
}

for (const kind of HYBRID_KINDS) {
  describe(`${kind} (tiny random checkpoint, published layout)`, () => {
    const dir = join(root, kind);
    const raw = writeTinyHybrid(dir, kind);
    const prompt = Array.from(ids(40 + kind.length, 23, 512));
    let want: Float64Array[];
    let refModel: Model;
    let wasmModel: Model;
    before(async () => {
      want = forwardHybridF64(f64HybridConfig(raw), f64Weights(dir), prompt);
      refModel = await loadModel(dir);
      wasmModel = await loadModel(dir, { backend: wasm });
    });

    test("ref and wasm logits at every position match the float64 reference within 1e-4", (t) => {
      for (const [name, m] of [["ref", refModel], ["wasm", wasmModel]] as const) {
        const [got] = m.forward([{ seq: m.newSequence(), ids: Int32Array.from(prompt) }], { logits: "all" });
        const err = maxDiffAll(got!, want);
        t.diagnostic(`${kind} ${name}: max |Δ logit| vs float64 = ${err.toExponential(2)} (logit scale ${Math.max(...want[0]!.map(Math.abs)).toFixed(2)})`);
        assert.ok(err <= 1e-4, `${name}: ${err}`);
      }
    });

    test("the vision tower and MTP tensors stay on disk and are reported", () => {
      const skipped = skippedTensorsOf(refModel).map((s) => `${s.what}: ${s.count}`);
      assert.deepEqual(
        skipped,
        kind === "qwen3_next"
          ? ["MTP heads not loaded (multi-token prediction is not used yet): 1"]
          : ["MTP heads not loaded (multi-token prediction is not used yet): 2", "text only: image input is not supported yet (vision tower not loaded): 1"],
      );
    });

    test("wasm: chunked prefill (chunks of 64) equals token-by-token recurrent decode", (t) => {
      const m = wasmModel;
      const long = ids(3, 150, 512);
      const [whole] = m.forward([{ seq: m.newSequence(), ids: long }], { logits: "all" });
      const seq = m.newSequence();
      const v = m.config.vocabSize;
      let worst = 0;
      for (let i = 0; i < long.length; i++) {
        const [row] = m.forward([{ seq, ids: long.subarray(i, i + 1) }]);
        worst = Math.max(worst, maxDiff(row!, whole!.subarray(i * v, (i + 1) * v)));
      }
      t.diagnostic(`${kind}: max |Δ logit| prefill vs decode over 150 positions = ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-4, `${worst}`);
    });

    differentialSuite(`${kind} ref`, () => refModel, 11);
    differentialSuite(`${kind} wasm`, () => wasmModel, 11, 1e-4);
  });
}

test("a Qwen3.5-0.8B-shaped layer stack (4 layers, vocab cut to 2048, tied) matches the float64 reference within 1e-4", async (t) => {
  const dir = join(root, "real-shape");
  const cfg = {
    architectures: ["Qwen3_5ForConditionalGeneration"],
    model_type: "qwen3_5",
    tie_word_embeddings: true,
    text_config: {
      attn_output_gate: true, head_dim: 256, hidden_act: "silu", hidden_size: 1024, intermediate_size: 3584,
      layer_types: ["linear_attention", "linear_attention", "linear_attention", "full_attention"],
      linear_conv_kernel_dim: 4, linear_key_head_dim: 128, linear_num_key_heads: 16, linear_num_value_heads: 16, linear_value_head_dim: 128,
      max_position_embeddings: 262144, model_type: "qwen3_5_text", num_attention_heads: 8, num_hidden_layers: 4, num_key_value_heads: 2,
      partial_rotary_factor: 0.25, rms_norm_eps: 1e-6, tie_word_embeddings: true, vocab_size: 2048, eos_token_id: 2,
      rope_parameters: { mrope_interleaved: true, mrope_section: [11, 11, 10], partial_rotary_factor: 0.25, rope_theta: 10000000, rope_type: "default" },
    },
  };
  // Embeddings of ±0.1 keep the tied head's logits at a trained model's scale (|logit| ≲ 30).
  synthesizeCheckpoint(dir, cfg, { dtype: "F32", seed: 9, layout: { root: "model.language_model." }, embedScale: 0.1 });
  const prompt = Array.from(ids(5, 6, 2048));
  const want = forwardHybridF64(f64HybridConfig(cfg), f64Weights(dir), prompt);
  const scale = Math.max(...want.map((r) => Math.max(...r.map(Math.abs))));
  for (const [name, backend] of [["ref", undefined], ["wasm", wasm]] as const) {
    const m = await loadModel(dir, backend === undefined ? {} : { backend });
    const [got] = m.forward([{ seq: m.newSequence(), ids: Int32Array.from(prompt) }], { logits: "all" });
    const err = maxDiffAll(got!, want);
    t.diagnostic(`Qwen3.5-0.8B layer shapes, ${name}: max |Δ logit| vs float64 = ${err.toExponential(2)} (largest |logit| ${scale.toFixed(1)})`);
    assert.ok(err <= 1e-4, `${name}: ${err}`);
  }
});
