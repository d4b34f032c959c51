import { test } from "node:test";
import assert from "node:assert/strict";
import { generate, generateAll, validateGenerateOptions, type GenerateStep } from "./generate.js";
import type { DetokenizerSource, ForwardSegment, GenerationDefaults, LogitsModel, TextStream } from "./types.js";

// Fake vocabulary: each id is a byte string; 0 is EOS. "é" (c3 a9) is split over ids 7 and 8.
const PIECES: Uint8Array[] = [
  new Uint8Array(0), // 0 <eos>
  ...["Hel", "lo", " wor", "ld", "!", " "].map((s) => new TextEncoder().encode(s)), // 1..6
  new Uint8Array([0xc3]), // 7
  new Uint8Array([0xa9]), // 8
  new TextEncoder().encode("x"), // 9
];
const VOCAB = PIECES.length;

class FakeTokenizer implements DetokenizerSource {
  constructor(readonly eosTokenIds: readonly number[] = []) {}
  newTextStream(): TextStream {
    const dec = new TextDecoder("utf-8");
    return {
      push: (id) => dec.decode(PIECES[id], { stream: true }),
      flush: () => dec.decode(),
    };
  }
}

interface FakeSeq {
  length: number;
}

/** Greedy-scripted model: after `n` generated tokens the logits peak at `script[n]` (else id 9). */
class FakeModel implements LogitsModel<FakeSeq> {
  readonly calls: number[][] = [];
  constructor(
    readonly script: number[],
    readonly promptLen: number,
    readonly generation?: GenerationDefaults,
    readonly config = { vocabSize: VOCAB, maxPositionEmbeddings: 1000 },
    readonly flat = false,
  ) {}
  newSequence(): FakeSeq {
    return { length: 0 };
  }
  forward(segments: readonly ForwardSegment<FakeSeq>[]): Float32Array[] {
    return segments.map(({ seq, ids }) => {
      this.calls.push(Array.from(ids));
      seq.length += ids.length;
      const logits = new Float32Array(VOCAB);
      if (this.flat) {
        logits[0] = 0.01; // nearly uniform, id 0 barely ahead
        return logits;
      }
      logits[this.script[seq.length - this.promptLen] ?? 9] = 5;
      return logits;
    });
  }
}

async function run(model: FakeModel, tok: DetokenizerSource, opts: Parameters<typeof generate>[3]) {
  const steps: GenerateStep[] = [];
  const result = await generateAll(model, tok, [1, 2, 3], opts, (s) => steps.push(s));
  return { steps, result };
}

test("generate: stops at maxTokens with finishReason length and usage counts", async () => {
  const { steps, result } = await run(new FakeModel([1, 2, 3, 4], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 3 });
  assert.deepEqual(steps.map((s) => s.token), [1, 2, 3]);
  assert.equal(steps.map((s) => s.text).join(""), "Hello wor");
  assert.equal(result.finishReason, "length");
  assert.equal(result.text, "Hello wor");
  assert.deepEqual([result.promptTokens, result.completionTokens], [3, 3]);
});

test("generate: EOS from generation_config or the tokenizer ends with stop; ignoreEos continues", async () => {
  const gc = { eosTokenIds: [0] };
  const a = await run(new FakeModel([1, 2, 0, 4], 3, gc), new FakeTokenizer(), { temperature: 0, maxTokens: 10 });
  assert.deepEqual(a.result.ids, [1, 2, 0]);
  assert.equal(a.result.finishReason, "stop");
  assert.equal(a.result.stoppedBy, 0);
  assert.equal(a.result.text, "Hello");
  const b = await run(new FakeModel([1, 5, 4], 3), new FakeTokenizer([5]), { temperature: 0, maxTokens: 10 });
  assert.deepEqual(b.result.ids, [1, 5]);
  assert.equal(b.result.finishReason, "stop");
  const c = await run(new FakeModel([1, 2, 0, 4], 3, gc), new FakeTokenizer(), { temperature: 0, maxTokens: 4, ignoreEos: true });
  assert.deepEqual(c.result.ids, [1, 2, 0, 4]);
  assert.equal(c.result.finishReason, "length");
});

