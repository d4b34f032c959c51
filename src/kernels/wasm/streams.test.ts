// Decode's four-stream row order (assembly/streams.ts: each thread walks four parts of its row range
// in lockstep) gives the bits of the one-row-at-a-time kernels: a matmul of one x row equals the
// same row inside a two-row matmul (which never streams), for every weight layout that streams —
// interleaved Q8_0 (i16 dots and the dot-add), interleaved Q4_0, Q4_K, Q5_K, Q6_K — with a bias, fused
// matmulMany / swiGlu, on 1 and 2 threads, and row counts that leave rows outside the streams.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hostMatrix, seededFloats } from "../cases.js";
import type { HostKernelBackend, WeightType } from "../types.js";
import { createWasmBackend } from "./index.js";
import { dotAddAvailable } from "./module.js";

describe("wasm decode in four streams", () => {
  const backends: HostKernelBackend[] = [];
  after(() => backends.forEach((b) => b.dispose()));
  const variants = [
    { threads: 1, dotAdd: false },
    { threads: 2, dotAdd: false },
    ...(dotAddAvailable() ? [{ threads: 2, dotAdd: true }] : []),
  ];
  const types: WeightType[] = ["q8_0", "q4_0", "q4_k", "q5_k", "q6_k"];
  for (const type of types) {
    for (const v of variants) {
      test(`${type}, ${v.threads} thread(s)${v.dotAdd ? ", dot-add" : ""}: one x row = that row of a two-row product`, async () => {
        const be = await createWasmBackend(v);
        backends.push(be);
        // 1052 rows: chunks of 132 (1 thread) or 68 (2 threads) rows, four streams of 32 / 16 rows
        // and quads or rows left over; 257 rows (Q4_K / Q6_K) leave a row outside the quads too.
        for (const [rows, cols] of [[1052, 256], [type.endsWith("_k") ? 257 : 260, 512]] as const) {
          const w = be.loadMatrix(hostMatrix(type, rows, cols, seededFloats(1, rows * cols, 2)));
          const u = be.loadMatrix(hostMatrix(type, rows, cols, seededFloats(2, rows * cols)));
          const bias = seededFloats(3, rows);
          const row = seededFloats(4, cols, 3);
          const x1 = be.allocF32(cols), x2 = be.allocF32(2 * cols);
          x1.set(row);
          x2.set(row);
          x2.set(row, cols);
          const y1 = be.allocF32(rows), y2 = be.allocF32(2 * rows);
          be.matmul(w, x1, 1, y1, bias);
          be.matmul(w, x2, 2, y2, bias);
          assert.deepEqual([...y1], [...y2.subarray(0, rows)], `${rows}×${cols} matmul`);
          assert.deepEqual([...y1], [...y2.subarray(rows)], `${rows}×${cols} matmul, second row`);
          const s1 = be.allocF32(rows), s2 = be.allocF32(2 * rows);
          be.swiGlu(w, u, x1, 1, s1);
          be.swiGlu(w, u, x2, 2, s2);
          assert.deepEqual([...s1], [...s2.subarray(0, rows)], `${rows}×${cols} swiGlu`);
          const m1 = [be.allocF32(rows), be.allocF32(rows)], m2 = [be.allocF32(2 * rows), be.allocF32(2 * rows)];
          be.matmulMany([w, u], x1, 1, m1);
          be.matmulMany([w, u], x2, 2, m2);
          assert.deepEqual([...m1[1]!], [...m2[1]!.subarray(0, rows)], `${rows}×${cols} matmulMany`);
        }
      });
    }
  }
});
