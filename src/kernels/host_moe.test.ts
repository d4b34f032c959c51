import assert from "node:assert/strict";
import { test } from "node:test";
import { routeTopK } from "./host_moe.js";

test("router picks the top-k experts by softmax probability, renormalising only with norm_topk_prob", () => {
  const logits = Float32Array.of(0, Math.log(3), Math.log(2), Math.log(4), /* row 2 */ 5, 1, 1, 1);
  const ids = new Int32Array(4);
  const w = new Float32Array(4);
  routeTopK(logits, 2, 4, 2, false, ids, w);
  assert.deepEqual([...ids], [3, 1, 0, 1]);
  assert.ok(Math.abs(w[0]! - 0.4) < 1e-6 && Math.abs(w[1]! - 0.3) < 1e-6);
  const z = Math.exp(5) + 3 * Math.exp(1);
  assert.ok(Math.abs(w[2]! - Math.exp(5) / z) < 1e-6 && Math.abs(w[3]! - Math.exp(1) / z) < 1e-6);
  routeTopK(logits, 2, 4, 2, true, ids, w);
  assert.ok(Math.abs(w[0]! - 4 / 7) < 1e-6 && Math.abs(w[1]! - 3 / 7) < 1e-6);
  assert.ok(Math.abs(w[2]! + w[3]! - 1) < 1e-6);
});

test("router ties go to the lower expert index", () => {
  const ids = new Int32Array(3);
  const w = new Float32Array(3);
  routeTopK(Float32Array.of(1, 2, 2, 1, 2), 1, 5, 3, false, ids, w);
  assert.deepEqual([...ids], [1, 2, 4]);
  assert.equal(w[0], w[1]);
});
