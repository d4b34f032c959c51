import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyLogitsProcessors, makeLogitsProcessors } from "./processors.js";
import { createRng } from "./rng.js";
import {
  argmax,
  kthLargest,
  makeSampler,
  samplingCandidates,
  validateSamplingParams,
  type ResolvedSamplingParams,
  type SamplingParams,
} from "./sampler.js";

const root = new URL("../..", import.meta.url).pathname;
const P = (p: SamplingParams): ResolvedSamplingParams => validateSamplingParams(p);
const logitsOf = (probs: number[]): Float32Array => new Float32Array(probs.map(Math.log));

/** Naive oracle: full sort, HF order (temperature, top-k with ties, top-p, min-p). */
function naiveCandidates(logits: Float32Array, p: ResolvedSamplingParams): { ids: number[]; probs: number[] } {
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  let pool = order;
  if (p.topK > 0 && p.topK < logits.length) {
    const kth = logits[order[p.topK - 1]!]!;
    pool = order.filter((i) => logits[i]! >= kth);
  }
  const max = logits[pool[0]!]!;
  const w = pool.map((i) => Math.exp((logits[i]! - max) / p.temperature));
  const z = w.reduce((a, b) => a + b, 0);
  const kept: number[] = [];
  let cum = 0;
  for (let j = 0; j < pool.length; j++) {
    if (j > 0 && (cum >= p.topP || w[j]! < p.minP)) break;
    kept.push(j);
    cum += w[j]! / z;
  }
  const s = kept.reduce((a, j) => a + w[j]!, 0);
  return { ids: kept.map((j) => pool[j]!), probs: kept.map((j) => w[j]! / s) };
}

test("argmax: the largest logit wins, the lowest index wins a tie", () => {
  assert.equal(argmax(new Float32Array([1, 3, 3, 2])), 1);
  assert.equal(argmax(new Float32Array([-5, -1, -Infinity])), 1);
  const greedy = makeSampler(P({ temperature: 0, topK: 1, topP: 0.1 }));
  assert.equal(greedy(new Float32Array([0, 0.5, 9, 9]), createRng(1)), 2);
});

test("kthLargest: bounded heap selection agrees with sorting", () => {
  const rng = createRng(3);
  const v = new Float32Array(1000).map(() => rng.normal());
  const sorted = Array.from(v).sort((a, b) => b - a);
  for (const k of [1, 2, 20, 999, 1000]) assert.equal(kthLargest(v, k), sorted[k - 1]);
});

test("samplingCandidates: top-k keeps exactly k tokens, plus ties at the boundary", () => {
  const logits = new Float32Array([5, 4, 4, 3, 1]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topK: 1 })).ids), [0]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topK: 2 })).ids), [0, 1, 2]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topK: 4 })).ids), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topK: -1 })).ids), [0, 1, 2, 3, 4]);
});

test("samplingCandidates: top-p keeps the smallest prefix whose mass reaches top_p", () => {
  const logits = logitsOf([0.125, 0.5, 0.125, 0.25]); // sorted: 1 (.5), 3 (.25), 0 (.125), 2 (.125)
  const c = samplingCandidates(logits, P({ topP: 0.45 }));
  assert.deepEqual(Array.from(c.ids), [1]);
  assert.deepEqual(Array.from(c.probs), [1]);
  const c2 = samplingCandidates(logits, P({ topP: 0.6 }));
  assert.deepEqual(Array.from(c2.ids), [1, 3]);
  assert.ok(Math.abs(c2.probs[0]! - 2 / 3) < 1e-9 && Math.abs(c2.probs[1]! - 1 / 3) < 1e-9);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topP: 0.8 })).ids), [1, 3, 0]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ topP: 1 })).ids), [1, 3, 0, 2]);
});

