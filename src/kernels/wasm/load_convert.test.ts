// Load-time conversions of the wasm backend: types without a kernel (exact q3_k → q6_k, lossy
// q4_1 / q5_1 / q2_k → q8_0, logged once per type) and slab-wise quantize-on-load (matrices taller
// than one slab equal a whole-matrix encode).
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { getFormat } from "../../formats/quant/index.js";
import { hostMatrix, seededFloats } from "../cases.js";
import type { WeightType } from "../types.js";
import { createWasmBackend } from "./index.js";
import { SLAB_ROWS, q3kToQ6k } from "./load_convert.js";

const lines: string[] = [];
const be = await createWasmBackend({ threads: 2, log: (l) => lines.push(l) });

function dequant(type: WeightType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  getFormat(type).dequantize(bytes, out, count);
  return out;
}

describe("wasm load conversions", () => {
  after(() => be.dispose());

  test("q3_k → q6_k re-encoding keeps every value bit for bit", () => {
    const host = hostMatrix("q3_k", 6, 512, seededFloats(5, 6 * 512, 2));
    const q6 = new Uint8Array((6 * 512 / 256) * 210);
    q3kToQ6k(host.bytes, q6, (6 * 512) / 256);
    assert.deepEqual(dequant("q6_k", q6, 6 * 512), dequant("q3_k", host.bytes, 6 * 512));
  });

  for (const [type, to] of [["q3_k", "q6_k"], ["q4_1", "q8_0"], ["q5_1", "q8_0"], ["q2_k", "q8_0"]] as const) {
    test(`${type} loads as ${to}, logs one line per type, and multiplies like ${to} of its values`, () => {
      const rows = SLAB_ROWS + 37, cols = 256, n = 3; // two slabs
      const host = hostMatrix(type, rows, cols, seededFloats(11, rows * cols));
      const before = lines.length;
      const m = be.loadMatrix(host);
      be.loadMatrix(hostMatrix(type, 2, cols, seededFloats(12, 2 * cols)));
      assert.equal(m.type, to);
      assert.equal(lines.length - before, 1, "one line per type");
      assert.match(lines.at(-1)!, new RegExp(`${type}.*${to}`));
      // Reference: lossy — the source's values encoded as `to` by the format registry; exact — the
      // re-encoded bytes (a fresh q6_k quantizer would choose other scales). Loaded natively.
      const vals = dequant(type, host.bytes, rows * cols);
      const q6 = new Uint8Array((rows * cols / 256) * 210);
      if (to === "q6_k") q3kToQ6k(host.bytes, q6, (rows * cols) / 256);
      const ref = be.loadMatrix(to === "q6_k" ? { type: to, rows, cols, bytes: q6 } : hostMatrix(to, rows, cols, vals));
      const x = seededFloats(13, n * cols);
      const a = new Float32Array(n * rows), b = new Float32Array(n * rows);
      be.matmul(m, x, n, a);
      be.matmul(ref, x, n, b);
      assert.deepEqual(a, b);
      if (to === "q6_k") {
        const row = new Float32Array(cols);
        be.embedRow(m, rows - 1, row);
        assert.deepEqual(row, vals.subarray((rows - 1) * cols), "exact conversion keeps the values");
      }
    });
  }

  for (const dtype of ["q8_0", "q4_0", "q4_k"] as const) {
    test(`dtype ${dtype}: a matrix of several slabs equals the whole-matrix encode`, async () => {
      const conv = await createWasmBackend({ threads: 2, dtype });
      try {
        const rows = 2 * SLAB_ROWS + 5, cols = 256;
        const bf = hostMatrix("bf16", rows, cols, seededFloats(21, rows * cols));
        const m = conv.loadMatrix(bf);
        const whole = hostMatrix(dtype, rows, cols, dequant("bf16", bf.bytes, rows * cols));
        const want = dequant(dtype, whole.bytes, rows * cols);
        const row = new Float32Array(cols);
        for (const r of [0, SLAB_ROWS - 1, SLAB_ROWS, rows - 1]) {
          conv.embedRow(m, r, row);
          assert.deepEqual(row, want.subarray(r * cols, (r + 1) * cols), `row ${r}`);
        }
        const x = seededFloats(22, 2 * cols);
        const a = new Float32Array(2 * rows), b = new Float32Array(2 * rows);
        conv.matmul(m, x, 2, a);
        conv.matmul(conv.loadMatrix(whole), x, 2, b);
        assert.deepEqual(a, b);
      } finally {
        conv.dispose();
      }
    });
  }
});
