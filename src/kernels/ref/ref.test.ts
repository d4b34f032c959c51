import assert from "node:assert/strict";
import { test } from "node:test";
import { QwenrtError } from "../../util/errors.js";
import { assertClose, hostMatrix, kernelCases, seededFloats } from "../cases.js";
import { routeTopK } from "../host_moe.js";
import type { MoeWeights } from "../types.js";
import { createRefBackend } from "./index.js";

kernelCases("ref", createRefBackend, { atol: 0, rtol: 0 });

const be = createRefBackend();
const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

test("ref matmul computes x·Wᵀ + bias on hand-checked values", () => {
  const w = be.loadMatrix(hostMatrix("f32", 3, 2, f32(1, 2, 3, 4, 5, 6)));
  const y = new Float32Array(6);
  be.matmul(w, f32(1, 1, 2, -1), 2, y);
  assert.deepEqual([...y], [3, 7, 11, 0, 2, 4]);
  be.matmul(w, f32(1, 1, 2, -1), 2, y, f32(0.5, 0, -1));
  assert.deepEqual([...y], [3.5, 7, 10, 0.5, 2, 3]);
});

test("ref matmul handles 4-row blocks and the remainder alike", () => {
  const w = be.loadMatrix(hostMatrix("bf16", 2, 3, f32(1, 0, -1, 0.5, 0.25, 2)));
  const x = f32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const y = new Float32Array(10);
  be.matmul(w, x, 5, y);
  const want: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [a, b, c] = [x[3 * i]!, x[3 * i + 1]!, x[3 * i + 2]!];
    want.push(a - c, 0.5 * a + 0.25 * b + 2 * c);
  }
  assert.deepEqual([...y], want);
});

test("ref rmsNorm divides by the root mean square and scales by the weight", () => {
  const out = new Float32Array(2);
  be.rmsNorm(f32(3, 4), f32(1, 2), 0, 1, 2, out);
  assertClose(out, f32(3 / Math.sqrt(12.5), (2 * 4) / Math.sqrt(12.5)), 1e-6, 0, "rmsNorm");
});

test("ref rope rotates the pairs (i, i + headDim/2)", () => {
  const x = f32(1, 2, 3, 4); // one head, headDim 4: pairs (1,3) and (2,4)
  be.rope(x, 1, 1, 4, f32(0, 1), f32(1, 0));
  assert.deepEqual([...x], [-3, 2, 1, 4]);
});

test("ref siluMul is silu(gate) * up", () => {
  const out = new Float32Array(2);
  be.siluMul(f32(0, 1), f32(5, 2), out, 2);
  assertClose(out, f32(0, 2 / (1 + Math.exp(-1))), 1e-7, 0, "siluMul");
});

test("ref attention is a causal softmax-weighted sum of values", () => {
  const k = f32(0, Math.log(3), 100);
  const v = f32(4, 8, 1000);
  const out = new Float32Array(1);
  // query at position 1 sees keys 0 and 1 (not 2): probabilities 1/4, 3/4.
  be.attention(f32(1), k, v, 1, 1, 3, 1, 1, 1, 1, out);
  assertClose(out, f32(7), 1e-5, 0, "attention");
  const two = new Float32Array(2);
  be.attention(f32(1, 1), k, v, 2, 0, 3, 1, 1, 1, 1, two);
  assertClose(two, f32(4, 7), 1e-5, 0, "causal");
});

test("ref attention shares each kv head across its group of query heads", () => {
  // heads 2, kvHeads 1, headDim 1: both heads read the same single kv head.
  const out = new Float32Array(2);
  be.attention(f32(1, -1), f32(0), f32(5), 1, 0, 1, 2, 1, 1, 1, out);
  assert.deepEqual([...out], [5, 5]);
});

test("ref attention reads the cache head-major: [kvHeads, capacity, headDim]", () => {
  // kvHeads 2, capacity 3, headDim 1, one query at position 0 per head: each head sees only its own
  // position 0 (index h * capacity), never the other head's slot or later positions.
  const k = f32(0, 0, 0, 0, 0, 0);
  const v = f32(2, 90, 91, 7, 92, 93);
  const out = new Float32Array(2);
  be.attention(f32(1, 1), k, v, 1, 0, 3, 2, 2, 1, 1, out);
  assert.deepEqual([...out], [2, 7]);
});

test("ref embedRow rejects an out-of-range row naming the id", () => {
  const w = be.loadMatrix(hostMatrix("f32", 2, 2, f32(1, 2, 3, 4)));
  assert.throws(() => be.embedRow(w, 2, new Float32Array(2)), (e: unknown) => e instanceof QwenrtError && /token id 2/.test(e.message));
});

test("ref loadMatrix rejects a byte length that does not match the shape", () => {
  assert.throws(() => be.loadMatrix({ type: "bf16", rows: 2, cols: 2, bytes: new Uint8Array(6) }), QwenrtError);
});

test("ref loadMatrix holds float32: a matrix reports f32 and 4 bytes per value whatever the file's type", () => {
  for (const type of ["f32", "bf16", "q8_0", "q4_k"] as const) {
    const m = be.loadMatrix(hostMatrix(type, 3, 256, seededFloats(1, 3 * 256)));
    assert.equal(m.type, "f32");
    assert.equal(m.bytes, 3 * 256 * 4);
  }
});

test("ref moe equals a row-at-a-time reference: router, softmax, top-k, SwiGLU experts summed in expert order", () => {
  const [E, hidden, inter, n] = [5, 16, 8, 7];
  const mat = (rows: number, cols: number, seed: number) => be.loadMatrix(hostMatrix("f32", rows, cols, seededFloats(seed, rows * cols)));
  for (const [topK, normalize] of [[1, false], [2, true], [3, false]] as const) {
    const w: MoeWeights = {
      router: mat(E, hidden, 1),
      experts: Array.from({ length: E }, (_, e) => ({ gate: mat(inter, hidden, 10 + e), up: mat(inter, hidden, 20 + e), down: mat(hidden, inter, 30 + e) })),
      topK,
      normalize,
    };
    const x = seededFloats(2, n * hidden, 2);
    const got = new Float32Array(n * hidden);
    be.moe(w, x, n, got);
    const want = new Float32Array(n * hidden);
    const logits = new Float32Array(E), ids = new Int32Array(topK), wts = new Float32Array(topK);
    const g = new Float32Array(inter), y = new Float32Array(hidden);
    for (let r = 0; r < n; r++) {
      const xr = x.subarray(r * hidden, (r + 1) * hidden);
      be.matmul(w.router, xr, 1, logits);
      routeTopK(logits, 1, E, topK, normalize, ids, wts);
      const order = [...ids.keys()].sort((a, b) => ids[a]! - ids[b]!); // experts ascending, as the grouped kernel adds them
      for (const j of order) {
        const ex = w.experts[ids[j]!]!;
        be.swiGlu(ex.gate, ex.up, xr, 1, g);
        be.matmul(ex.down, g, 1, y);
        for (let d = 0; d < hidden; d++) want[r * hidden + d] += wts[j]! * y[d]!;
      }
    }
    assert.deepEqual(got, want, `topK ${topK}`);
  }
});
