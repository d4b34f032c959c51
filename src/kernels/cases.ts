/**
 * The shared kernel case suite: every backend runs these against the reference backend (`ref`).
 * Inputs go in through the backend's own calls (`allocF32` + `write`, `loadVector`, `writeKv`) and
 * results come out through `await be.read(t)`, so a device backend runs it unchanged. Parts:
 * this file (float kernels), cases_memory.ts (views, reads and writes, add, copy, KV caches, embed),
 * cases_quant.ts (quantized weights), cases_moe.ts (sparse MoE), cases_hybrid.ts (causal conv, gated
 * delta rule, sigmoid gating, partial RoPE). Call it from a backend's test file:
 *
 * @example
 * // src/kernels/wasm/wasm.test.ts
 * import { kernelCases } from "../cases.js";
 * kernelCases("wasm", () => createWasmBackend({ threads: 2 }));
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { f16ToF32, f32ToF16 } from "../formats/quant/float.js";
import { assertClose, hostMatrix, seededFloats, seededKv, upload, type CaseContext, type CaseTolerances } from "./case_util.js";
import { hybridCases } from "./cases_hybrid.js";
import { memoryCases } from "./cases_memory.js";
import { moeCases } from "./cases_moe.js";
import { quantCases } from "./cases_quant.js";
import { createRefBackend } from "./ref/index.js";
import type { KernelBackend } from "./types.js";

export { assertClose, hostMatrix, seededFloats, type CaseTolerances } from "./case_util.js";

/**
 * Register the kernel cases for backend `name` with `node:test`. `make` is called once; the backend
 * is disposed after the suite.
 */
export function kernelCases(name: string, make: () => KernelBackend, tol: CaseTolerances = { atol: 2e-5, rtol: 2e-5 }): void {
  describe(`kernels/${name} against ref`, () => {
    const be = make();
    const ref = createRefBackend();
    after(() => {
      be.dispose();
      ref.dispose();
    });
    const ctx: CaseContext = { be, ref, tol };
    floatCases(ctx);
    memoryCases(ctx);
    quantCases(ctx);
    moeCases(ctx);
    hybridCases(ctx);
  });
}

