import { test } from "node:test";
import assert from "node:assert/strict";
import { applyLogitsProcessors, logitBias, makeLogitsProcessors, presenceFrequencyPenalty, repetitionPenalty } from "./processors.js";
import { validateSamplingParams } from "./sampler.js";
import { logSumExp, stepLogprobs, topIndices } from "./logprobs.js";

test("presenceFrequencyPenalty: OpenAI semantics over generated tokens only, input untouched", () => {
  const logits = new Float32Array([1, 1, 1, 1]);
  const out = presenceFrequencyPenalty(0.5, 0.25)(logits, { prompt: [0, 0, 0], generated: [2, 2, 3] });
  assert.deepEqual(Array.from(out), [1, 1, 1 - (2 * 0.25 + 0.5), 1 - (0.25 + 0.5)]);
  assert.deepEqual(Array.from(logits), [1, 1, 1, 1]);
  assert.equal(presenceFrequencyPenalty(0.5, 0.25)(logits, { prompt: [1], generated: [] }), logits);
});

test("repetitionPenalty: HF semantics over prompt and generated, once per distinct token", () => {
  const logits = new Float32Array([4, -4, 2, 0, 3]);
  const out = repetitionPenalty(2)(logits, { prompt: [0, 1, 1, 1], generated: [3, 0] });
  assert.deepEqual(Array.from(out), [2, -8, 2, 0, 3]);
  assert.deepEqual(Array.from(logits), [4, -4, 2, 0, 3]);
});

test("logitBias: adds the bias to listed ids", () => {
  const out = logitBias(new Map([[1, -100], [2, 5]]))(new Float32Array([0, 0, 0]), { prompt: [], generated: [] });
  assert.deepEqual(Array.from(out), [0, -100, 5]);
});

test("makeLogitsProcessors: penalties first, bias last; none when nothing is asked", () => {
  assert.equal(makeLogitsProcessors(validateSamplingParams({})).length, 0);
  const procs = makeLogitsProcessors(
    validateSamplingParams({ repetitionPenalty: 2, presencePenalty: 1, logitBias: new Map([[0, 3]]) }),
  );
  const out = applyLogitsProcessors(procs, new Float32Array([4, 4]), { prompt: [0], generated: [0] });
  // token 0: 4 / 2 (repetition) − 1 (presence) + 3 (bias) = 4; token 1 untouched.
  assert.deepEqual(Array.from(out), [4, 4]);
});

test("logprobs: log-softmax of the chosen token and the top-N alternatives", () => {
  const logits = new Float32Array([0, Math.log(3), -Infinity, Math.log(3)]);
  assert.ok(Math.abs(logSumExp(logits) - Math.log(7)) < 1e-6);
  const lp = stepLogprobs(logits, 0, 2);
  assert.ok(Math.abs(lp.logprob - Math.log(1 / 7)) < 1e-6);
  assert.deepEqual(lp.top.map((t) => t.token), [1, 3]);
  assert.ok(Math.abs(lp.top[0]!.logprob - Math.log(3 / 7)) < 1e-6);
  assert.deepEqual(topIndices(new Float32Array([1, 5, 3, 5]), 3), [1, 3, 2]);
  assert.deepEqual(topIndices(new Float32Array([1, 2]), 0), []);
});

test("processors: extreme penalties and biases saturate at the float32 range; masked tokens stay masked", () => {
  const history = { prompt: [0, 1, 2], generated: [0, 1, 2, 2] };
  const logits = new Float32Array([5, -5, -Infinity, 1]);
  const out = applyLogitsProcessors(
    makeLogitsProcessors(validateSamplingParams({ repetitionPenalty: 5e-324, presencePenalty: -1e308, frequencyPenalty: -Number.MAX_VALUE, logitBias: new Map([[3, Number.MAX_VALUE]]) })),
    logits,
    history,
  );
  assert.deepEqual(Array.from(out), [3.4028234663852886e38, 3.4028234663852886e38, -Infinity, 3.4028234663852886e38]);
  const down = repetitionPenalty(Number.MAX_VALUE)(new Float32Array([-5, 5]), { prompt: [0, 1], generated: [] });
  assert.deepEqual(Array.from(down), [-3.4028234663852886e38, 0]); // 5 / MAX_VALUE underflows float32
});
