// Qwen3-Embedding pooling on the fixture checkpoint (random weights, real tokenizer) against an
// independent float64 forward pass (test/helpers/f64-forward.ts), pooled and normalised here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { decodeSafetensorsF64, hiddenF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { DEFAULT_RETRIEVAL_TASK } from "../chat/retrieval.js";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { embed, embeddingIds } from "./embed.js";

const dir = completeModelDir("qwen3-dense-tiny");
const model = await loadModel(dir);
const tokenizer = Tokenizer.fromDir(dir);
const weights = decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
const f64: F64Config = { modelType: "qwen3", hidden: 32, heads: 4, kvHeads: 2, headDim: 16, layers: 2, eps: 1e-6, theta: 1e6, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] };
after(() => model.backend.dispose());

/** Last-token pooling, Matryoshka cut and L2 norm of the float64 hidden states. */
function referenceEmbedding(ids: number[], dims = 32): Float64Array {
  const states = hiddenF64(f64, weights, ids);
  const v = states[states.length - 1]!.slice(0, dims);
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / norm);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe("embed on qwen3-dense-tiny", () => {
  const texts = ["The capital of China is Beijing.", "Gravity is a force that attracts two bodies towards each other.", "短い"];

  test("ids: the text's tokens then <|endoftext|>; a query is `Instruct: {task}\\nQuery:{text}`", () => {
    const end = tokenizer.tokenToId("<|endoftext|>")!;
    assert.equal(end, 151643);
    assert.deepEqual(embeddingIds(tokenizer, "hello"), [...tokenizer.encode("hello", { addSpecialTokens: false }), end]);
    const q = embeddingIds(tokenizer, "Explain gravity", DEFAULT_RETRIEVAL_TASK);
    assert.equal(tokenizer.decode(q), `Instruct: ${DEFAULT_RETRIEVAL_TASK}\nQuery:Explain gravity<|endoftext|>`);
  });

  test("batched embeddings equal float64 last-token pooling + L2 norm within 2e-5, and have unit length", async (t) => {
    const { embeddings, promptTokens } = await embed(model, tokenizer, texts);
    const ids = texts.map((x) => embeddingIds(tokenizer, x));
    assert.equal(promptTokens, ids.reduce((a, x) => a + x.length, 0));
    let worst = 0;
    embeddings.forEach((e, i) => {
      assert.equal(e.length, 32);
      worst = Math.max(worst, maxDiff(e, referenceEmbedding(ids[i]!)));
      assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-6);
    });
    t.diagnostic(`max |Δ| vs float64 ${worst.toExponential(2)}`);
    assert.ok(worst < 2e-5, `max |Δ| vs float64 ${worst}`);
  });

  test("Matryoshka dimensions cut first, then normalise (float64 reference), for a query with an instruction", async () => {
    const { embeddings } = await embed(model, tokenizer, ["Explain gravity"], { instruction: DEFAULT_RETRIEVAL_TASK, dimensions: 8 });
    const want = referenceEmbedding(embeddingIds(tokenizer, "Explain gravity", DEFAULT_RETRIEVAL_TASK), 8);
    assert.ok(maxDiff(embeddings[0]!, want) < 2e-5);
  });

  test("one input at a time (a 1-token step budget) gives the batched results; token-id inputs are used as given", async () => {
    const batched = await embed(model, tokenizer, texts);
    const single = await embed(model, tokenizer, texts, { maxBatchTokens: 1 });
    batched.embeddings.forEach((e, i) => assert.ok(maxDiff(e, single.embeddings[i]!) < 1e-6));
    const ids = embeddingIds(tokenizer, texts[0]!);
    const fromIds = await embed(model, tokenizer, [ids]);
    assert.ok(maxDiff(fromIds.embeddings[0]!, batched.embeddings[0]!) < 1e-6);
  });

  test("bad dimensions and empty token inputs are rejected, naming the parameter", async () => {
    await assert.rejects(embed(model, tokenizer, ["x"], { dimensions: 33 }), /dimensions: must be an integer in \[1, 32\], got 33/);
    await assert.rejects(embed(model, tokenizer, [[]]), /input\[0\]: has no tokens/);
  });
});
