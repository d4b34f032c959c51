// At model level on the wasm heap: sequences created and released without end, and a prefix cache
// that evicts and replaces entries, do not grow the heap. (The allocator itself: kernels/wasm/memory.test.ts.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { WasmBackend } from "../kernels/wasm/backend.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { loadModel } from "../models/load.js";
import { PrefixCache } from "./prefix-cache.js";

describe("model sequences on the wasm backend", async () => {
  const dir = fileURLToPath(new URL("../../test/fixtures/models/qwen3-dense-tiny", import.meta.url));
  const be = await createWasmBackend({ threads: 2 });
  const model = await loadModel(dir, { backend: be });
  assert.ok(be instanceof WasmBackend);

  test("creating, using and releasing 1000 sequences does not grow the heap", () => {
    const run = (): void => {
      const seq = model.newSequence(4);
      model.forward([{ seq, ids: Int32Array.of(1, 2, 3, 4, 5, 6) }]); // grows the cache once
      model.release(seq);
    };
    run(); // warm the scratch buffers
    const end = be.memoryEnd, used = be.memoryBytes;
    for (let i = 0; i < 1000; i++) run();
    assert.equal(be.memoryEnd, end);
    assert.equal(be.memoryBytes, used);
  });

  test("a released sequence cannot be used; releasing twice is a no-op", () => {
    const seq = model.newSequence();
    model.release(seq);
    model.release(seq);
    assert.throws(() => model.forward([{ seq, ids: Int32Array.of(1) }]), /released/);
  });

  test("a prefix cache that evicts and replaces entries frees their caches", () => {
    const cache = new PrefixCache(model, { maxTokens: 64 });
    const step = (i: number): void => {
      const prompt = [1 + (i % 7), 2, 3, 4 + (i % 5), 5];
      const { seq, cached } = cache.acquire(prompt);
      model.forward([{ seq, ids: Int32Array.from(prompt.slice(cached)) }]);
      cache.release(seq, prompt);
    };
    for (let i = 0; i < 50; i++) step(i);
    const end = be.memoryEnd;
    for (let i = 50; i < 500; i++) step(i);
    assert.equal(be.memoryEnd, end);
    cache.clear();
    be.dispose();
  });
});
