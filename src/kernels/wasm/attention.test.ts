// Differential checks of the tiled wasm attention kernel (assembly/attention.ts) over the head-major
// cache [kvHeads, capacity, headDim]: a tile of queries equals the same queries run one at a time
// (bit for bit), 2 threads equal 1, and a 700-position context matches the ref backend.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { assertClose, seededFloats } from "../cases.js";
import { createRefBackend } from "../ref/index.js";
import type { HostKernelBackend } from "../types.js";
import { createWasmBackend } from "./index.js";

interface Case {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly n: number;
  readonly start: number;
}

/** Random q [n, heads, hd] and a cache [kvHeads, capacity, hd] with spare capacity, in `be`'s memory. */
function inputs(be: HostKernelBackend, c: Case, seed: number): { q: Float32Array; k: Float32Array; v: Float32Array; capacity: number } {
  const capacity = c.start + c.n + 3;
  const q = be.allocF32(c.n * c.heads * c.headDim);
  q.set(seededFloats(seed, q.length, 2));
  const k = be.allocF32(c.kvHeads * capacity * c.headDim);
  k.set(seededFloats(seed + 1, k.length, 2));
  const v = be.allocF32(c.kvHeads * capacity * c.headDim);
  v.set(seededFloats(seed + 2, v.length, 2));
  return { q, k, v, capacity };
}

function run(be: HostKernelBackend, c: Case, seed: number): Float32Array {
  const { q, k, v, capacity } = inputs(be, c, seed);
  const out = be.allocF32(c.n * c.heads * c.headDim);
  be.attention(q, k, v, c.n, c.start, capacity, c.heads, c.kvHeads, c.headDim, 1 / Math.sqrt(c.headDim), out);
  return Float32Array.from(out);
}

/** The same queries one position at a time (n = 1, start + i): no query tiles at all. */
function runRows(be: HostKernelBackend, c: Case, seed: number): Float32Array {
  const { q, k, v, capacity } = inputs(be, c, seed);
  const w = c.heads * c.headDim;
  const all = new Float32Array(c.n * w);
  const out = be.allocF32(w);
  for (let i = 0; i < c.n; i++) {
    be.attention(q.subarray(i * w, (i + 1) * w), k, v, 1, c.start + i, capacity, c.heads, c.kvHeads, c.headDim, 1 / Math.sqrt(c.headDim), out);
    all.set(out, i * w);
  }
  return all;
}

const CASES: Case[] = [
  { heads: 16, kvHeads: 8, headDim: 128, n: 19, start: 0 }, // Qwen3-0.6B heads; one partial tile
  { heads: 16, kvHeads: 8, headDim: 128, n: 70, start: 5 }, // three tiles of 32 (jobs.ts attentionQtile), the last partial
  { heads: 4, kvHeads: 1, headDim: 36, n: 11, start: 7 }, // group 4, headDim with a scalar tail
  { heads: 6, kvHeads: 2, headDim: 64, n: 8, start: 30 }, // group 3: 4-row dots straddle positions
];

describe("wasm attention", async () => {
  const one = await createWasmBackend({ threads: 1 });
  const two = await createWasmBackend({ threads: 2 });
  const ref = createRefBackend();
  after(() => {
    one.dispose();
    two.dispose();
  });

  for (const c of CASES) {
    const name = `heads=${c.heads} kv=${c.kvHeads} dim=${c.headDim} n=${c.n} start=${c.start}`;
    test(`query tiles equal one query at a time, bit for bit (${name})`, () => {
      assert.deepEqual(run(two, c, 5), runRows(two, c, 5));
    });
    test(`2 threads equal 1 thread, bit for bit (${name})`, () => {
      assert.deepEqual(run(two, c, 9), run(one, c, 9));
    });
  }

  test("700-position context (prefill tile and decode row) matches ref", () => {
    for (const c of [
      { heads: 16, kvHeads: 8, headDim: 128, n: 64, start: 636 },
      { heads: 16, kvHeads: 8, headDim: 128, n: 1, start: 699 },
    ]) {
      const want = run(ref, c, 21);
      const got = run(two, c, 21);
      assertClose(got, want, 1e-5, 1e-4, `attention n=${c.n} start=${c.start}`);
    }
  });
});