test("generate: a stop string across token boundaries is held back and never emitted", async () => {
  const model = new FakeModel([1, 2, 3, 4, 5, 9], 3);
  const { steps, result } = await run(model, new FakeTokenizer(), { temperature: 0, maxTokens: 10, stop: ["o wo"] });
  // "Hel" | "lo" → "lo" may start "o wo": "l" released, "o" held | " wor" completes the stop.
  assert.deepEqual(steps.map((s) => s.text), ["Hel", "l", ""]);
  assert.equal(result.text, "Hell");
  assert.equal(result.finishReason, "stop");
  assert.equal(result.stoppedBy, "o wo");
  assert.deepEqual(result.ids, [1, 2, 3]);
});

test("generate: held text that stops matching is released, and released at the end", async () => {
  const a = await run(new FakeModel([1, 2, 3], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 3, stop: ["lo!"] });
  // "Hel": "l" might start "lo!" | "lo": "lo" held, the first "l" released | " wor": no match.
  assert.deepEqual(a.steps.map((s) => s.text), ["He", "l", "lo wor"]);
  assert.equal(a.result.finishReason, "length");
  // Held back at maxTokens: the last step releases it.
  const b = await run(new FakeModel([1, 2], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 2, stop: ["lo!"] });
  assert.deepEqual(b.steps.map((s) => s.text), ["He", "llo"]);
  assert.equal(b.result.text, "Hello");
});

test("generate: UTF-8 split over tokens is held until complete; stop strings match decoded text", async () => {
  const a = await run(new FakeModel([9, 7, 8, 9], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 4 });
  assert.deepEqual(a.steps.map((s) => s.text), ["x", "", "é", "x"]);
  const b = await run(new FakeModel([9, 7, 8, 9], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 4, stop: ["é"] });
  assert.equal(b.result.text, "x");
  assert.equal(b.result.finishReason, "stop");
});

test("generate: prefill is chunked, then one forward per token", async () => {
  const model = new FakeModel([1, 2], 10);
  await generateAll(model, new FakeTokenizer(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 1], { temperature: 0, maxTokens: 2, prefillChunk: 4 });
  assert.deepEqual(model.calls, [[1, 2, 3, 4], [5, 6, 7, 8], [9, 1], [1]]);
});

test("generate: the same seed gives the same tokens, another seed other tokens", async () => {
  const ids = async (seed: number) =>
    (await run(new FakeModel([], 3, undefined, undefined, true), new FakeTokenizer(), { temperature: 1, maxTokens: 24, seed })).result.ids;
  assert.deepEqual(await ids(7), await ids(7));
  assert.notDeepEqual(await ids(7), await ids(8));
});

test("generate: sampling defaults come from generation_config, explicit options win", async () => {
  // A nearly flat distribution: top_k 1 from the checkpoint leaves only id 0.
  const gc = { eosTokenIds: [], topK: 1, temperature: 1 };
  const a = await run(new FakeModel([], 3, gc, undefined, true), new FakeTokenizer(), { maxTokens: 5, seed: 1 });
  assert.deepEqual(a.result.ids, [0, 0, 0, 0, 0]);
  const b = await run(new FakeModel([], 3, gc, undefined, true), new FakeTokenizer(), { maxTokens: 12, seed: 1, topK: 0 });
  assert.ok(new Set(b.result.ids).size > 1);
  const greedy = { eosTokenIds: [], doSample: false };
  const c = await run(new FakeModel([4, 4], 3, greedy), new FakeTokenizer(), { maxTokens: 2, seed: 3 });
  assert.deepEqual(c.result.ids, [4, 4]);
});

test("generate: an aborted signal stops generation with the signal's reason", async () => {
  const ac = new AbortController();
  const gen = generate(new FakeModel([1, 2, 3, 4], 3), new FakeTokenizer(), [1, 2, 3], { temperature: 0, signal: ac.signal });
  const first = await gen.next();
  assert.ok(first.done !== true);
  assert.equal(first.value.token, 1);
  ac.abort(new Error("client went away"));
  await assert.rejects(() => gen.next(), /client went away/);
});

test("generate: the interceptor's forced tokens are emitted, counted and fed in one forward", async () => {
  const model = new FakeModel([1, 9, 9, 9, 9], 3);
  const { steps, result } = await run(model, new FakeTokenizer(), {
    temperature: 0,
    maxTokens: 5,
    interceptor: { afterToken: (t) => (t === 1 ? [2, 6] : undefined) },
  });
  assert.deepEqual(result.ids, [1, 2, 6, 9, 9]);
  assert.deepEqual(steps.map((s) => s.forced === true), [false, true, true, false, false]);
  assert.equal(result.text, "Hello xx");
  assert.deepEqual(model.calls.slice(1, 2), [[1, 2, 6]]);
});

