/** A sequence saved to bytes and restored continues exactly as the original (ref and wasm backends). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend } from "../kernels/types.js";
import { loadModel } from "./load.js";
import { restoreSequence, saveSequence } from "./snapshot.js";

const dir = new URL("../../test/fixtures/models/qwen3-dense-tiny", import.meta.url).pathname;

async function check(backend: KernelBackend, exact: boolean): Promise<void> {
  const model = await loadModel(dir, { backend });
  try {
    const ids = Int32Array.from({ length: 301 }, (_, i) => ((i * 37) % 1000) + 10);
    const a = model.newSequence(64); // grows past its first capacity
    await model.forwardAsync([{ seq: a, ids }]);
    const layers = saveSequence(a, a.length)!;
    assert.equal(layers.length, 2);
    assert.equal(layers[0]!.byteLength % (2 * 301 * 2), 0); // [k|v, kvHeads, 301, headDim] of f16
    // The bytes as a file read gives them: views into one larger Node Buffer at odd offsets.
    const file = Buffer.alloc(7 + layers.reduce((n, l) => n + l.byteLength, 0));
    let o = 7;
    const views = layers.map((l) => {
      file.set(l, o);
      o += l.byteLength;
      return file.subarray(o - l.byteLength, o);
    });
    const b = restoreSequence(model, views, a.length);
    assert.equal(b.length, 301);
    const next = Int32Array.from([42, 7]);
    const [la] = await model.forwardAsync([{ seq: a, ids: next }]);
    const [lb] = await model.forwardAsync([{ seq: b, ids: next }]);
    let diff = 0;
    for (let i = 0; i < la!.length; i++) diff = Math.max(diff, Math.abs(la![i]! - lb![i]!));
    // An f16 cache round-trips bit for bit; a float32 one is rounded to f16 on the way.
    if (exact) assert.equal(diff, 0);
    else assert.ok(diff > 0 && diff < 1e-2, `max logit difference ${diff}`);
    assert.throws(() => restoreSequence(model, views.slice(1), 301), /KV snapshot: holds 1 layers; the model has 2/);
  } finally {
    backend.dispose();
  }
}

test("a saved sequence restores to the same logits: wasm f16 exactly", async () => {
  await check(await createWasmBackend({ threads: 1 }), true);
});

test("a saved sequence restores to the same logits: ref float32 within f16 rounding", async () => {
  await check(createRefBackend(), false);
});
