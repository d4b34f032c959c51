import assert from "node:assert/strict";
import { test } from "node:test";
import { completeModelDir } from "../test/helpers/complete-model.js";
import { createConstraint, createWasmBackend, generateAll, openModel, prepareVocab, QwenrtError, validateJson, type Constraint, type LogitsConstraint } from "./index.js";

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

test("openModel without a backend runs on wasm (the fast one), not the reference", async () => {
  const { model } = await openModel(completeModelDir("qwen3-dense-tiny"));
  try {
    assert.match(model.backend.name, /^wasm/);
  } finally {
    model.backend.dispose();
  }
});

test("exported types line up: a Constraint is a LogitsConstraint that generate takes", async () => {
  const { model, tokenizer } = await openModel(completeModelDir("qwen3-dense-tiny"));
  try {
    const vocab = prepareVocab({
      tokenStrings: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.tokenBytes(id) ?? new Uint8Array(0)),
      specialIds: tokenizer.addedTokenIds(),
      eosIds: [151645, 151643],
      vocabSize: model.config.vocabSize,
    });
    const schema = { type: "object", properties: { n: { type: "integer", minimum: 1, maximum: 9 } }, required: ["n"] };
    const constraint: Constraint = createConstraint({ kind: "json_schema", schema }, vocab);
    const asLogits: LogitsConstraint = constraint;
    const r = await generateAll(model, tokenizer, tokenizer.encode("JSON:"), { maxTokens: 20, temperature: 0, constraint: asLogits });
    assert.deepEqual(validateJson(JSON.parse(r.text), schema), [], r.text);
  } finally {
    model.backend.dispose();
  }
});
