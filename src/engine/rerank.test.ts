// Qwen3-Reranker scoring: the model card's prompt byte for byte, and yes/no scores on the fixture
// checkpoint against an independent float64 forward pass.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { decodeSafetensorsF64, hiddenF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { rerank, rerankerIds, rerankerLabelIds } from "./rerank.js";

const dir = completeModelDir("qwen3-dense-tiny");
const model = await loadModel(dir);
const tokenizer = Tokenizer.fromDir(dir);
after(() => model.backend.dispose());

// The card's `prefix + format_instruction(None, query, doc) + suffix`, written out.
const CARD_PROMPT =
  "<|im_start|>system\n" +
  'Judge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n' +
  "<|im_start|>user\n" +
  "<Instruct>: Given a web search query, retrieve relevant passages that answer the query\n" +
  "<Query>: What is the capital of China?\n" +
  "<Document>: The capital of China is Beijing.<|im_end|>\n" +
  "<|im_start|>assistant\n" +
  "<think>\n\n</think>\n\n";

describe("rerank on qwen3-dense-tiny", () => {
  test("the prompt is the model card's, byte for byte; ids are its three parts tokenized apart", () => {
    const ids = rerankerIds(tokenizer, undefined, "What is the capital of China?", "The capital of China is Beijing.");
    assert.equal(tokenizer.decode(ids), CARD_PROMPT);
    assert.deepEqual(ids, tokenizer.encode(CARD_PROMPT, { addSpecialTokens: false }));
    const custom = rerankerIds(tokenizer, "Find code", "q", "d");
    assert.match(tokenizer.decode(custom), /<\|im_start\|>user\n<Instruct>: Find code\n<Query>: q\n<Document>: d<\|im_end\|>\n/);
    assert.deepEqual(rerankerLabelIds(tokenizer), { yes: 9693, no: 2152 });
  });

  test("scores equal sigmoid(yes − no) of float64 next-token logits within 1e-5, batched or one at a time", async (t) => {
    const docs = ["The capital of China is Beijing.", "Gravity is a force.", "Paris"];
    const { scores, promptTokens } = await rerank(model, tokenizer, "What is the capital of China?", docs);
    const single = await rerank(model, tokenizer, "What is the capital of China?", docs, { maxBatchTokens: 1 });
    const w = decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
    const f64: F64Config = { modelType: "qwen3", hidden: 32, heads: 4, kvHeads: 2, headDim: 16, layers: 2, eps: 1e-6, theta: 1e6, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] };
    const emb = w.get("model.embed_tokens.weight")!.data;
    const logit = (h: Float64Array, id: number): number => h.reduce((a, x, i) => a + x * emb[id * 32 + i]!, 0);
    let worst = 0;
    let tokens = 0;
    docs.forEach((d, i) => {
      const ids = rerankerIds(tokenizer, undefined, "What is the capital of China?", d);
      tokens += ids.length;
      const states = hiddenF64(f64, w, ids);
      const h = states[states.length - 1]!;
      const want = Math.exp(logit(h, 9693)) / (Math.exp(logit(h, 9693)) + Math.exp(logit(h, 2152)));
      worst = Math.max(worst, Math.abs(scores[i]! - want));
      assert.ok(Math.abs(single.scores[i]! - scores[i]!) < 1e-6);
    });
    assert.equal(promptTokens, tokens);
    t.diagnostic(`max |Δ| vs float64 ${worst.toExponential(2)}; scores ${scores.map((s) => s.toFixed(4)).join(", ")}`);
    assert.ok(worst < 1e-5, `max |Δ| ${worst}`);
    assert.ok(new Set(scores.map((s) => s.toFixed(6))).size === 3, "different documents score differently");
  });
});
