/**
 * The shared kernel case suite: every backend runs these against the reference backend (`ref`).
 * Call it from a backend's test file:
 *
 * @example
 * // src/kernels/wasm/wasm.test.ts
 * import { kernelCases } from "../cases.js";
 * kernelCases("wasm", () => createWasmBackend({ threads: 2 }));
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { f16ToF32, f32ToF16 } from "../formats/quant/float.js";
import { getFormat, rowBytes } from "../formats/quant/index.js";
import { createRefBackend } from "./ref/index.js";
import type { HostMatrix, KernelBackend, WeightType } from "./types.js";

/** Deterministic uniform floats in [-scale, scale) (mulberry32). */
export function seededFloats(seed: number, length: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Encode float32 values as a `[rows, cols]` host matrix of `type` (through the format registry). */
export function hostMatrix(type: WeightType, rows: number, cols: number, values: Float32Array): HostMatrix {
  const f = getFormat(type);
  if (f.quantize === undefined) throw new Error(`no encoder for ${type}`);
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  f.quantize(values, bytes, rows * cols);
  return { type, rows, cols, bytes };
}

/** Assert `|a - b| <= atol + rtol * |b|` elementwise, reporting the worst index. */
export function assertClose(a: Float32Array, b: Float32Array, atol: number, rtol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i]! - b[i]!) - (atol + rtol * Math.abs(b[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) assert.fail(`${what}: index ${worst}: got ${a[worst]}, expected ${b[worst]} (atol ${atol}, rtol ${rtol})`);
}

/** Tolerances of a backend against ref (defaults suit float32 kernels with float32 accumulation). */
export interface CaseTolerances {
  readonly atol: number;
  readonly rtol: number;
}

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

    test("allocF32 returns zeroed buffers of the asked length", () => {
      const b = be.allocF32(37);
      assert.equal(b.length, 37);
      assert.ok(b.every((x) => x === 0));
    });

    const matmulShapes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [33, 64, 9], [64, 32, 1], [16, 96, 5], [3, 128, 17]];
    for (const type of ["f32", "f16", "bf16"] as const) {
      for (const [rows, cols, n] of matmulShapes) {
        for (const withBias of [false, true]) {
          test(`matmul ${type} [${rows}, ${cols}] x n=${n}${withBias ? " + bias" : ""} matches ref and writes only n rows`, () => {
            const seed = rows * 131 + cols * 7 + n;
            const host = hostMatrix(type, rows, cols, seededFloats(seed, rows * cols));
            const x = be.allocF32(n * cols);
            x.set(seededFloats(seed + 1, n * cols, 2));
            const bias = withBias ? seededFloats(seed + 2, rows) : undefined;
            const y = be.allocF32(n * rows + 3);
            y.fill(42);
            const want = new Float32Array(n * rows);
            be.matmul(be.loadMatrix(host), x, n, y, bias);
            ref.matmul(ref.loadMatrix(host), x, n, want, bias);
            assertClose(y.subarray(0, n * rows), want, tol.atol * Math.sqrt(cols), tol.rtol, "y");
            assert.deepEqual([...y.subarray(n * rows)], [42, 42, 42], "rows past n untouched");
          });
        }
      }
    }

    for (const [n, withBias] of [[1, false], [5, true]] as const) {
      test(`matmulMany (f32, bf16, f16 of one width) n=${n}${withBias ? " + biases" : ""} equals one matmul each and matches ref`, () => {
        const cols = 40;
        const ms = (["f32", "bf16", "f16"] as const).map((t, j) => hostMatrix(t, 12 + 4 * j, cols, seededFloats(70 + j, (12 + 4 * j) * cols)));
        const x = be.allocF32(n * cols);
        x.set(seededFloats(80, n * cols, 2));
        const biases = ms.map((m, j) => (withBias && j !== 1 ? seededFloats(90 + j, m.rows) : undefined));
        const ws = ms.map((m) => be.loadMatrix(m));
        const ys = ms.map((m) => be.allocF32(n * m.rows + 1).fill(42));
        be.matmulMany(ws, x, n, ys.map((y, j) => y.subarray(0, n * ms[j]!.rows)), biases);
        ms.forEach((m, j) => {
          const one = be.allocF32(n * m.rows);
          be.matmul(ws[j]!, x, n, one, biases[j]);
          assert.deepEqual([...ys[j]!.subarray(0, n * m.rows)], [...one], `matrix ${j} fused vs unfused`);
          assert.equal(ys[j]![n * m.rows], 42, "rows past n untouched");
          const want = new Float32Array(n * m.rows);
          ref.matmul(ref.loadMatrix(m), x, n, want, biases[j]);
          assertClose(ys[j]!.subarray(0, n * m.rows), want, tol.atol * Math.sqrt(cols), tol.rtol, `matrix ${j}`);
        });
      });
    }

    for (const n of [1, 6]) {
      test(`swiGlu (bf16) n=${n} equals matmul, matmul, siluMul and matches ref`, () => {
        const [inter, cols] = [36, 48];
        const gate = hostMatrix("bf16", inter, cols, seededFloats(11, inter * cols));
        const up = hostMatrix("bf16", inter, cols, seededFloats(12, inter * cols));
        const x = be.allocF32(n * cols);
        x.set(seededFloats(13, n * cols, 2));
        const [g, u] = [be.loadMatrix(gate), be.loadMatrix(up)];
        const out = be.allocF32(n * inter);
        be.swiGlu(g, u, x, n, out);
        const a = be.allocF32(n * inter), b = be.allocF32(n * inter);
        be.matmul(g, x, n, a);
        be.matmul(u, x, n, b);
        be.siluMul(a, b, a, n * inter);
        assert.deepEqual([...out], [...a], "fused vs unfused");
        const want = new Float32Array(n * inter);
        ref.swiGlu(ref.loadMatrix(gate), ref.loadMatrix(up), x, n, want);
        assertClose(out, want, tol.atol * Math.sqrt(cols), tol.rtol, "swiGlu");
      });
    }

    test("freeF32 takes back an allocF32 buffer", () => {
      const b = be.allocF32(100);
      be.freeF32(b);
      assert.equal(be.allocF32(100).length, 100);
    });

    for (const type of ["f32", "f16", "bf16"] as const) {
      test(`embedRow ${type} equals the dequantized row exactly`, () => {
        const host = hostMatrix(type, 9, 24, seededFloats(5, 9 * 24));
        const got = be.allocF32(24);
        const want = new Float32Array(24);
        for (const r of [0, 4, 8]) {
          be.embedRow(be.loadMatrix(host), r, got);
          ref.embedRow(ref.loadMatrix(host), r, want);
          assert.deepEqual([...got], [...want]);
        }
      });
    }

    for (const aliased of [false, true]) {
      test(`rmsNorm matches ref${aliased ? " in place" : ""}`, () => {
        const rows = 5, dim = 48;
        const x = be.allocF32(rows * dim);
        x.set(seededFloats(11, rows * dim, 3));
        const w = seededFloats(12, dim);
        const want = new Float32Array(rows * dim);
        ref.rmsNorm(x, w, 1e-6, rows, dim, want);
        const out = aliased ? x : be.allocF32(rows * dim);
        be.rmsNorm(x, w, 1e-6, rows, dim, out);
        assertClose(out, want, tol.atol, tol.rtol, "rmsNorm");
      });
    }

    test("rope matches ref", () => {
      const n = 3, heads = 4, headDim = 16;
      const x = be.allocF32(n * heads * headDim);
      x.set(seededFloats(21, x.length));
      const want = Float32Array.from(x);
      const cos = seededFloats(22, n * headDim / 2);
      const sin = seededFloats(23, n * headDim / 2);
      ref.rope(want, n, heads, headDim, cos, sin);
      be.rope(x, n, heads, headDim, cos, sin);
      assertClose(x, want, tol.atol, tol.rtol, "rope");
    });

    test("siluMul matches ref, also with out aliasing gate", () => {
      const len = 101;
      const gate = be.allocF32(len);
      gate.set(seededFloats(31, len, 8));
      const up = be.allocF32(len);
      up.set(seededFloats(32, len, 2));
      const want = new Float32Array(len);
      ref.siluMul(gate, up, want, len);
      be.siluMul(gate, up, gate, len);
      assertClose(gate, want, tol.atol, tol.rtol, "siluMul");
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
      test(`attention heads=${heads} kv=${kvHeads} dim=${headDim} n=${n} start=${start} matches ref`, () => {
        const capacity = start + n + 5;
        const seed = heads * 1000 + kvHeads * 100 + n * 10 + start;
        const q = be.allocF32(n * heads * headDim);
        q.set(seededFloats(seed, q.length, 2));
        const k = be.allocF32(kvHeads * capacity * headDim); // [kvHeads, capacity, headDim]
        k.set(seededFloats(seed + 1, k.length, 2));
        const v = be.allocF32(capacity * kvHeads * headDim);
        v.set(seededFloats(seed + 2, v.length, 2));
        const out = be.allocF32(n * heads * headDim);
        const want = new Float32Array(out.length);
        const scale = 1 / Math.sqrt(headDim);
        ref.attention(q, k, v, n, start, capacity, heads, kvHeads, headDim, scale, want);
        be.attention(q, k, v, n, start, capacity, heads, kvHeads, headDim, scale, out);
        assertClose(out, want, tol.atol, tol.rtol, "attention");
      });
    }

    test(`writeKv into an allocKv cache (${be.kvType}), then attention, matches ref on the values as stored`, () => {
      const [heads, kvHeads, headDim, n, start, capacity] = [4, 2, 24, 3, 5, 11];
      const k = be.allocKv(kvHeads * capacity * headDim), v = be.allocKv(kvHeads * capacity * headDim);
      const kf = ref.allocKv(k.length), vf = ref.allocKv(v.length);
      // Two segments (positions 0..start-1, then start..start+n-1), as the model appends them.
      for (const [from, rows] of [[0, start], [start, n]] as const) {
        const kr = seededFloats(from + 1, rows * kvHeads * headDim, 2), vr = seededFloats(from + 2, rows * kvHeads * headDim, 2);
        be.writeKv(kr, rows, kvHeads, headDim, k, capacity, from);
        be.writeKv(vr, rows, kvHeads, headDim, v, capacity, from);
        // The oracle's cache holds what `be` stores: float32, or each value rounded to a half.
        const asStored = (x: Float32Array): Float32Array => (be.kvType === "f16" ? x.map((y) => f16ToF32(f32ToF16(y))) : x);
        ref.writeKv(asStored(kr), rows, kvHeads, headDim, kf, capacity, from);
        ref.writeKv(asStored(vr), rows, kvHeads, headDim, vf, capacity, from);
      }
      const q = seededFloats(9, n * heads * headDim, 2);
      const out = be.allocF32(q.length), want = new Float32Array(q.length);
      ref.attention(q, kf, vf, n, start, capacity, heads, kvHeads, headDim, 0.3, want);
      be.attention(q, k, v, n, start, capacity, heads, kvHeads, headDim, 0.3, out);
      assertClose(out, want, tol.atol, tol.rtol, "attention over writeKv");
      be.freeKv(k);
      be.freeKv(v);
    });
  });
}
