// Quantized matmul and quantize-on-load of the wasm backend, against plain-TS references
// ("dequantize W + quantize x to int8 + float dot": the kernels' own integer math, tighter than the
// shared suite's bound against ref), plus differential checks: threaded vs single, batched vs
// single-row, relaxed vs plain, wasm-memory vs ordinary arrays. The shared suite (../cases_quant.ts)
// checks every type's matmul, matmulMany, swiGlu, embedRow and embed against ref.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import { assertClose, hostMatrix, seededFloats } from "../cases.js";
import type { HostMatrix, WeightType } from "../types.js";
import { createWasmBackend } from "./index.js";
import { relaxedSimdAvailable } from "./module.js";
import { repackedSize } from "./repack.js";

const QTYPES = ["q8_0", "q4_0", "q5_0", "q4_k", "q5_k", "q6_k"] as const;
const blockOf = (t: WeightType): number => (t === "q8_0" || t === "q4_0" || t === "q5_0" ? 32 : 256);

/** Ties-to-even rounding (wasm's f32x4.nearest). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The backend's activation quantization in plain TS: per `block` values, d = amax/127 (f32),
 * q = roundEven(f32(x · f32(1/d))). Returns the dequantized activations q·d. */
function quantizeActs(x: Float32Array, block: number): { q: Int8Array; d: Float32Array; deq: Float64Array } {
  const f = Math.fround;
  const q = new Int8Array(x.length), d = new Float32Array(x.length / block), deq = new Float64Array(x.length);
  for (let b = 0; b < d.length; b++) {
    let amax = 0;
    for (let i = 0; i < block; i++) amax = Math.max(amax, Math.abs(x[b * block + i]!));
    const db = f(amax / 127), id = db !== 0 ? f(1 / db) : 0;
    d[b] = db;
    for (let i = 0; i < block; i++) {
      q[b * block + i] = roundEven(f(x[b * block + i]! * id));
      deq[b * block + i] = q[b * block + i]! * db;
    }
  }
  return { q, d, deq };
}

/** y[n, rows] = deq(x) · deq(W)ᵀ in float64, plus |terms| sums for the tolerance. */
function reference(host: HostMatrix, x: Float32Array, n: number): { y: Float64Array; mag: Float64Array } {
  const { rows, cols } = host;
  const w = new Float32Array(rows * cols);
  getFormat(host.type).dequantize(host.bytes, w, rows * cols);
  const xd = quantizeActs(x.subarray(0, n * cols), blockOf(host.type)).deq;
  const y = new Float64Array(n * rows), mag = new Float64Array(n * rows);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let s = 0, m = 0;
      for (let c = 0; c < cols; c++) {
        const t = w[r * cols + c]! * xd[i * cols + c]!;
        s += t;
        m += Math.abs(t);
      }
      y[i * rows + r] = s;
      mag[i * rows + r] = m;
    }
  }
  return { y, mag };
}

function assertNear(got: Float32Array, want: Float64Array, mag: Float64Array, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * mag[i]! + 1e-6;
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) assert.fail(`${what}: index ${i}: got ${got[i]}, expected ${want[i]} (tol ${tol})`);
  }
}

/** ggml bytes of a [rows, cols] matrix whose every value is an exact small integer (scales 1, or 0.5 for
 * Q8_0 / Q4_0), so products with integer activations are exact in float32. */
