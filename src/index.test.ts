import assert from "node:assert/strict";
import { test } from "node:test";
import { completeModelDir } from "../test/helpers/complete-model.js";
import { createWasmBackend, generateAll, openModel, QwenrtError } from "./index.js";

test("the package entry opens a model directory and generates, as the README shows", async () => {
  const backend = await createWasmBackend({ threads: 2 });
  try {
    const { model, tokenizer, template } = await openModel(completeModelDir("qwen3-dense-tiny"), { backend });
    const prompt = template!.render({ messages: [{ role: "user", content: "Hi!" }], enable_thinking: false });
    const r = await generateAll(model, tokenizer, tokenizer.encode(prompt), { maxTokens: 5, temperature: 0 });
    assert.ok(r.completionTokens >= 1 && r.completionTokens <= 5);
    assert.equal(typeof r.text, "string");
  } finally {
    backend.dispose();
  }
});

test("the package entry's errors are QwenrtErrors naming the path", async () => {
  await assert.rejects(openModel("/nonexistent/model-dir"), (e: unknown) => e instanceof QwenrtError && /nonexistent/.test(e.message));
});
