// The SIMD quantizers against the reference quantizers of formats/quant/ (themselves bit-exact to
// ggml's): the same bytes for every source type, target type and kind of block — random rows,
// constant and all-zero sub-blocks, tiny sub-blocks whose 6-bit scale rounds to 0, one-signed
// blocks, outliers, values near the float limits — split over two threads and several slabs.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import { f32ToBf16, f32ToF16 } from "../../formats/quant/float.js";
import type { WeightType } from "../../formats/quant/types.js";
import { seededFloats } from "../case_util.js";
import { createQuantizer } from "./quantizer.js";

const q = await createQuantizer({ threads: 2 });

/** Encode f32 values as a float storage type (the source bytes a checkpoint would hold). */
function asType(type: "f32" | "f16" | "bf16", v: Float32Array): Uint8Array {
  if (type === "f32") return new Uint8Array(v.slice().buffer);
  const out = new Uint16Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = type === "bf16" ? f32ToBf16(v[i]!) : f32ToF16(v[i]!);
  return new Uint8Array(out.buffer);
}

/** The reference: decode the source exactly, encode with the format's own quantizer. */
function reference(from: WeightType, src: Uint8Array, to: WeightType, count: number): Uint8Array {
  const v = new Float32Array(count);
  getFormat(from).dequantize(src, v, count);
  const out = new Uint8Array((count / getFormat(to).blockSize) * getFormat(to).blockBytes);
  getFormat(to).quantize!(v, out, count);
  return out;
}

/** Rows of every kind the searches branch on, `cols` values each (a multiple of 256). */
function trickyRows(cols: number, seed: number, big: number): Float32Array[] {
  const rnd = (s: number, scale = 0.02): Float32Array => seededFloats(seed * 1000 + s, cols, scale);
  const rows: Float32Array[] = [];
  rows.push(rnd(1), rnd(2, 1), rnd(3, big));
  rows.push(new Float32Array(cols)); // all zero
  rows.push(new Float32Array(cols).fill(-0.3)); // constant negative: max == min
  rows.push(new Float32Array(cols).fill(0.7)); // constant positive
  const pos = rnd(4).map(Math.abs); // min > 0 moves to 0
  rows.push(pos, pos.map((x) => -x));
  const tiny = rnd(5); // first sub-blocks far smaller than the rest: their 6-bit scales round to 0
  for (let i = 0; i < 48; i++) tiny[i]! *= 1e-5;
  rows.push(tiny);
  const eps = rnd(6); // a Q6_K sub-block below GROUP_MAX_EPS
  for (let i = 16; i < 32; i++) eps[i] = 1e-17 * ((i % 3) - 1);
  rows.push(eps);
  const outlier = rnd(7);
  outlier[5] = 40;
  outlier[300 % cols] = -55;
  rows.push(outlier);
  const zeroSub = rnd(8);
  zeroSub.fill(0, 32, 96); // whole zero sub-blocks inside a row
  rows.push(zeroSub);
  const ties = rnd(9); // values on exact halves of a grid
  for (let i = 0; i < cols; i++) ties[i] = (Math.round(ties[i]! * 400) + 0.5) / 64;
  rows.push(ties);
  const subnormalish = rnd(10, 1e-36);
  rows.push(subnormalish);
  return rows;
}

