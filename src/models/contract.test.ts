// What the architecture/kernel contract adds to a model: the async forward (a device backend's
// readback), final hidden states as an output, per-layer cache slots, and checkpoints whose decoder
// lives under `model.language_model.` (vision-language wrappers) loading like plain ones.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ids, maxDiff } from "../../test/helpers/differential.js";
import { decodeSafetensorsF64 } from "../../test/helpers/f64-forward.js";
import { readSafetensorsDir, readWholeFile, writeSafetensors, type TensorToWrite } from "../formats/safetensors.js";
import { KvSlot } from "../layers/kv_cache.js";
import { loadModel } from "./load.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-contract-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

for (const name of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
  describe(`${name}: model contract`, async () => {
    const dir = join(fixtures, name);
    const model = await loadModel(dir);
    const v = model.config.vocabSize;
    const prompt = ids(5, 9, v);

    test("forwardAsync gives the same logits as forward, for every row and with chunking", async () => {
      const [sync] = model.forward([{ seq: model.newSequence(), ids: prompt }], { logits: "all", maxChunk: 4 });
      const [async] = await model.forwardAsync([{ seq: model.newSequence(), ids: prompt }], { logits: "all", maxChunk: 4 });
      assert.deepEqual(async, sync);
    });

    test("output: hidden returns the final-normed hidden states the LM head turns into the logits", () => {
      const [hidden] = model.forward([{ seq: model.newSequence(), ids: prompt }], { output: "hidden" });
      const [logits] = model.forward([{ seq: model.newSequence(), ids: prompt }]);
      const hs = model.config.hiddenSize;
      assert.equal(hidden!.length, hs);
      const w = decodeSafetensorsF64(readWholeFile(join(dir, "model.safetensors")));
      const head = w.get(model.config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight")!.data;
      const expect = new Float32Array(v);
      for (let r = 0; r < v; r++) {
        let s = 0;
        for (let d = 0; d < hs; d++) s += hidden![d]! * head[r * hs + d]!;
        expect[r] = s;
      }
      assert.ok(maxDiff(expect, logits!) < 1e-4, `max |Δ| ${maxDiff(expect, logits!)}`);
    });

    test("every attention layer keeps its own KV slot, which grows as the sequence does", () => {
      const seq = model.newSequence(2);
      assert.equal(seq.slots.length, model.config.numLayers);
      assert.ok(seq.slots.every((s) => s instanceof KvSlot && s.capacity === 2));
      model.forward([{ seq, ids: prompt }]);
      assert.ok(seq.slots.every((s) => s instanceof KvSlot && s.capacity >= prompt.length));
      assert.equal(new Set(seq.slots).size, model.config.numLayers, "no slot is shared between layers");
      model.release(seq);
      assert.equal(seq.slots.length, 0);
    });

    test("a checkpoint with its decoder under model.language_model. loads and gives the same logits", async () => {
      const wrapped = join(tmp, `${name}-wrapped`);
      mkdirSync(wrapped, { recursive: true });
      for (const f of ["config.json", "generation_config.json"]) copyFileSync(join(dir, f), join(wrapped, f));
      const renamed = new Map<string, TensorToWrite>();
      for (const [n, t] of readSafetensorsDir(dir).tensors) {
        renamed.set(n.startsWith("model.") ? n.replace(/^model\./, "model.language_model.") : n, { dtype: t.dtype, shape: t.shape, bytes: t.bytes });
      }
      writeSafetensors(join(wrapped, "model.safetensors"), renamed);
      const other = await loadModel(wrapped);
      const [a] = model.forward([{ seq: model.newSequence(), ids: prompt }]);
      const [b] = other.forward([{ seq: other.newSequence(), ids: prompt }]);
      assert.deepEqual(b, a);
    });
  });
}

describe("forwardAsync and the event loop", async () => {
  const model = await loadModel(join(fixtures, "qwen3-dense-tiny"));
  const long = ids(9, 1200, model.config.vocabSize);

  test("timers run during a long async prefill (the event loop gets turns between blocks)", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const t0 = performance.now();
      await model.forwardAsync([{ seq: model.newSequence(), ids: long }], { maxChunk: 256 });
      const ms = performance.now() - t0;
      assert.ok(ms > 50, `the prefill should take a while on ref (took ${ms.toFixed(0)} ms)`);
      assert.ok(ticks >= 3, `only ${ticks} timer ticks in ${ms.toFixed(0)} ms`);
    } finally {
      clearInterval(timer);
    }
  });

  test("concurrent forwardAsync calls run one after another and equal sequential forward", async () => {
    const a = ids(1, 300, model.config.vocabSize), b = ids(2, 200, model.config.vocabSize);
    const [ra, rb] = await Promise.all([
      model.forwardAsync([{ seq: model.newSequence(), ids: a }], { maxChunk: 64 }),
      model.forwardAsync([{ seq: model.newSequence(), ids: b }], { maxChunk: 64 }),
    ]);
    assert.deepEqual(ra, model.forward([{ seq: model.newSequence(), ids: a }], { maxChunk: 64 }));
    assert.deepEqual(rb, model.forward([{ seq: model.newSequence(), ids: b }], { maxChunk: 64 }));
  });

  test("a sync forward while an async one runs is refused, naming the way out", async () => {
    const pending = model.forwardAsync([{ seq: model.newSequence(), ids: long }], { maxChunk: 256 });
    await new Promise((r) => setTimeout(r, 5));
    assert.throws(() => model.forward([{ seq: model.newSequence(), ids: Int32Array.of(1) }]), /async forward of this model is still running/);
    await pending;
  });
});