function floatCases({ be, ref, tol }: CaseContext): void {
  test("allocF32 returns zeroed buffers of the asked length, also when reusing freed memory", async () => {
    const b = be.allocF32(37);
    assert.equal(b.length, 37);
    assert.ok((await be.read(b)).every((x) => x === 0));
    be.write(b, new Float32Array(37).fill(3));
    be.freeF32(b);
    const again = [be.allocF32(37), be.allocF32(16), be.allocF32(37)];
    for (const t of again) assert.ok((await be.read(t)).every((x) => x === 0), "a recycled block is zeroed");
  });

  // [72, 1024, 1] and [45, 600, 1]: decode rows of 2 to 4 KiB (bf16 / f32), read in page-strided eights.
  const matmulShapes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [33, 64, 9], [64, 32, 1], [16, 96, 5], [3, 128, 17], [72, 1024, 1], [45, 600, 1]];
  for (const type of ["f32", "f16", "bf16"] as const) {
    for (const [rows, cols, n] of matmulShapes) {
      for (const withBias of [false, true]) {
        test(`matmul ${type} [${rows}, ${cols}] x n=${n}${withBias ? " + bias" : ""} matches ref and writes only n rows`, async () => {
          const seed = rows * 131 + cols * 7 + n;
          const host = hostMatrix(type, rows, cols, seededFloats(seed, rows * cols));
          const x = seededFloats(seed + 1, n * cols, 2);
          const bias = withBias ? seededFloats(seed + 2, rows) : undefined;
          const y = upload(be, new Float32Array(n * rows + 3).fill(42));
          const want = new Float32Array(n * rows);
          be.matmul(be.loadMatrix(host), upload(be, x), n, y, bias === undefined ? undefined : be.loadVector(bias));
          ref.matmul(ref.loadMatrix(host), x, n, want, bias);
          const got = await be.read(y);
          assertClose(got.subarray(0, n * rows), want, tol.atol * Math.sqrt(cols), tol.rtol, "y");
          assert.deepEqual([...got.subarray(n * rows)], [42, 42, 42], "rows past n untouched");
        });
      }
    }
  }

  for (const [n, withBias] of [[1, false], [5, true]] as const) {
    test(`matmulMany (f32, bf16, f16 of one width) n=${n}${withBias ? " + biases" : ""} equals one matmul each and matches ref`, async () => {
      const cols = 40;
      const ms = (["f32", "bf16", "f16"] as const).map((t, j) => hostMatrix(t, 12 + 4 * j, cols, seededFloats(70 + j, (12 + 4 * j) * cols)));
      const xh = seededFloats(80, n * cols, 2), x = upload(be, xh);
      const biases = ms.map((m, j) => (withBias && j !== 1 ? seededFloats(90 + j, m.rows) : undefined));
      const bt = biases.map((b) => (b === undefined ? undefined : be.loadVector(b)));
      const ws = ms.map((m) => be.loadMatrix(m));
      const ys = ms.map((m) => upload(be, new Float32Array(n * m.rows + 1).fill(42)));
      be.matmulMany(ws, x, n, ys.map((y, j) => be.view(y, 0, n * ms[j]!.rows)), bt);
      for (const [j, m] of ms.entries()) {
        const one = be.allocF32(n * m.rows);
        be.matmul(ws[j]!, x, n, one, bt[j]);
        const got = await be.read(ys[j]!);
        assert.deepEqual([...got.subarray(0, n * m.rows)], [...(await be.read(one))], `matrix ${j} fused vs unfused`);
        assert.equal(got[n * m.rows], 42, "rows past n untouched");
        const want = new Float32Array(n * m.rows);
        ref.matmul(ref.loadMatrix(m), xh, n, want, biases[j]);
        assertClose(got.subarray(0, n * m.rows), want, tol.atol * Math.sqrt(cols), tol.rtol, `matrix ${j}`);
      }
    });
  }

  for (const n of [1, 6]) {
    test(`swiGlu (bf16) n=${n} equals matmul, matmul, siluMul and matches ref`, async () => {
      const [inter, cols] = [36, 48];
      const gate = hostMatrix("bf16", inter, cols, seededFloats(11, inter * cols));
      const up = hostMatrix("bf16", inter, cols, seededFloats(12, inter * cols));
      const xh = seededFloats(13, n * cols, 2), x = upload(be, xh);
      const [g, u] = [be.loadMatrix(gate), be.loadMatrix(up)];
      const out = be.allocF32(n * inter);
      be.swiGlu(g, u, x, n, out);
      const a = be.allocF32(n * inter), b = be.allocF32(n * inter);
      be.matmul(g, x, n, a);
      be.matmul(u, x, n, b);
      be.siluMul(a, b, a, n * inter);
      const got = await be.read(out);
      assert.deepEqual([...got], [...(await be.read(a))], "fused vs unfused");
      const want = new Float32Array(n * inter);
      ref.swiGlu(ref.loadMatrix(gate), ref.loadMatrix(up), xh, n, want);
      assertClose(got, want, tol.atol * Math.sqrt(cols), tol.rtol, "swiGlu");
    });
  }

  test("freeF32 takes back an allocF32 buffer", () => {
    const b = be.allocF32(100);
    be.freeF32(b);
    assert.equal(be.allocF32(100).length, 100);
  });

  for (const type of ["f32", "f16", "bf16"] as const) {
    test(`embedRow ${type} equals the dequantized row exactly`, async () => {
      const host = hostMatrix(type, 9, 24, seededFloats(5, 9 * 24));
      const got = be.allocF32(24);
      const want = new Float32Array(24);
      for (const r of [0, 4, 8]) {
        be.embedRow(be.loadMatrix(host), r, got);
        ref.embedRow(ref.loadMatrix(host), r, want);
        assert.deepEqual([...(await be.read(got))], [...want]);
      }
    });
  }

  for (const aliased of [false, true]) {
    test(`rmsNorm matches ref${aliased ? " in place" : ""}`, async () => {
      const rows = 5, dim = 48;
      const xh = seededFloats(11, rows * dim, 3), x = upload(be, xh);
      const w = seededFloats(12, dim);
      const want = new Float32Array(rows * dim);
      ref.rmsNorm(xh, w, 1e-6, rows, dim, want);
      const out = aliased ? x : be.allocF32(rows * dim);
      be.rmsNorm(x, be.loadVector(w), 1e-6, rows, dim, out);
      assertClose(await be.read(out), want, tol.atol, tol.rtol, "rmsNorm");
    });
  }

  test("rope matches ref", async () => {
    const n = 3, heads = 4, headDim = 16;
    const want = seededFloats(21, n * heads * headDim);
    const x = upload(be, want);
    const cos = seededFloats(22, n * headDim / 2);
    const sin = seededFloats(23, n * headDim / 2);
    ref.rope(want, n, heads, headDim, cos, sin);
    be.rope(x, n, heads, headDim, upload(be, cos), upload(be, sin));
    assertClose(await be.read(x), want, tol.atol, tol.rtol, "rope");
  });

  test("siluMul matches ref, also with out aliasing gate", async () => {
    const len = 101;
    const gh = seededFloats(31, len, 8), uh = seededFloats(32, len, 2);
    const gate = upload(be, gh);
    const want = new Float32Array(len);
    ref.siluMul(gh, uh, want, len);
    be.siluMul(gate, upload(be, uh), gate, len);
    assertClose(await be.read(gate), want, tol.atol, tol.rtol, "siluMul");
  });

  const attnCases: [number, number, number, number, number][] = [
    // heads, kvHeads, headDim, n, start
    [4, 2, 16, 1, 0],
    [4, 2, 16, 6, 0],
    [4, 2, 16, 1, 37],
    [4, 1, 8, 5, 11],
    [2, 2, 32, 3, 4],
    [8, 4, 64, 9, 70],
    [16, 8, 128, 37, 663], // long context (700 positions), Qwen3-0.6B's head shape
    [4, 2, 24, 13, 5], // query tiles with a partial last tile; headDim not a multiple of 32
  ];
  for (const [heads, kvHeads, headDim, n, start] of attnCases) {
    test(`attention heads=${heads} kv=${kvHeads} dim=${headDim} n=${n} start=${start} (${be.kvType} cache) matches ref`, async () => {
      const capacity = start + n + 5;
      const seed = heads * 1000 + kvHeads * 100 + n * 10 + start;
      const qh = seededFloats(seed, n * heads * headDim, 2);
      const { k, v, kf, vf } = seededKv(be, ref, kvHeads, capacity, headDim, seed + 1);
      const out = be.allocF32(n * heads * headDim);
      const want = new Float32Array(out.length);
      const scale = 1 / Math.sqrt(headDim);
      ref.attention(qh, kf, vf, n, start, capacity, heads, kvHeads, headDim, scale, want);
      be.attention(upload(be, qh), k, v, n, start, capacity, heads, kvHeads, headDim, scale, out);
      assertClose(await be.read(out), want, tol.atol, tol.rtol, "attention");
      be.freeKv(k);
      be.freeKv(v);
    });
  }

  test(`writeKv into an allocKv cache (${be.kvType}), then attention, matches ref on the values as stored`, async () => {
    const [heads, kvHeads, headDim, n, start, capacity] = [4, 2, 24, 3, 5, 11];
    const k = be.allocKv(kvHeads * capacity * headDim), v = be.allocKv(kvHeads * capacity * headDim);
    const kf = ref.allocKv(k.length), vf = ref.allocKv(v.length);
    // Two segments (positions 0..start-1, then start..start+n-1), as the model appends them.
    for (const [from, rows] of [[0, start], [start, n]] as const) {
      const kr = seededFloats(from + 1, rows * kvHeads * headDim, 2), vr = seededFloats(from + 2, rows * kvHeads * headDim, 2);
      be.writeKv(upload(be, kr), rows, kvHeads, headDim, k, capacity, from);
      be.writeKv(upload(be, vr), rows, kvHeads, headDim, v, capacity, from);
      // The oracle's cache holds what `be` stores: float32, or each value rounded to a half.
      const asStored = (x: Float32Array): Float32Array => (be.kvType === "f16" ? x.map((y) => f16ToF32(f32ToF16(y))) : x);
      ref.writeKv(asStored(kr), rows, kvHeads, headDim, kf, capacity, from);
      ref.writeKv(asStored(vr), rows, kvHeads, headDim, vf, capacity, from);
    }
    const q = seededFloats(9, n * heads * headDim, 2);
    const out = be.allocF32(q.length), want = new Float32Array(q.length);
    ref.attention(q, kf, vf, n, start, capacity, heads, kvHeads, headDim, 0.3, want);
    be.attention(upload(be, q), k, v, n, start, capacity, heads, kvHeads, headDim, 0.3, out);
    assertClose(await be.read(out), want, tol.atol, tol.rtol, "attention over writeKv");
    be.freeKv(k);
    be.freeKv(v);
  });
}