test("generate: logprobs are reported per sampled step; bad options name the parameter", async () => {
  const { steps } = await run(new FakeModel([1, 2], 3), new FakeTokenizer(), { temperature: 0, maxTokens: 2, logprobs: 2 });
  assert.equal(steps[0]!.logprobs!.token, 1);
  assert.equal(steps[0]!.logprobs!.top.length, 2);
  assert.ok(steps[0]!.logprobs!.logprob < 0 && steps[0]!.logprobs!.logprob > -0.1);
  const tok = new FakeTokenizer();
  await assert.rejects(() => generateAll(new FakeModel([], 3), tok, [1], { maxTokens: 0 }), /max_tokens: /);
  await assert.rejects(() => generateAll(new FakeModel([], 3), tok, [], {}), /prompt: /);
  await assert.rejects(() => generateAll(new FakeModel([], 3), tok, [VOCAB], {}), /prompt: token 0/);
  await assert.rejects(() => generateAll(new FakeModel([], 3), tok, [1], { topP: 0 }), /top_p: /);
  await assert.rejects(() => generateAll(new FakeModel([], 3), tok, [1], { stop: [""] }), /stop: /);
});

test("generate: the context window caps generation", async () => {
  const model = new FakeModel([1, 2, 3, 4, 5], 3, undefined, { vocabSize: VOCAB, maxPositionEmbeddings: 5 });
  const { result } = await run(model, new FakeTokenizer(), { temperature: 0, maxTokens: 100 });
  assert.equal(result.completionTokens, 2);
  assert.equal(result.finishReason, "length");
});

/** A model whose step is synchronous work behind an already-resolved promise, as the wasm backend's
 * `forwardAsync` is: without a yield between steps, no timer could run until generation ends. */
class BusyModel implements LogitsModel<FakeSeq> {
  readonly config = { vocabSize: VOCAB, maxPositionEmbeddings: 100_000 };
  constructor(readonly stepMs: number) {}
  newSequence(): FakeSeq {
    return { length: 0 };
  }
  forward(): Float32Array[] {
    throw new Error("the generate loop must use forwardAsync");
  }
  forwardAsync(segments: readonly ForwardSegment<FakeSeq>[]): Promise<Float32Array[]> {
    const until = performance.now() + this.stepMs;
    while (performance.now() < until) {
      // busy: the main thread computing a step
    }
    return Promise.resolve(
      segments.map(({ seq, ids }) => {
        seq.length += ids.length;
        const logits = new Float32Array(VOCAB);
        logits[9] = 5;
        return logits;
      }),
    );
  }
}

test("generate yields to the event loop between steps: a 10 ms timer ticks, a timer's abort stops it", async () => {
  const model = new BusyModel(3);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const r = await generateAll(model, new FakeTokenizer(), [1, 2, 3], { maxTokens: 100, temperature: 0, ignoreEos: true });
    assert.equal(r.completionTokens, 100);
    assert.ok(ticks >= 5, `a 10 ms timer ticked ${ticks} times over 100 steps of 3 ms`);
  } finally {
    clearInterval(timer);
  }
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("stopped by a timer")), 30);
  let steps = 0;
  await assert.rejects(
    generateAll(model, new FakeTokenizer(), [1, 2, 3], { maxTokens: 50_000, temperature: 0, signal: ac.signal }, () => steps++),
    { message: "stopped by a timer" },
  );
  assert.ok(steps < 1000, `aborted after ${steps} steps`);
});

test("generate rejects bad options before its first step (validateGenerateOptions, names the parameter)", async () => {
  const model = new FakeModel([], 3);
  const bad: [Parameters<typeof validateGenerateOptions>[1], RegExp][] = [
    [{ topP: 0 }, /^top_p: /],
    [{ temperature: -1 }, /^temperature: /],
    [{ stop: [""] }, /^stop: /],
    [{ seed: -1 }, /^seed: /],
    [{ maxTokens: 0 }, /^max_tokens: /],
    [{ repetitionPenalty: 0 }, /^repetition_penalty: /],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => validateGenerateOptions(model, opts), { name: "QwenrtError", message: re });
    await assert.rejects(generateAll(model, new FakeTokenizer(), [1, 2, 3], opts), { message: re });
  }
  assert.equal(model.calls.length, 0, "no step ran");
  assert.equal(validateGenerateOptions(model, { temperature: 0.5, topK: 5 }).topK, 5);
});
