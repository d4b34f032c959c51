// The wasm backend's fused calls on quantized weights: matmulMany and swiGlu give bit-for-bit the
// values of the unfused calls (one matmul per matrix; matmul, matmul, siluMul), threaded equal
// single-threaded, and relaxed SIMD (Q4_0's i8 × i7 nibble dot) equal plain SIMD.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hostMatrix, seededFloats } from "../cases.js";
import type { HostKernelBackend, WeightType } from "../types.js";
import { createWasmBackend } from "./index.js";
import { relaxedSimdAvailable } from "./module.js";

const threaded = await createWasmBackend({ threads: 2 });
const single = await createWasmBackend({ threads: 1 });
const plain = await createWasmBackend({ threads: 2, relaxed: false });

function run(be: HostKernelBackend, types: readonly WeightType[], cols: number, n: number): { many: number[][]; one: number[][]; swi: number[]; unfused: number[] } {
  const hosts = types.map((t, j) => hostMatrix(t, 20 + 8 * j, cols, seededFloats(40 + j, (20 + 8 * j) * cols)));
  const ws = hosts.map((h) => be.loadMatrix(h));
  const x = be.allocF32(n * cols);
  x.set(seededFloats(50 + n, n * cols, 3));
  const biases = hosts.map((h, j) => (j === 0 ? seededFloats(60, h.rows) : undefined));
  const ys = hosts.map((h) => be.allocF32(n * h.rows));
  be.matmulMany(ws, x, n, ys, biases);
  const one = hosts.map((h, j) => {
    const y = be.allocF32(n * h.rows);
    be.matmul(ws[j]!, x, n, y, biases[j]);
    return [...y];
  });
  // SwiGLU on the first two types with equal shapes.
  const inter = 24;
  const g = be.loadMatrix(hostMatrix(types[0]!, inter, cols, seededFloats(70, inter * cols)));
  const u = be.loadMatrix(hostMatrix(types[1 % types.length]!, inter, cols, seededFloats(71, inter * cols)));
  const out = be.allocF32(n * inter);
  be.swiGlu(g, u, x, n, out);
  const a = be.allocF32(n * inter), b = be.allocF32(n * inter);
  be.matmul(g, x, n, a);
  be.matmul(u, x, n, b);
  be.siluMul(a, b, a, n * inter);
  return { many: ys.map((y) => [...y]), one, swi: [...out], unfused: [...a] };
}

describe("wasm fused matmuls on quantized weights", () => {
  after(() => {
    threaded.dispose();
    single.dispose();
    plain.dispose();
  });
  const groups: [string, WeightType[], number][] = [
    ["q8_0 ×3", ["q8_0", "q8_0", "q8_0"], 96],
    ["q4_0 ×3", ["q4_0", "q4_0", "q4_0"], 96],
    ["q8_0 + q4_0", ["q8_0", "q4_0"], 64],
    ["q8_0 ×3 interleaved", ["q8_0", "q8_0", "q8_0"], 256],
    ["q8_0 interleaved + q5_0 (plain i16 x beside the interleaved one)", ["q8_0", "q5_0"], 128],
    ["q4_0 + q8_0, both interleaved", ["q4_0", "q8_0"], 256],
    ["q4_k + q6_k", ["q4_k", "q6_k"], 512],
    ["bf16 + q8_0 (mixed families: unfused fallback)", ["bf16", "q8_0"], 64],
  ];
  for (const [label, types, cols] of groups) {
    for (const n of [1, 7]) {
      test(`${label}, n=${n}: matmulMany and swiGlu equal the unfused calls bit for bit, threaded = single`, () => {
        const r = run(threaded, types, cols, n);
        assert.deepEqual(r.many, r.one);
        assert.deepEqual(r.swi, r.unfused);
        const s = run(single, types, cols, n);
        assert.deepEqual(s.many, r.many);
        assert.deepEqual(s.swi, r.swi);
      });
    }
  }
  for (const type of ["q8_0", "q4_0"] as const) {
    test(`${type}: relaxed SIMD integer dots equal plain SIMD's (within float rounding)`, { skip: !relaxedSimdAvailable() }, () => {
      const r = run(threaded, [type, type], 128, 5);
      const p = run(plain, [type, type], 128, 5);
      r.many.flat().forEach((v, i) => assert.ok(Math.abs(v - p.many.flat()[i]!) <= 1e-4 * Math.max(1, Math.abs(v)), `index ${i}: ${v} vs ${p.many.flat()[i]}`));
    });
  }
});