test("samplingCandidates: min-p drops tokens below min_p x the top probability", () => {
  const logits = logitsOf([0.5, 0.25, 0.125, 0.125]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ minP: 0.3 })).ids), [0, 1]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ minP: 0.2 })).ids), [0, 1, 2, 3]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ minP: 0.6 })).ids), [0]);
});

test("samplingCandidates: temperature sharpens before top-p (HF order)", () => {
  const logits = new Float32Array([2, 1, 0]);
  // T = 1: probs ≈ .665 .245 .090 → top_p .8 keeps two; T = 0.25: ≈ .982 .018 → keeps one.
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ temperature: 1, topP: 0.8 })).ids), [0, 1]);
  assert.deepEqual(Array.from(samplingCandidates(logits, P({ temperature: 0.25, topP: 0.8 })).ids), [0]);
  const c = samplingCandidates(logits, P({ temperature: 0.5 }));
  const z = Math.exp(4) + Math.exp(2) + 1;
  assert.ok(Math.abs(c.probs[0]! - Math.exp(4) / z) < 1e-12);
});

test("samplingCandidates: equals a full-sort oracle on a 151,936-entry vocabulary", () => {
  const rng = createRng(11);
  const logits = new Float32Array(151_936);
  for (let i = 0; i < logits.length; i++) logits[i] = rng.normal() * 2;
  logits[5] = 14; // a peaked head, as real logits have
  logits[77] = 13.5;
  const cases: SamplingParams[] = [
    { temperature: 0.6, topP: 0.95, topK: 20 },
    { temperature: 1, topP: 0.5 },
    { temperature: 0.7, topP: 0.8, minP: 0.01 },
    { temperature: 1.3, minP: 0.05 },
    { temperature: 1, topK: 500, minP: 0.001 },
    { temperature: 2, topP: 0.999 }, // reaches deep into the tail: the threshold must widen
  ];
  for (const params of cases) {
    const p = P(params);
    const got = samplingCandidates(logits, p);
    const want = naiveCandidates(logits, p);
    assert.deepEqual(Array.from(got.ids), want.ids, JSON.stringify(params));
    for (let i = 0; i < want.probs.length; i++) assert.ok(Math.abs(got.probs[i]! - want.probs[i]!) < 1e-9);
  }
});

test("samplingCandidates: large pools (radix-sorted) order exactly like a comparator sort, ties by id", () => {
  const rng = createRng(12);
  const logits = new Float32Array(20_000);
  for (let i = 0; i < logits.length; i++) logits[i] = Math.round(rng.normal() * 4) / 2; // many ties
  logits[3] = -0;
  logits[4] = 0;
  logits[5] = -Infinity;
  logits[6] = 1e-40; // subnormal
  const p = P({ temperature: 1 });
  const got = samplingCandidates(logits, p);
  const want = naiveCandidates(logits, p);
  assert.equal(got.ids.length, logits.length);
  assert.deepEqual(Array.from(got.ids), want.ids);
});

