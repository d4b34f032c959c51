import assert from "node:assert/strict";
import { test } from "node:test";
import { logSumExp, topK } from "./logit_stats.js";

test("topK returns the largest entries highest first, lower id first on ties", () => {
  assert.deepEqual(topK(Float32Array.of(1, 5, 3, 5, -2, 4), 3), { ids: [1, 3, 5], values: [5, 5, 4] });
  assert.deepEqual(topK(Float32Array.of(2, 1), 5), { ids: [0, 1], values: [2, 1] });
  const row = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
  const sorted = [...row.keys()].sort((a, b) => row[b]! - row[a]! || a - b).slice(0, 8);
  assert.deepEqual(topK(row, 8).ids, sorted);
});

test("logSumExp is stable for large logits", () => {
  assert.ok(Math.abs(logSumExp(Float32Array.of(1000, 1000)) - (1000 + Math.log(2))) < 1e-9);
  assert.ok(Math.abs(logSumExp(Float32Array.of(0, Math.log(3))) - Math.log(4)) < 1e-7);
});
