// End-to-end correctness of the wasm backend: the fixture models against the transformers reference
// (float path, 2 threads: same tolerances as the ref-backend golden test), wasm against ref on a
// synthesized model of real-ish width, and the quantized (q8_0 / q4_0) paths' greedy top-1 agreement
// with the float path on a model whose matrices are all quantizable.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { argmax, checkGreedy, checkLastLogits, checkPrompt, type Reference } from "../../test/helpers/golden.js";
import { ids } from "../../test/helpers/differential.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { createRefBackend } from "../kernels/ref/index.js";
import { createWasmBackend, type WasmDtype } from "../kernels/wasm/index.js";
import { loadModel } from "./load.js";
import type { Model } from "./model.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-wasm-golden-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Greedy-decode `steps` tokens after `prompt`; returns the tokens and the logits row of each step. */
function greedy(model: Model, prompt: Int32Array, steps: number): { tokens: number[]; rows: Float32Array[] } {
  const seq = model.newSequence();
  let [logits] = model.forward([{ seq, ids: prompt }]);
  const tokens: number[] = [];
  const rows: Float32Array[] = [];
  for (let i = 0; i < steps; i++) {
    rows.push(logits!.slice());
    const next = argmax(logits!);
    tokens.push(next);
    [logits] = model.forward([{ seq, ids: Int32Array.of(next) }]);
  }
  model.release(seq);
  return { tokens, rows };
}

for (const name of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
  describe(`${name} on wasm (float, 2 threads) matches the transformers reference`, async () => {
    const dir = join(fixtures, name);
    const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
    const be = await createWasmBackend({ threads: 2, kv: "f32" }); // tight tolerances: the f16 cache has its own test
    after(() => be.dispose());
    const model = await loadModel(dir, { backend: be });

    for (const [prompt, p] of Object.entries(ref.prompts)) {
      test(`prompt "${prompt}": top-1, top-k logits and logsumexp within 1e-4, full last logits`, async (t) => {
        const r = await checkPrompt(model, p, `${name}/${prompt}`);
        const full = checkLastLogits(r.last, join(dir, `last-logits-${prompt}.f32`));
        t.diagnostic(`${be.name}: max |Δ top-k logit| ${r.logit.toExponential(2)}, |Δ lse| ${r.lse.toExponential(2)}, |Δ last logits| ${full.toExponential(2)}`);
      });
    }
    for (const [prompt, g] of Object.entries(ref.greedy)) {
      test(`greedy "${prompt}" equals the reference up to the first near-tie`, async (t) => {
        t.diagnostic(`${await checkGreedy(model, g, `${name}/${prompt}`)} of ${g.greedy_ids.length} steps compared`);
      });
    }
    test("q8_0: greedy top-1 agreement with the float path (diagnostic: most fixture matrices stay float)", async (t) => {
      const qbe = await createWasmBackend({ threads: 2, dtype: "q8_0", kv: "f32" });
      try {
        const qmodel = await loadModel(dir, { backend: qbe });
        let agree = 0, total = 0;
        for (const g of Object.values(ref.greedy)) {
          const prompt = Int32Array.from(g.prompt_ids);
          const f = greedy(model, prompt, 8);
          // Teacher-forced: feed the float path's tokens so one early difference does not cascade.
          const seq = qmodel.newSequence();
          let [logits] = qmodel.forward([{ seq, ids: prompt }]);
          for (const tok of f.tokens) {
            agree += argmax(logits!) === tok ? 1 : 0;
            total++;
            [logits] = qmodel.forward([{ seq, ids: Int32Array.of(tok) }]);
          }
        }
        assert.ok(agree / total >= 0.75, `q8_0 top-1 agreement ${agree}/${total}`);
        t.diagnostic(`q8_0 top-1 agreement on ${name}: ${agree}/${total}`);
      } finally {
        qbe.dispose();
      }
    });
  });
}

/** A qwen3 shape whose every matrix is a multiple of 256 wide (so q8_0/q4_0/q4_k quantize all of them). */
const wide = {
  model_type: "qwen3", vocab_size: 512, hidden_size: 256, intermediate_size: 512, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, head_dim: 64, rope_theta: 1000000, rms_norm_eps: 1e-6, max_position_embeddings: 4096,
  bos_token_id: 1, eos_token_id: 2, tie_word_embeddings: true,
};

describe("synthesized qwen3 (hidden 256, tied, bf16) on wasm", async () => {
  const dir = join(tmp, "wide");
  synthesizeCheckpoint(dir, wide, { seed: 5 });
  const refModel = await loadModel(dir, { backend: createRefBackend() });
  const be = await createWasmBackend({ threads: 2, kv: "f32" });
  after(() => be.dispose());
  const model = await loadModel(dir, { backend: be });
  const prompt = ids(3, 24, wide.vocab_size);

  test("wasm float logits equal ref logits within 1e-4 at every position, and greedy tokens match", () => {
    const [want] = refModel.forward([{ seq: refModel.newSequence(), ids: prompt }], { logits: "all" });
    const [got] = model.forward([{ seq: model.newSequence(), ids: prompt }], { logits: "all", maxChunk: 7 });
    let worst = 0;
    for (let i = 0; i < want!.length; i++) worst = Math.max(worst, Math.abs(want![i]! - got![i]!));
    assert.ok(worst <= 1e-4, `max |Δ| ${worst}`);
    assert.deepEqual(greedy(model, prompt, 12).tokens, greedy(refModel, prompt, 12).tokens);
  });

  for (const [dtype, floor] of [["q8_0", 0.9], ["q4_0", 0.8]] as [WasmDtype, number][]) {
    test(`${dtype}: teacher-forced top-1 agreement with the float path ≥ ${floor * 100}%`, async (t) => {
      const qbe = await createWasmBackend({ threads: 2, dtype, kv: "f32" });
      try {
        const qmodel = await loadModel(dir, { backend: qbe });
        let agree = 0, total = 0;
        for (let s = 0; s < 4; s++) {
          const p = ids(100 + s, 12, wide.vocab_size);
          const f = greedy(model, p, 16);
          const seq = qmodel.newSequence();
          let [logits] = qmodel.forward([{ seq, ids: p }]);
          for (const tok of f.tokens) {
            agree += argmax(logits!) === tok ? 1 : 0;
            total++;
            [logits] = qmodel.forward([{ seq, ids: Int32Array.of(tok) }]);
          }
        }
        assert.ok(agree / total >= floor, `${dtype} top-1 agreement ${agree}/${total}`);
        t.diagnostic(`${dtype} top-1 agreement ${agree}/${total}`);
      } finally {
        qbe.dispose();
      }
    });
  }
});