test("makeSampler: same seed gives the same tokens; the draws follow the distribution", () => {
  const logits = logitsOf([0.5, 0.3, 0.2]);
  for (const params of [{ temperature: 1 }, { temperature: 1, topK: 3 }]) {
    const sample = makeSampler(P(params));
    const a = createRng(99);
    const b = createRng(99);
    const seqA = Array.from({ length: 50 }, () => sample(logits, a));
    const seqB = Array.from({ length: 50 }, () => sample(logits, b));
    assert.deepEqual(seqA, seqB);
    const counts = [0, 0, 0];
    const rng = createRng(5);
    const n = 60_000;
    for (let i = 0; i < n; i++) counts[sample(logits, rng)]!++;
    const freq = counts.map((c) => c / n);
    [0.5, 0.3, 0.2].forEach((want, i) => assert.ok(Math.abs(freq[i]! - want) < 0.01, `${JSON.stringify(params)}: ${freq}`));
  }
  // Filtered: top-k 2 renormalises .5/.3 to .625/.375 and never draws token 2.
  const sample = makeSampler(P({ temperature: 1, topK: 2 }));
  const rng = createRng(6);
  const counts = [0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[sample(logits, rng)]!++;
  assert.equal(counts[2], 0);
  assert.ok(Math.abs(counts[0]! / 40_000 - 0.625) < 0.01, String(counts));
});

test("makeSampler: never draws a token with -Infinity logit", () => {
  const sample = makeSampler(P({ temperature: 1.5 }));
  const logits = new Float32Array([0, -Infinity, 0, -Infinity]);
  const rng = createRng(2);
  for (let i = 0; i < 2000; i++) assert.ok([0, 2].includes(sample(logits, rng)));
});

test("validateSamplingParams: fills defaults and names the parameter at fault", () => {
  const d = validateSamplingParams({});
  assert.equal(d.temperature, 1);
  assert.equal(d.topP, 1);
  assert.equal(d.topK, 0);
  assert.equal(d.minP, 0);
  assert.equal(d.repetitionPenalty, 1);
  assert.equal(validateSamplingParams({ topK: -1 }).topK, 0);
  const bad: [SamplingParams, RegExp][] = [
    [{ temperature: -0.1 }, /^temperature: must be >= 0/],
    [{ temperature: NaN }, /^temperature: must be a finite number/],
    [{ topP: 0 }, /^top_p: must be in \(0, 1\]/],
    [{ topP: 1.01 }, /^top_p: /],
    [{ topK: 2.5 }, /^top_k: must be an integer/],
    [{ topK: -2 }, /^top_k: /],
    [{ minP: 1.5 }, /^min_p: /],
    [{ minP: -0.1 }, /^min_p: /],
    [{ presencePenalty: Infinity }, /^presence_penalty: /],
    [{ frequencyPenalty: NaN }, /^frequency_penalty: /],
    [{ repetitionPenalty: 0 }, /^repetition_penalty: must be > 0/],
    [{ logitBias: new Map([[-1, 1]]) }, /^logit_bias: token id/],
    [{ logitBias: new Map([[3, NaN]]) }, /^logit_bias: bias for token 3/],
  ];
  for (const [params, re] of bad) assert.throws(() => validateSamplingParams(params), { name: "QwenrtError", message: re });
  assert.throws(() => validateSamplingParams({ logitBias: new Map([[10, 1]]) }, { vocabSize: 10 }), /logit_bias/);
  assert.throws(
    () => validateSamplingParams({ topP: 2 }, { nameOf: (k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` }),
    { message: /^--top-p: / },
  );
});

test("makeSampler: the hang of issue 16 (temperature 5e-324, top_k 0, top_p 0.5) ends, greedily (in a child with a timeout)", () => {
  // A regression would spin forever in a synchronous loop, which no in-process timeout can stop.
  const code = `
    import { createRng } from "./src/engine/rng.ts";
    import { argmax, makeSampler, samplingCandidates, validateSamplingParams } from "./src/engine/sampler.ts";
    const rng = createRng(1);
    const logits = new Float32Array(151936).map(() => rng.normal());
    const p = validateSamplingParams({ temperature: 5e-324, topK: 0, topP: 0.5 });
    const c = samplingCandidates(logits, p);
    console.log(JSON.stringify([makeSampler(p)(logits, rng), argmax(logits), Array.from(c.ids), Array.from(c.probs)]));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: root, timeout: 60_000, encoding: "utf8" });
  assert.equal(r.signal, null, "the sampler did not finish within 60 s");
  assert.equal(r.status, 0, r.stderr);
  const [drawn, best, ids, probs] = JSON.parse(r.stdout) as [number, number, number[], number[]];
  assert.equal(drawn, best);
  assert.deepEqual([ids, probs], [[best], [1]]);
});

test("sampler and processors: extreme parameter values always end with a drawable token (seeded property)", { timeout: 120_000 }, () => {
  const pick = <T>(rng: ReturnType<typeof createRng>, xs: readonly T[]): T => xs[Math.floor(rng.float() * xs.length)]!;
  const MAX = Number.MAX_VALUE;
  const temps = [0, 5e-324, 1e-310, 1e-300, 1e-30, 1e-7, 0.3, 1, 2, 1e30, 1e308, MAX];
  const topPs = [5e-324, 1e-300, 1e-9, 0.3, 0.999999, 1];
  const minPs = [0, 5e-324, 1e-300, 1e-9, 0.5, 1];
  const pens = [0, 5e-324, 1e-300, 2, -2, 1e308, -1e308, MAX, -MAX];
  const reps = [5e-324, 1e-300, 0.5, 1, 2, 1e308, MAX];
  const biases = [0, 5e-324, 100, -100, 1e38, -1e38, MAX, -MAX];
  const rng = createRng(16);
  let cases = 0;
  for (let round = 0; round < 1500; round++) {
    const vocab = pick(rng, [1, 2, 7, 64, 300]);
    const params: SamplingParams = {
      temperature: pick(rng, temps),
      topP: pick(rng, topPs),
      topK: pick(rng, [0, -1, 1, 2, vocab - 1, vocab, vocab + 5, 2 ** 31 - 1].filter((k) => k >= -1)),
      minP: pick(rng, minPs),
      presencePenalty: pick(rng, pens),
      frequencyPenalty: pick(rng, pens),
      repetitionPenalty: pick(rng, reps),
      logitBias: new Map(Array.from({ length: Math.floor(rng.float() * 4) }, () => [Math.floor(rng.float() * vocab), pick(rng, biases)] as const)),
    };
    const resolved = validateSamplingParams(params, { vocabSize: vocab });
    const shape = pick(rng, ["normal", "equal", "huge", "masked", "single"]);
    const logits = new Float32Array(vocab).map(() => {
      switch (shape) {
        case "normal":
          return rng.normal() * 5;
        case "equal":
          return 0.25;
        case "huge":
          return pick(rng, [3e38, -3e38, 1e30, 0]);
        case "masked":
          return rng.float() < 0.8 ? -Infinity : rng.normal();
        default:
          return -Infinity;
      }
    });
    if (shape === "single" || logits.every((v) => v === -Infinity)) logits[Math.floor(rng.float() * vocab)] = rng.normal();
    const history = { prompt: [0, vocab - 1], generated: Array.from({ length: 5 }, () => Math.floor(rng.float() * vocab)) };
    const processed = applyLogitsProcessors(makeLogitsProcessors(resolved), logits, history);
    for (const v of processed) assert.ok(v === -Infinity || Number.isFinite(v), `processors wrote ${v} (${JSON.stringify(params, (_, x) => (x instanceof Map ? [...x] : x))})`);
    const sample = makeSampler(resolved);
    for (let draw = 0; draw < 3; draw++) {
      const id = sample(processed, rng);
      assert.ok(Number.isInteger(id) && id >= 0 && id < vocab, `id ${id}`);
      assert.ok(processed[id]! > -Infinity, `drew a masked token with ${JSON.stringify(params, (_, x) => (x instanceof Map ? [...x] : x))}`);
      cases++;
    }
  }
  assert.equal(cases, 4500);
});

test("sampler: NaN or +Infinity logits are a model fault, an all-masked row has no candidates (server errors, not 400s)", () => {
  for (const temperature of [0, 0.7]) {
    for (const topP of [1, 0.9]) {
      const sample = makeSampler(P({ temperature, topP }));
      assert.throws(() => sample(new Float32Array([0, NaN, 1]), createRng(1)), { name: "QwenrtError", code: "model_fault" });
      assert.throws(() => sample(new Float32Array([0, Infinity]), createRng(1)), { code: "model_fault" });
      assert.throws(() => sample(new Float32Array([-Infinity, -Infinity]), createRng(1)), { code: "no_candidates" });
    }
  }
});
