// Float matmuls (assembly/matmul_float.ts): every (weight row, x row) pair sums in one order whatever
// computed it — the decode tiles over eight (bf16) or four far-apart row streams, their edge rows,
// the 2 × 4 prefill tile and its x-row edges — so a
// row of a batch has the bits it gets alone, and two threads (other row ranges, other stream gaps)
// the bits of one.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hostMatrix, seededFloats } from "../cases.js";
import type { HostKernelBackend } from "../types.js";
import { createWasmBackend } from "./index.js";

describe("wasm float matmul: one summation order per value", () => {
  const backends: HostKernelBackend[] = [];
  after(() => backends.forEach((b) => b.dispose()));

  for (const type of ["bf16", "f16", "f32"] as const) {
    // cols: 8-column steps only; then one 4-column step and a scalar tail of 3.
    for (const cols of [1024, 1039]) {
      test(`${type} [301, ${cols}]: a batch row equals the row alone (n = 1..7), 2 threads equal 1`, async () => {
        const two = await createWasmBackend({ threads: 2 }), one = await createWasmBackend({ threads: 1 });
        backends.push(two, one);
        // 301 rows: the pool's row chunks (dispatch.ts rowChunk) are 76 / 40 rows (1 / 2 threads) at
        // n = 1 and 40 / 20 above, so the stream tiles, the 4-row tiles and single edge rows all run.
        const rows = 301;
        const host = hostMatrix(type, rows, cols, seededFloats(5, rows * cols, 0.5));
        const bias = seededFloats(6, rows);
        const outs = [two, one].map((be) => {
          const w = be.loadMatrix(host), b = be.loadVector(bias);
          const got: number[][] = [];
          for (let n = 1; n <= 7; n++) {
            const x = be.allocF32(n * cols);
            x.set(seededFloats(20 + n, n * cols));
            const all = be.allocF32(n * rows), alone = be.allocF32(rows);
            be.matmul(w, x, n, all, b);
            for (let i = 0; i < n; i++) {
              be.matmul(w, x.subarray(i * cols, (i + 1) * cols), 1, alone, b);
              assert.deepEqual([...all.subarray(i * rows, (i + 1) * rows)], [...alone], `n=${n}, x row ${i}`);
            }
            got.push([...all]);
          }
          return got;
        });
        assert.deepEqual(outs[0], outs[1]);
      });
    }
  }
});
