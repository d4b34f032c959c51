/**
 * Shared cases (see cases.ts): tensors and caches as the model moves them — views, host writes and
 * reads, weight vectors, residual adds, copies, KV cache copies (growing and shifting a cache), batch
 * embedding lookups, and what a loaded matrix reports.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClose, hostMatrix, seededFloats, seededKv, upload, type CaseContext } from "./case_util.js";

const iota = (n: number, from = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i);

export function memoryCases({ be, ref, tol }: CaseContext): void {
  test("view shares storage: reads, writes and views of views see the tensor's values", async () => {
    const t = upload(be, iota(20));
    const v = be.view(t, 5, 10);
    assert.equal(v.length, 10);
    assert.deepEqual([...(await be.read(v))], [...iota(10, 5)]);
    be.write(v, Float32Array.of(100, 101), 3);
    const all = await be.read(t);
    assert.deepEqual([...all.subarray(7, 11)], [7, 100, 101, 10]);
    assert.deepEqual([...(await be.read(be.view(v, 2, 3)))], [7, 100, 101]);
  });

  test("kernels read from and write into views at an offset (row ranges of a batch)", async () => {
    const rows = 12, cols = 32;
    const host = hostMatrix("f32", rows, cols, seededFloats(3, rows * cols));
    const xh = seededFloats(4, 3 * cols), x = upload(be, xh);
    const y = upload(be, new Float32Array(3 * rows).fill(7));
    be.matmul(be.loadMatrix(host), be.view(x, 2 * cols, cols), 1, be.view(y, rows, rows)); // row 2 of x → row 1 of y
    const want = new Float32Array(rows);
    ref.matmul(ref.loadMatrix(host), xh.subarray(2 * cols), 1, want);
    const got = await be.read(y);
    assertClose(got.subarray(rows, 2 * rows), want, tol.atol * Math.sqrt(cols), tol.rtol, "y row 1");
    assert.ok([...got.subarray(0, rows), ...got.subarray(2 * rows)].every((v) => v === 7), "rows 0 and 2 untouched");
  });

  test("write at an offset leaves the rest; read returns a copy (readSync, where offered, the same)", async () => {
    const t = be.allocF32(10);
    be.write(t, Float32Array.of(1, 2, 3), 4);
    const r = await be.read(t);
    assert.deepEqual([...r], [0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
    r[4] = 99;
    assert.equal((await be.read(t))[4], 1, "mutating a read does not touch the tensor");
    if (be.readSync !== undefined) assert.deepEqual(be.readSync(t), await be.read(t));
    assert.throws(() => be.write(t, new Float32Array(4), 7), "a write past the end throws");
  });

  test("loadVector keeps the values even when the caller reuses its array", async () => {
    const v = seededFloats(8, 33);
    const keep = v.slice();
    const t = be.loadVector(v);
    v.fill(0);
    assert.equal(t.length, 33);
    assert.deepEqual(await be.read(t), keep);
  });

  // 70001 and 262147 values: past the wasm backend's single-thread limit, odd tails.
  for (const len of [1, 7, 1024, 5003, 70001, 262147]) {
    test(`add of ${len} values equals ref exactly, into a new tensor and in place over a or b`, async () => {
      const ah = seededFloats(len, len + 2, 3), bh = seededFloats(len + 1, len + 2, 5);
      const want = new Float32Array(len + 2);
      ref.add(ah, bh, want, len);
      want.set(ah.subarray(len), len); // out = a: values past length stay a's
      for (const into of ["out", "a", "b"] as const) {
        const a = upload(be, ah), b = upload(be, bh);
        const out = into === "a" ? a : into === "b" ? b : upload(be, ah);
        be.add(a, b, out, len);
        const got = await be.read(out);
        assert.deepEqual(got.subarray(0, len), want.subarray(0, len), `out = ${into}`);
        assert.deepEqual([...got.subarray(len)], [...(into === "b" ? bh : ah).subarray(len)], `out = ${into}: values past length untouched`);
      }
    });
  }

  test("copy moves src into the start of dst (or into a view of it) and leaves the rest", async () => {
    const src = upload(be, iota(13, 1));
    const dst = upload(be, new Float32Array(20).fill(5));
    be.copy(src, be.view(dst, 4, 13));
    assert.deepEqual([...(await be.read(dst))], [5, 5, 5, 5, ...iota(13, 1), 5, 5, 5]);
    be.copy(be.view(src, 10, 3), dst);
    assert.deepEqual([...(await be.read(be.view(dst, 0, 5)))], [11, 12, 13, 5, 1]);
  });

  test(`copyKv grows a ${be.kvType} cache (head by head into a larger capacity): attention over it matches ref`, async () => {
    const [heads, kvHeads, headDim, used, cap, cap2] = [4, 2, 16, 9, 9, 21];
    const { k, v, kf, vf } = seededKv(be, ref, kvHeads, cap, headDim, 41);
    const k2 = be.allocKv(kvHeads * cap2 * headDim), v2 = be.allocKv(kvHeads * cap2 * headDim);
    for (let h = 0; h < kvHeads; h++) {
      be.copyKv(k, h * cap * headDim, k2, h * cap2 * headDim, used * headDim);
      be.copyKv(v, h * cap * headDim, v2, h * cap2 * headDim, used * headDim);
    }
    be.freeKv(k);
    be.freeKv(v);
    const q = seededFloats(42, 2 * heads * headDim, 2);
    const out = be.allocF32(q.length), want = new Float32Array(q.length);
    ref.attention(q, kf, vf, 2, used - 2, cap, heads, kvHeads, headDim, 0.25, want);
    be.attention(upload(be, q), k2, v2, 2, used - 2, cap2, heads, kvHeads, headDim, 0.25, out);
    assertClose(await be.read(out), want, tol.atol, tol.rtol, "attention over the grown cache");
    be.freeKv(k2);
    be.freeKv(v2);
  });

  test(`copyKv within one ${be.kvType} cache over overlapping ranges copies as if through a temporary`, async () => {
    // kvHeads 1: shift positions 0..5 to 1..6 in place; position 0 keeps its value.
    const [heads, headDim, cap] = [2, 8, 8];
    const { k, v, kf, vf } = seededKv(be, ref, 1, cap, headDim, 51);
    be.copyKv(k, 0, k, headDim, 6 * headDim);
    be.copyKv(v, 0, v, headDim, 6 * headDim);
    kf.copyWithin(headDim, 0, 6 * headDim);
    vf.copyWithin(headDim, 0, 6 * headDim);
    const q = seededFloats(52, heads * headDim, 2);
    const out = be.allocF32(q.length), want = new Float32Array(q.length);
    ref.attention(q, kf, vf, 1, 6, cap, heads, 1, headDim, 0.5, want);
    be.attention(upload(be, q), k, v, 1, 6, cap, heads, 1, headDim, 0.5, out);
    assertClose(await be.read(out), want, tol.atol, tol.rtol, "attention over the shifted cache");
    be.freeKv(k);
    be.freeKv(v);
  });

  for (const type of ["f32", "f16", "bf16"] as const) {
    test(`embed ${type} of a batch of ids (repeats included) equals ref exactly and writes only ids.length rows`, async () => {
      const host = hostMatrix(type, 9, 24, seededFloats(6, 9 * 24));
      const ids = Int32Array.of(3, 0, 8, 3, 5);
      const out = upload(be, new Float32Array(ids.length * 24 + 2).fill(9));
      const want = new Float32Array(ids.length * 24);
      be.embed(be.loadMatrix(host), ids, out);
      ref.embed(ref.loadMatrix(host), ids, want);
      const got = await be.read(out);
      assert.deepEqual(got.subarray(0, want.length), want);
      assert.deepEqual([...got.subarray(want.length)], [9, 9]);
    });
  }

  test("loadMatrix reports the shape and the bytes it holds", () => {
    for (const type of ["f32", "bf16"] as const) {
      const m = be.loadMatrix(hostMatrix(type, 6, 32, seededFloats(7, 6 * 32)));
      assert.equal(m.rows, 6);
      assert.equal(m.cols, 32);
      assert.ok(Number.isInteger(m.bytes) && m.bytes >= 6 * 32 * 2, `${type}: ${m.bytes} bytes`);
    }
  });
}
