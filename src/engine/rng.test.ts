import { test } from "node:test";
import assert from "node:assert/strict";
import { createRng, deriveSeed } from "./rng.js";

test("createRng: same seed gives the same sequence, different seeds differ", () => {
  const a = createRng(42);
  const b = createRng(42n);
  const c = createRng(43);
  const sa = Array.from({ length: 16 }, () => a.nextU32());
  const sb = Array.from({ length: 16 }, () => b.nextU32());
  const sc = Array.from({ length: 16 }, () => c.nextU32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const v of sa) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
});

test("createRng: matches xoshiro128** seeded by splitmix64 (reference values)", () => {
  // splitmix64(0) yields 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4; xoshiro128** state words are the
  // low then high halves. First output = rotl(s1 * 5, 7) * 9 with s1 = 0xe220a839.
  const rng = createRng(0);
  const s1 = 0xe220a839;
  const x = Math.imul(s1, 5);
  const expected = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
  assert.equal(rng.nextU32(), expected);
});

test("float: in [0, 1) with a mean near 1/2; normal: mean 0, variance 1", () => {
  const rng = createRng(7);
  let sum = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const f = rng.float();
    assert.ok(f >= 0 && f < 1);
    sum += f;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `mean ${sum / n}`);
  let m = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    m += z;
    m2 += z * z;
  }
  assert.ok(Math.abs(m / n) < 0.01, `normal mean ${m / n}`);
  assert.ok(Math.abs(m2 / n - 1) < 0.02, `normal variance ${m2 / n}`);
});

test("createRng: rejects negative, fractional and oversized seeds naming the parameter", () => {
  assert.throws(() => createRng(-1), /seed: /);
  assert.throws(() => createRng(1.5, "--seed"), /--seed: /);
  assert.throws(() => createRng(1n << 64n), /seed: /);
});

test("deriveSeed: depends on both the seed and the label", () => {
  assert.equal(deriveSeed(1, "a"), deriveSeed(1, "a"));
  assert.notEqual(deriveSeed(1, "a"), deriveSeed(1, "b"));
  assert.notEqual(deriveSeed(1, "a"), deriveSeed(2, "a"));
});

test("fillNormal: bulk normal(mean, std) deviates with the right moments, seeded", () => {
  const a = new Float32Array(200_001);
  createRng(3).fillNormal(a, 1, 0.5);
  const b = new Float32Array(200_001);
  createRng(3).fillNormal(b, 1, 0.5);
  assert.deepEqual(a, b);
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  const sd = Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / a.length);
  assert.ok(Math.abs(mean - 1) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.5) < 0.005, `sd ${sd}`);
  assert.ok(a.every(Number.isFinite));
  const within1 = a.filter((x) => Math.abs(x - 1) < 0.5).length / a.length;
  assert.ok(Math.abs(within1 - 0.6827) < 0.005, `P(|z| < 1) = ${within1}`);
});