describe("SIMD quantizers equal the reference quantizers", () => {
  after(() => q.dispose());
  test("q8_0: blocks holding a NaN or an infinity (anywhere in the block) give the reference's bytes", () => {
    const cols = 256;
    const vals = seededFloats(5, 4 * cols, 0.1);
    for (const [at, v] of [[3, NaN], [40, NaN], [95, Infinity], [130, -Infinity], [161, NaN], [191, -Infinity], [300, NaN], [700, Infinity]] as const) vals[at] = v;
    const src = asType("f32", vals);
    const out = new Uint8Array(4 * rowBytes("q8_0", cols));
    q.encode("f32", src, "q8_0", 4, cols, out);
    assert.deepEqual(out, reference("f32", src, "q8_0", vals.length));
  });
  for (const from of ["bf16", "f16", "f32"] as const) {
    for (const to of ["q8_0", "q4_0", "q4_k", "q6_k"] as const) {
      test(`${from} → ${to}: same bytes on every kind of row`, () => {
        const cols = 512;
        const big = from === "f16" ? 3000 : 1e30;
        const rows = [...trickyRows(cols, 1, big)];
        for (let s = 0; s < 30; s++) rows.push(seededFloats(77 + s, cols, 0.05 * (1 + (s % 5))));
        const vals = new Float32Array(rows.length * cols);
        rows.forEach((r, i) => vals.set(r, i * cols));
        const src = asType(from, vals);
        const out = new Uint8Array(rows.length * rowBytes(to, cols));
        q.encode(from, src, to, rows.length, cols, out);
        const want = reference(from, src, to, vals.length);
        for (let r = 0; r < rows.length; r++) {
          const a = out.subarray(r * rowBytes(to, cols), (r + 1) * rowBytes(to, cols));
          const b = want.subarray(r * rowBytes(to, cols), (r + 1) * rowBytes(to, cols));
          assert.deepEqual(a, b, `row ${r}`);
        }
      });
    }
  }

  test("a matrix taller than one slab, over both threads, equals the reference", () => {
    const rows = 4200, cols = 1024; // 8 MiB of bf16 per slab: two slabs (types whose reference is quick)
    const vals = seededFloats(5, rows * cols, 0.03);
    const src = asType("bf16", vals);
    for (const to of ["q8_0", "q4_0"] as const) {
      const out = new Uint8Array(rows * rowBytes(to, cols));
      q.encode("bf16", src, to, rows, cols, out);
      assert.deepEqual(out, reference("bf16", src, to, vals.length), to);
    }
  });

  test("other targets go through the reference encoders; same types copy", () => {
    const cols = 256, rows = 3;
    const src = asType("bf16", seededFloats(9, rows * cols, 0.1));
    for (const to of ["q5_0", "f16", "f32", "q5_k"] as const) {
      const out = new Uint8Array(rows * rowBytes(to, cols));
      q.encode("bf16", src, to, rows, cols, out);
      assert.deepEqual(out, reference("bf16", src, to, rows * cols), to);
    }
    const same = new Uint8Array(src.byteLength);
    q.encode("bf16", src, "bf16", rows, cols, same);
    assert.deepEqual(same, src);
  });

  test("random rows: a function of (key, index) only, bf16 values of the asked mean and spread, encoded like any rows", () => {
    const rows = 64, cols = 512, key = 0x1234_5678_9abc_def0n;
    const all = new Uint8Array(rows * cols * 4);
    q.random(key, 0.5, 0.02, 0, rows, cols, "f32", all);
    const parts = new Uint8Array(rows * cols * 4);
    q.random(key, 0.5, 0.02, 0, 10, cols, "f32", parts.subarray(0, 10 * cols * 4));
    q.random(key, 0.5, 0.02, 10, rows - 10, cols, "f32", parts.subarray(10 * cols * 4));
    assert.deepEqual(parts, all, "rows made in pieces (rowBase) equal rows made at once");
    const v = new Float32Array(all.buffer);
    const bits = new Uint32Array(all.buffer);
    assert.ok(bits.every((b) => (b & 0xffff) === 0), "bf16 values");
    let sum = 0, sq = 0, worst = 0;
    for (const x of v) {
      sum += x;
      sq += (x - 0.5) ** 2;
      worst = Math.max(worst, Math.abs(x - 0.5));
    }
    const mean = sum / v.length, std = Math.sqrt(sq / v.length);
    assert.ok(Math.abs(mean - 0.5) < 5e-4, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.02) < 4e-4, `std ${std}`);
    assert.ok(worst <= 0.02 * 3.47, `|z| ≤ 2·sqrt(3), got ${worst / 0.02}`);
    const other = new Uint8Array(cols * 4);
    q.random(key + 1n, 0.5, 0.02, 0, 1, cols, "f32", other);
    assert.notDeepEqual(other, all.subarray(0, cols * 4), "another key, other values");
    for (const to of ["q8_0", "q4_0", "q4_k", "q6_k"] as const) {
      const got = new Uint8Array(rows * rowBytes(to, cols));
      q.random(key, 0.5, 0.02, 0, rows, cols, to, got);
      assert.deepEqual(got, reference("f32", all, to, rows * cols), to);
    }
  });

  test("refuses buffers of the wrong size, naming the shape", () => {
    assert.throws(() => q.encode("bf16", new Uint8Array(10), "q8_0", 1, 256, new Uint8Array(272)), /\[1, 256\] bf16 needs 512 bytes/);
  });
});
