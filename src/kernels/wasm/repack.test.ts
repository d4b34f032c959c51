// The K-quant repack's word path (4-byte aligned arrays) writes the same bytes as its byte loop
// (any alignment), on random blocks: every 6-bit scale/min unpacking lane, halves of every kind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { repack } from "./repack.js";

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

