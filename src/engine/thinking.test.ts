import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { THINKING_EARLY_STOP } from "../chat/budget.js";
import { Tokenizer } from "../tokenizer/index.js";
import { generateAll, type GenerateStep } from "./generate.js";
import { thinkingBudgetInterceptor } from "./thinking.js";
import type { ForwardSegment, LogitsModel } from "./types.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tok = Tokenizer.fromDir(join(root, "test/fixtures/qwen3-tokenizer"));
const VOCAB = 151_936;
const [THINK, CLOSE] = [151667, 151668];
const [A, B, C, X] = ["a", "b", "c", "x"].map((ch) => tok.encode(ch, { addSpecialTokens: false })[0]!) as [number, number, number, number];

/** Greedy-scripted model over the real vocabulary: after n output tokens, logits peak at script[n] (else X). */
function scripted(script: number[], promptLen: number): LogitsModel<{ length: number }> & { calls: number[][] } {
  const calls: number[][] = [];
  return {
    calls,
    config: { vocabSize: VOCAB },
    newSequence: () => ({ length: 0 }),
    forward(segments: readonly ForwardSegment<{ length: number }>[]) {
      return segments.map(({ seq, ids }) => {
        calls.push(Array.from(ids));
        seq.length += ids.length;
        const logits = new Float32Array(VOCAB);
        logits[script[seq.length - promptLen] ?? X] = 10;
        return logits;
      });
    },
  };
}

test("thinking budget: at the budget inside <think>, the early-stop text is forced and generation goes on", async () => {
  const early = tok.encode(THINKING_EARLY_STOP, { addSpecialTokens: false });
  assert.ok(early.includes(CLOSE));
  const model = scripted([THINK, A, B, C, C, C, C], 1);
  const steps: GenerateStep[] = [];
  const r = await generateAll(
    model,
    tok,
    [A],
    { temperature: 0, maxTokens: 3 + early.length + 2, interceptor: thinkingBudgetInterceptor(tok, { budget: 2, thinkingEnabled: true }) },
    (s) => steps.push(s),
  );
  // <think> is not counted; "a", "b" use the budget of 2; the early stop follows at once.
  assert.deepEqual(r.ids, [THINK, A, B, ...early, X, X]);
  assert.deepEqual(steps.map((s) => s.forced === true), [false, false, false, ...early.map(() => true), false, false]);
  assert.equal(r.text, `<think>ab${THINKING_EARLY_STOP}xx`);
  assert.deepEqual(model.calls[3], [B, ...early]); // the forced ids reach the model in one forward
});

test("thinking budget: a thought closed by the model in time, or thinking disabled, forces nothing", async () => {
  const closed = await generateAll(scripted([THINK, A, CLOSE, B, B], 1), tok, [A], {
    temperature: 0,
    maxTokens: 5,
    interceptor: thinkingBudgetInterceptor(tok, { budget: 2, thinkingEnabled: true }),
  });
  assert.deepEqual(closed.ids, [THINK, A, CLOSE, B, B]);
  const off = await generateAll(scripted([A, A, A, A], 1), tok, [A], {
    temperature: 0,
    maxTokens: 4,
    interceptor: thinkingBudgetInterceptor(tok, { budget: 0, thinkingEnabled: false }),
  });
  assert.deepEqual(off.ids, [A, A, A, A]);
});

test("thinking budget 0: the thought is closed before the first sampled token", async () => {
  const early = tok.encode(THINKING_EARLY_STOP, { addSpecialTokens: false });
  const r = await generateAll(scripted([], 1), tok, [A], {
    temperature: 0,
    maxTokens: early.length + 1,
    interceptor: thinkingBudgetInterceptor(tok, { budget: 0, thinkingEnabled: true }),
  });
  assert.deepEqual(r.ids, [...early, X]);
  assert.throws(() => thinkingBudgetInterceptor(tok, { budget: -1, thinkingEnabled: true }), { message: /^thinking_budget: / });
});
