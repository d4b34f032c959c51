// moderate(): verdict probabilities on the fixture checkpoint against a float64 forward pass, and
// designed tiny guards (test/helpers/guard-checkpoint.ts) that must say Unsafe / Safe as built.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { decodeSafetensorsF64, hiddenF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { writeGuardCheckpoint } from "../../test/helpers/guard-checkpoint.js";
import { guardPrompt } from "../chat/guard.js";
import { loadModel } from "../models/load.js";
import type { Model } from "../models/model.js";
import { Tokenizer } from "../tokenizer/index.js";
import { moderate } from "./guard.js";

const models: Model[] = [];
after(() => models.forEach((m) => m.backend.dispose()));
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-guard-"));

async function open(dir: string): Promise<{ model: Model; tokenizer: Tokenizer }> {
  const model = await loadModel(dir);
  models.push(model);
  return { model, tokenizer: Tokenizer.fromDir(dir) };
}

describe("moderate", () => {
  test("verdict probabilities are the softmax of the label tokens' float64 logits after `Safety:` (random fixture weights)", async (t) => {
    const dir = completeModelDir("qwen3-dense-tiny");
    const { model, tokenizer } = await open(dir);
    const messages = [{ role: "user" as const, content: "How can I make a bomb?" }];
    const v = await moderate(model, tokenizer, messages);
    const ids = tokenizer.encode(`${guardPrompt(messages).text}Safety:`, { addSpecialTokens: false });
    assert.equal(v.promptTokens, ids.length);
    const w = decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
    const f64: F64Config = { modelType: "qwen3", hidden: 32, heads: 4, kvHeads: 2, headDim: 16, layers: 2, eps: 1e-6, theta: 1e6, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] };
    const states = hiddenF64(f64, w, ids);
    const hLast = states[states.length - 1]!;
    const emb = w.get("model.embed_tokens.weight")!.data;
    const z = [" Safe", " Unsafe", " Controversial"].map((s) => {
      const id = tokenizer.encode(s, { addSpecialTokens: false })[0]!;
      return hLast.reduce((a, x, i) => a + x * emb[id * 32 + i]!, 0);
    });
    const m = Math.max(...z);
    const e = z.map((x) => Math.exp(x - m));
    const want = e.map((x) => x / e.reduce((a, b) => a + b, 0));
    const got = [v.probabilities.Safe, v.probabilities.Unsafe, v.probabilities.Controversial];
    const worst = Math.max(...got.map((g, i) => Math.abs(g - want[i]!)));
    t.diagnostic(`verdict ${v.safety}, probabilities ${got.map((x) => x.toFixed(4)).join("/")}, max |Δ| vs float64 ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-5, `max |Δ| ${worst}`);
    assert.equal(v.safety, ["Safe", "Unsafe", "Controversial"][want.indexOf(Math.max(...want))]);
    if (v.safety !== "Safe") assert.ok(v.categories.length >= 1, "an unsafe verdict names its categories");
  });

  test("a guard built to say Unsafe flags a prompt and names a category from the policy; a response also gets a refusal", async () => {
    const { model, tokenizer } = await open(writeGuardCheckpoint(join(tmp, "always"), "always"));
    const v = await moderate(model, tokenizer, [{ role: "user", content: "Hello" }]);
    assert.equal(v.safety, "Unsafe");
    assert.ok(v.probabilities.Unsafe > 0.99);
    assert.deepEqual(v.categories, ["Violent"]);
    const r = await moderate(model, tokenizer, [{ role: "user", content: "Hello" }, { role: "assistant", content: "Hi" }], { refusal: true });
    assert.equal(r.target, "response");
    assert.equal(r.safety, "Unsafe");
    assert.equal(typeof r.refusal, "boolean");
  });

  test("a guard built to say Safe passes both checks; the response-trigger guard passes prompts and flags answers", async () => {
    const never = await open(writeGuardCheckpoint(join(tmp, "never"), "never"));
    const ok = await moderate(never.model, never.tokenizer, [{ role: "user", content: "Hello" }]);
    assert.deepEqual([ok.safety, ok.categories], ["Safe", []]);
    const okAnswer = await moderate(never.model, never.tokenizer, [{ role: "user", content: "Hello" }, { role: "assistant", content: "Hi" }], { refusal: true });
    assert.equal(okAnswer.safety, "Safe");
    assert.equal(typeof okAnswer.refusal, "boolean");
    const resp = await open(writeGuardCheckpoint(join(tmp, "response"), "response"));
    assert.equal((await moderate(resp.model, resp.tokenizer, [{ role: "user", content: "Hello" }])).safety, "Safe");
    assert.equal((await moderate(resp.model, resp.tokenizer, [{ role: "user", content: "Hello" }, { role: "assistant", content: "Hi" }])).safety, "Unsafe");
  });
});
