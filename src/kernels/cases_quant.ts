/**
 * Shared cases (see cases.ts) on block-quantized weights: matmul, matmulMany, swiGlu, embedRow and
 * embed for every type with a native kernel somewhere (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K), against
 * ref, which dequantizes the weights exactly and keeps x in float32. A backend may round x to int8
 * per block (as llama.cpp does), so products are held to that rounding's bound (`quantizedBound`);
 * lookups are exact. Shapes include the wasm backend's special layouts (rows in quads of four,
 * 128-column groups) so every backend is checked on them too.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { activationBlock, assertWithin, dequantized, hostMatrix, quantizedBound, seededFloats, upload, type CaseContext } from "./case_util.js";
import type { WeightType } from "./types.js";

const QTYPES = ["q8_0", "q4_0", "q5_0", "q4_k", "q5_k", "q6_k"] as const;
const interleavable = (t: WeightType): boolean => t === "q8_0" || t === "q4_0";

/** Matrices of one width whose x is prepared once in matmulMany (and the first two as swiGlu's gate and up). */
const GROUPS: [string, WeightType[], number][] = [
  ["q8_0 ×3", ["q8_0", "q8_0", "q8_0"], 96],
  ["q4_0 ×3", ["q4_0", "q4_0", "q4_0"], 96],
  ["q8_0 + q4_0", ["q8_0", "q4_0"], 64],
  ["q8_0 ×3, 256 columns", ["q8_0", "q8_0", "q8_0"], 256],
  ["q8_0 + q5_0", ["q8_0", "q5_0"], 128],
  ["q4_0 + q8_0, 256 columns", ["q4_0", "q8_0"], 256],
  ["q4_k + q6_k", ["q4_k", "q6_k"], 512],
  ["q5_k + q4_k", ["q5_k", "q4_k"], 512],
  ["bf16 + q8_0", ["bf16", "q8_0"], 64],
];

/** Largest |silu'(g)| (at g ≈ 2.4). */
const SILU_LIPSCHITZ = 1.1;

export function quantCases({ be, ref, tol }: CaseContext): void {
  for (const type of QTYPES) {
    const widths = interleavable(type) ? [96, 256] : [activationBlock(type) === 32 ? 96 : 512];
    const rowCounts = interleavable(type) ? [37, 36] : [37];
    for (const rows of rowCounts) for (const cols of widths) for (const n of [1, 3, 7, 19]) {
      test(`matmul ${type} [${rows}, ${cols}] x n=${n} + bias matches ref within int8 activation rounding and writes only n rows`, async () => {
        const host = hostMatrix(type, rows, cols, seededFloats(100 + n, rows * cols));
        const xh = seededFloats(200 + n, n * cols, 3);
        const bias = seededFloats(300, rows);
        const y = upload(be, new Float32Array(n * rows + 2).fill(7));
        be.matmul(be.loadMatrix(host), upload(be, xh), n, y, be.loadVector(bias));
        const want = new Float32Array(n * rows);
        ref.matmul(ref.loadMatrix(host), xh, n, want, bias);
        const got = await be.read(y);
        assertWithin(got.subarray(0, n * rows), want, quantizedBound(host, xh, n, tol.atol), type);
        assert.deepEqual([...got.subarray(n * rows)], [7, 7], "rows past n untouched");
      });
    }
  }

  for (const [label, types, cols] of GROUPS) {
    for (const n of [1, 7]) {
      test(`matmulMany ${label} n=${n} + bias matches ref within int8 activation rounding`, async () => {
        const hosts = types.map((t, j) => hostMatrix(t, 20 + 8 * j, cols, seededFloats(40 + j, (20 + 8 * j) * cols)));
        const xh = seededFloats(50 + n, n * cols, 3);
        const biases = hosts.map((h, j) => (j === 0 ? seededFloats(60, h.rows) : undefined));
        const ys = hosts.map((h) => be.allocF32(n * h.rows));
        be.matmulMany(hosts.map((h) => be.loadMatrix(h)), upload(be, xh), n, ys, biases.map((b) => (b === undefined ? undefined : be.loadVector(b))));
        for (const [j, h] of hosts.entries()) {
          const want = new Float32Array(n * h.rows);
          ref.matmul(ref.loadMatrix(h), xh, n, want, biases[j]);
          assertWithin(await be.read(ys[j]!), want, quantizedBound(h, xh, n, tol.atol), `matrix ${j} (${h.type})`);
        }
      });

      test(`swiGlu ${types[0]} gate + ${types[1]} up, ${cols} columns, n=${n} matches ref within int8 activation rounding`, async () => {
        const inter = 24;
        const gate = hostMatrix(types[0]!, inter, cols, seededFloats(70, inter * cols));
        const up = hostMatrix(types[1]!, inter, cols, seededFloats(71, inter * cols));
        const xh = seededFloats(72 + n, n * cols, 3);
        const out = be.allocF32(n * inter);
        be.swiGlu(be.loadMatrix(gate), be.loadMatrix(up), upload(be, xh), n, out);
        const want = new Float32Array(n * inter), g = new Float32Array(n * inter), u = new Float32Array(n * inter);
        ref.swiGlu(ref.loadMatrix(gate), ref.loadMatrix(up), xh, n, want);
        ref.matmul(ref.loadMatrix(gate), xh, n, g);
        ref.matmul(ref.loadMatrix(up), xh, n, u);
        // silu(g + δg)(u + δu) − silu(g)u ≤ L·|δg|·(|u| + |δu|) + |silu(g)|·|δu|, plus float rounding.
        const bg = quantizedBound(gate, xh, n, tol.atol), bu = quantizedBound(up, xh, n, tol.atol);
        const bound = bg.map((dg, i) => {
          const silu = Math.abs(g[i]! / (1 + Math.exp(-g[i]!)));
          return SILU_LIPSCHITZ * dg * (Math.abs(u[i]!) + bu[i]!) + silu * bu[i]! + 1e-5 * Math.abs(want[i]!) + tol.atol;
        });
        assertWithin(await be.read(out), want, bound, "swiGlu");
      });
    }
  }

  for (const type of QTYPES) {
    const widths = interleavable(type) ? [64, 256] : [activationBlock(type) * 2];
    for (const cols of widths) for (const rows of [5, 8]) {
      test(`embedRow ${type} [${rows}, ${cols}] equals the format's dequantization exactly`, async () => {
        const host = hostMatrix(type, rows, cols, seededFloats(9, rows * cols));
        const all = dequantized(host);
        const m = be.loadMatrix(host);
        const out = be.allocF32(cols);
        for (const r of [0, 3, 4, rows - 1]) {
          be.embedRow(m, r, out);
          assert.deepEqual([...(await be.read(out))], [...all.subarray(r * cols, (r + 1) * cols)]);
        }
      });
    }

    test(`embed ${type} of a batch of ids equals ref exactly`, async () => {
      const [rows, cols] = [8, widths.at(-1)!];
      const host = hostMatrix(type, rows, cols, seededFloats(10, rows * cols));
      const ids = Int32Array.of(4, 0, 7, 4, 5);
      const out = be.allocF32(ids.length * cols);
      be.embed(be.loadMatrix(host), ids, out);
      const want = new Float32Array(ids.length * cols);
      ref.embed(ref.loadMatrix(host), ids, want);
      assert.deepEqual(await be.read(out), want);
    });
  }
}
