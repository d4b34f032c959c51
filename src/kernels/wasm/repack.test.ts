// The K-quant repack's word path (4-byte aligned arrays) writes the same bytes as its byte loop
// (any alignment), on random blocks: every 6-bit scale/min unpacking lane, halves of every kind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { dequantizeAll } from "../../formats/quant/index.js";
import { dequantizeRow, repack, repackedSize } from "./repack.js";

for (const [type, inBytes] of [["q4_k", 144], ["q5_k", 176]] as const) {
  test(`${type}: the aligned word repack equals the byte repack, whole and from a row offset`, () => {
    const rows = 6, cols = 512, nb = (rows * cols) / 256;
    let x = 0x9e3779b9;
    const aligned = new Uint8Array(nb * inBytes);
    for (let i = 0; i < aligned.length; i++) aligned[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
    const shifted = new Uint8Array(nb * inBytes + 1).subarray(1); // the same blocks at an odd offset: the byte loop
    shifted.set(aligned);
    const outBytes = nb * (inBytes + 8);
    const words = new Uint8Array(outBytes), bytes = new Uint8Array(outBytes);
    repack(type, aligned, rows, cols, words);
    repack(type, shifted, rows, cols, bytes);
    assert.deepEqual(words, bytes);
    // Rows 2.. of a bigger matrix written from their own slab.
    const part = new Uint8Array(outBytes), partBytes = new Uint8Array(outBytes + 1).subarray(1);
    const slab = aligned.slice(2 * (cols / 256) * inBytes);
    repack(type, slab, rows - 2, cols, part, false, 2, rows);
    const slabShifted = new Uint8Array(slab.length + 1).subarray(1);
    slabShifted.set(slab);
    repack(type, slabShifted, rows - 2, cols, partBytes, false, 2, rows);
    assert.deepEqual(part, partBytes);
    assert.deepEqual(part.subarray(2 * (cols / 256) * (inBytes + 8)), words.subarray(2 * (cols / 256) * (inBytes + 8)));
  });
}


// The q8_0 layouts read back: every value of a repacked row (plain, interleaved, interleaved in the
// dot-add order) dequantizes to the ggml block's own value, and the dot-add order puts value c of
// block b at byte 16·(c >> 2) + 4·b + (c & 3) of its row's group as c + 128 (what
// assembly/matmul_q8il_dot.ts loads as one chunk).
test("q8_0 plain, interleaved and dot-add order: every value reads back as ggml's", () => {
  const rows = 8, cols = 256, nb = (rows * cols) / 32;
  let x = 0x2545f491;
  const src = new Uint8Array(nb * 34);
  for (let i = 0; i < src.length; i++) src[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
  for (let b = 0; b < nb; b++) src[b * 34 + 1]! &= 0x3b; // finite halves
  const want = dequantizeAll("q8_0", src, rows * cols);
  const size = repackedSize("q8_0", rows, cols).bytes;
  for (const [il, dot] of [[false, false], [true, false], [true, true]] as const) {
    const dst = new Uint8Array(size);
    repack("q8_0", src, rows, cols, dst, il, 0, rows, dot);
    const out = new Float32Array(cols);
    for (let r = 0; r < rows; r++) {
      dequantizeRow("q8_0", dst, 0, rows, cols, r, out, il, dot);
      assert.deepEqual([...out], [...want.subarray(r * cols, (r + 1) * cols)], `il ${il} dot ${dot}: row ${r}`);
    }
  }
  // Value c of block b: 0x10 · b + c - 128 as i8 (so the stored byte is 0x10 · b + c), one quad.
  const one = new Uint8Array(4 * 4 * 34);
  for (let r = 0; r < 4; r++) for (let b = 0; b < 4; b++) for (let c = 0; c < 32; c++) one[(4 * r + b) * 34 + 2 + c] = ((0x10 * b + c + 64 * r) - 128) & 0xff;
  const tile = new Uint8Array(repackedSize("q8_0", 4, 128).bytes);
  repack("q8_0", one, 4, 128, tile, true, 0, 4, true);
  for (let r = 0; r < 4; r++) for (let b = 0; b < 4; b++) for (let c = 0; c < 32; c++) {
    assert.equal(tile[128 * r + 16 * (c >> 2) + 4 * b + (c & 3)], (0x10 * b + c + 64 * r) & 0xff, `row ${r} block ${b} value ${c}`);
  }
});