function integerMatrix(type: WeightType, rows: number, cols: number, seed: number): HostMatrix {
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  const rnd = seededFloats(seed, bytes.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor((rnd[i]! + 1) * 128) & 0xff;
  const setHalf = (o: number, h: number): void => { bytes[o] = h & 0xff; bytes[o + 1] = h >> 8; };
  const ONE = 0x3c00, HALF = 0x3800;
  const bb = rowBytes(type, blockOf(type));
  for (let o = 0; o < bytes.length; o += bb) {
    if (type === "q8_0" || type === "q4_0" || type === "q5_0") setHalf(o, HALF);
    if (type === "q4_k" || type === "q5_k") { setHalf(o, ONE); setHalf(o + 2, ONE); }
    if (type === "q6_k") {
      setHalf(o + 208, ONE);
      for (let j = 0; j < 16; j++) bytes[o + 192 + j] = (bytes[o + 192 + j]! % 41) - 20; // scales −20..20
    }
  }
  return { type, rows, cols, bytes };
}

const threaded = await createWasmBackend({ threads: 2 });
const single = await createWasmBackend({ threads: 1 });
const plain = await createWasmBackend({ threads: 2, relaxed: false });

describe("wasm quantized matmul", () => {
  after(() => {
    threaded.dispose();
    single.dispose();
    plain.dispose();
  });

  for (const type of QTYPES) {
    // 256 columns: q4_0 / q8_0's interleaved layouts (with their 4-row and 2 × 4-row prefill tiles at n = 7).
    const refWidths = type === "q4_0" || type === "q8_0" ? [96, 256] : [blockOf(type) === 32 ? 96 : 512];
    // The interleaved layouts also need rows % 4 = 0 (quads): 36 rows take them, 37 do not.
    const refRows = type === "q8_0" || type === "q4_0" ? [37, 36] : [37];
    for (const rows of refRows) for (const cols of refWidths) for (const n of [1, 3, 7]) {
      test(`${type} [${rows}, ${cols}] x n=${n} + bias matches dequantized-W × int8-x reference`, () => {
        const host = hostMatrix(type, rows, cols, seededFloats(100 + n, rows * cols));
        const x = threaded.allocF32(n * cols);
        x.set(seededFloats(200 + n, n * cols, 3));
        const bias = seededFloats(300, rows);
        const y = threaded.allocF32(n * rows + 2).fill(7);
        threaded.matmul(threaded.loadMatrix(host), x, n, y, bias);
        const { y: want, mag } = reference(host, x, n);
        for (let i = 0; i < n; i++) for (let r = 0; r < rows; r++) want[i * rows + r]! += bias[r]!;
        assertNear(y.subarray(0, n * rows), want, mag, type);
        assert.deepEqual([...y.subarray(n * rows)], [7, 7], "rows past n untouched");
      });
    }

    // q4_0 / q8_0 at 256 columns: the interleaved layouts (cols % 128 = 0; q4_0's in the relaxed
    // build, q8_0's in both); at 64 the plain ones.
    const widths = type === "q4_0" || type === "q8_0" ? [64, 256] : [blockOf(type) * 2];
    for (const cols of widths) for (const [rows, n] of [[13, 5], [12, 2], [12, 6]]) test(`${type} [${rows}, ${cols}] x n=${n} integer math is exact: integer weights × integer activations`, () => {
      const host = integerMatrix(type, rows, cols, 7);
      const x = new Float32Array(n * cols);
      const rnd = seededFloats(8, n * cols);
      for (let i = 0; i < x.length; i++) x[i] = i % blockOf(type) === 3 ? 127 : Math.round(rnd[i]! * 20); // amax 127 → d = 1
      const y = new Float32Array(n * rows);
      single.matmul(single.loadMatrix(host), x, n, y);
      const { y: want } = reference(host, x, n);
      assert.deepEqual([...y], [...Float32Array.from(want)]);
    });
  }

  // q8_0 at 480 columns keeps the plain layout (480 % 128 ≠ 0); at 512 it is interleaved.
  // q8_0 / q4_0 [204, 512] are interleaved in quads; [203, 512] are not (rows % 4 ≠ 0).
  // bf16 runs 8-column steps, then 4-column steps, then a scalar tail: 500 = 62·8 + 4, 77 = 9·8 + 4 + 1.
  const shapesOf = (type: WeightType): [number, number][] =>
    type === "q8_0" ? [[203, 480], [203, 512], [204, 512]] : type === "q4_0" ? [[203, 512], [204, 512]] : type === "bf16" ? [[203, 512], [203, 500], [203, 77]] : [[203, 512]];
  const batchCases = (["f32", "bf16", "f16", ...QTYPES] as const).flatMap((type) => shapesOf(type).map(([rows, cols]) => [type, rows, cols] as const));
  for (const [type, rows, cols] of batchCases) {
    test(`${type} [${rows}, ${cols}] threaded equals single-threaded, and batched rows equal single rows, bit for bit`, () => {
      const n = 37; // ≥ 16: x is quantized by rows over the pool
      const host = hostMatrix(type, rows, cols, seededFloats(41, rows * cols));
      const x = seededFloats(42, n * cols, 2);
      const results = [threaded, single].map((be) => {
        const y = new Float32Array(n * rows);
        be.matmul(be.loadMatrix(host), x, n, y);
        return y;
      });
      assert.deepEqual(results[0], results[1]);
      const m = threaded.loadMatrix(host);
      for (const i of [0, 4, 6, 36]) {
        const y1 = threaded.allocF32(rows);
        threaded.matmul(m, x.subarray(i * cols, (i + 1) * cols), 1, y1);
        assert.deepEqual([...y1], [...results[0]!.subarray(i * rows, (i + 1) * rows)], `row ${i}`);
      }
    });

    if (rows === 203) test(`${type} [64, ${cols}] relaxed SIMD agrees with plain SIMD`, { skip: !relaxedSimdAvailable() }, () => {
      const rows = 64, n = 5;
      const host = hostMatrix(type, rows, cols, seededFloats(51, rows * cols));
      const x = seededFloats(52, n * cols);
      const a = new Float32Array(n * rows), b = new Float32Array(n * rows);
      threaded.matmul(threaded.loadMatrix(host), x, n, a);
      plain.matmul(plain.loadMatrix(host), x, n, b);
      assertClose(a, b, 1e-5 * Math.sqrt(cols), 1e-5, "relaxed vs plain");
    });
  }

  for (const dtype of ["q8_0", "q4_0", "q4_k"] as const) {
    test(`dtype ${dtype} quantizes float weights on load like the format's quantizer`, async () => {
      const conv = await createWasmBackend({ threads: 2, dtype });
      try {
        const rows = 9, cols = 256, n = 3;
        const vals = seededFloats(61, rows * cols);
        const x = seededFloats(62, n * cols);
        const a = new Float32Array(n * rows), b = new Float32Array(n * rows);
        const m = conv.loadMatrix(hostMatrix("bf16", rows, cols, vals));
        assert.equal(m.type, dtype);
        conv.matmul(m, x, n, a);
        // Reference: the same bf16 values, dequantized, then encoded by the format registry.
        const f = new Float32Array(rows * cols);
        getFormat("bf16").dequantize(hostMatrix("bf16", rows, cols, vals).bytes, f, f.length);
        threaded.matmul(threaded.loadMatrix(hostMatrix(dtype, rows, cols, f)), x, n, b);
        assert.deepEqual(a, b);
        const odd = conv.loadMatrix(hostMatrix("f32", 2, 40, seededFloats(63, 80)));
        assert.equal(odd.type, "f32", "cols not a multiple of the block keep their float type");
      } finally {
        conv.dispose();
      }
    });
  }

  test("a loaded matrix reports the type it is stored as and its repacked bytes", () => {
    for (const type of ["f32", "bf16", "f16", ...QTYPES] as const) {
      const [rows, cols] = [8, 256];
      const m = threaded.loadMatrix(hostMatrix(type, rows, cols, seededFloats(3, rows * cols)));
      assert.equal(m.type, type);
      assert.equal(m.bytes, repackedSize(type, rows, cols).bytes, type);
    }
  });

  for (const type of ["q8_0", "q4_0"] as const) test(`matmulMany: a plain and an interleaved ${type} matrix (rows start mid-quad in the job) equal their own matmuls`, () => {
    // 13 plain rows first, so the second matrix's rows begin at item 13 and thread chunks (multiples
    // of 4 items) cut its quads unevenly: the q8_0 kernel's single-row edges run (q4_0 layouts read
    // different x orders, so that pair runs unfused).
    const cols = 256;
    const a = hostMatrix(type, 13, cols, seededFloats(81, 13 * cols)), b = hostMatrix(type, 36, cols, seededFloats(82, 36 * cols));
    for (const n of [1, 5]) {
      const x = seededFloats(83 + n, n * cols);
      const ma = threaded.loadMatrix(a), mb = threaded.loadMatrix(b);
      const ya = new Float32Array(n * 13), yb = new Float32Array(n * 36), wantA = new Float32Array(n * 13), wantB = new Float32Array(n * 36);
      threaded.matmulMany([ma, mb], x, n, [ya, yb]);
      threaded.matmul(ma, x, n, wantA);
      threaded.matmul(mb, x, n, wantB);
      assert.deepEqual([...ya], [...wantA], `n=${n} plain`);
      assert.deepEqual([...yb], [...wantB], `n=${n} interleaved`);
    }
  });

  test("inputs and outputs outside wasm memory give the same result as views into it", () => {
    const rows = 33, cols = 256, n = 2;
    const host = hostMatrix("q4_k", rows, cols, seededFloats(71, rows * cols));
    const m = threaded.loadMatrix(host);
    const xs = seededFloats(72, n * cols);
    const xw = threaded.allocF32(n * cols);
    xw.set(xs);
    const yw = threaded.allocF32(n * rows), yo = new Float32Array(n * rows);
    threaded.matmul(m, xw, n, yw);
    threaded.matmul(m, xs, n, yo);
    assert.deepEqual([...yo], [...yw]);
  });

  test("misuse fails with QwenrtError naming the argument", async () => {
    const other = await createWasmBackend({ threads: 1 });
    const m = other.loadMatrix(hostMatrix("f32", 2, 4, seededFloats(1, 8)));
    other.dispose();
    assert.throws(() => threaded.matmul(m, new Float32Array(4), 1, new Float32Array(2)), { name: "QwenrtError", message: /another backend/ });
    const mine = threaded.loadMatrix(hostMatrix("f32", 2, 4, seededFloats(1, 8)));
    assert.throws(() => threaded.matmul(mine, new Float32Array(3), 1, new Float32Array(2)), { name: "QwenrtError", message: /^x:/ });
    assert.throws(() => threaded.loadMatrix({ type: "q5_0", rows: 1, cols: 16, bytes: new Uint8Array(22) }), { name: "QwenrtError", message: /q5_0/ });
    assert.throws(() => threaded.loadMatrix({ type: "f32", rows: 2, cols: 4, bytes: new Uint8Array(5) }), { name: "QwenrtError" });
    assert.throws(() => other.allocF32(4), { name: "QwenrtError", message: /dispose/ });
    await assert.rejects(createWasmBackend({ threads: 0 }), { name: "QwenrtError", message: /^threads:/ });
  });
});
