// The sub-block-lane Q4_K / Q6_K layouts (repack_sb.ts, read by assembly/matmul_ksb.ts): every
// value of a repacked row reads back (dequantizeRow with `il`) as the ggml block's own dequantized
// value — through the word and byte paths (aligned and odd offsets), whole and from a row offset —
// and each layout puts value (sub-block s, index v) at the byte its comment names.
import assert from "node:assert/strict";
import { test } from "node:test";
import { dequantizeAll } from "../../formats/quant/index.js";
import { dequantizeRow, repack, repackedSize } from "./repack.js";

/** Random ggml blocks with finite halves (d, dmin). */
function blocks(type: "q4_k" | "q6_k", count: number, seed: number): Uint8Array {
  const inBytes = type === "q4_k" ? 144 : 210;
  let x = seed >>> 0;
  const b = new Uint8Array(count * inBytes);
  for (let i = 0; i < b.length; i++) b[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
  for (let k = 0; k < count; k++) {
    const o = k * inBytes;
    if (type === "q4_k") {
      b[o + 1]! &= 0x3b; // d
      b[o + 3]! &= 0x3b; // dmin
    } else b[o + 209]! &= 0x3b;
  }
  return b;
}

for (const type of ["q4_k", "q6_k"] as const) {
  test(`${type} sub-block lanes: every value reads back as ggml's, aligned or not, whole or from a row offset`, () => {
    const rows = 5, cols = 512, nb = (rows * cols) / 256, inBytes = type === "q4_k" ? 144 : 210;
    const src = blocks(type, nb, type === "q4_k" ? 0x9e3779b9 : 0x85ebca6b);
    const want = dequantizeAll(type, src, rows * cols);
    const size = repackedSize(type, rows, cols).bytes;
    const srcOdd = new Uint8Array(src.length + 1).subarray(1);
    srcOdd.set(src);
    for (const [name, dst, from] of [
      ["aligned", new Uint8Array(size), src],
      ["odd source", new Uint8Array(size), srcOdd],
      ["odd destination", new Uint8Array(size + 1).subarray(1), src],
    ] as const) {
      repack(type, from, rows, cols, dst, true);
      // Rows 2.. again from their own slab into a second copy: the same bytes.
      const part = new Uint8Array(size);
      part.set(dst.subarray(0, (size / rows) * 2));
      repack(type, from.slice(2 * (cols / 256) * inBytes), rows - 2, cols, part, true, 2, rows);
      assert.deepEqual(part, new Uint8Array(dst), `${name}: rows 2.. from a slab`);
      const out = new Float32Array(cols);
      for (let r = 0; r < rows; r++) {
        dequantizeRow(type, dst, 0, rows, cols, r, out, true);
        assert.deepEqual([...out], [...want.subarray(r * cols, (r + 1) * cols)], `${name}: row ${r}`);
      }
    }
  });
}

test("q4_k sub-block lanes: value (s, v) sits at qs byte 64h + 16·((v % 16) >> 2) + 4b + v % 4", () => {
  // One block whose quant (s, v) is (s + v) % 16, unit scales, zero mins: the kernel's byte order.
  const src = new Uint8Array(144);
  src[1] = 0x3c; // d = 1
  for (let j = 0; j < 4; j++) src[4 + j] = 1; // sc[0..3] = 1
  for (let j = 8; j < 12; j++) src[4 + j] = 1; // sc[4..7] = 1 (low nibbles), mins 0
  for (let s = 0; s < 8; s++) for (let v = 0; v < 32; v++) src[16 + 32 * (s >> 1) + v]! |= ((s + v) % 16) << (4 * (s & 1));
  const dst = new Uint8Array(152);
  repack("q4_k", src, 1, 256, dst, true);
  for (let s = 0; s < 8; s++) for (let v = 0; v < 32; v++) {
    const byte = dst[24 + 64 * (s >> 2) + 16 * ((v & 15) >> 2) + 4 * (s & 3) + (v & 3)]!;
    assert.equal((byte >> (v >= 16 ? 4 : 0)) & 15, (s + v) % 16, `s=${s} v=${v}`);
  }
});
