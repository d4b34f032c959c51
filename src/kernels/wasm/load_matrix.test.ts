// Float matrices read straight into place by several reads in flight: every row lands where it
// belongs, no read overlaps another, and no more than `inFlight` run at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readInPlace } from "./load_matrix.js";

test("readInPlace: rows first.. land in place, with at most inFlight reads at once", async () => {
  const rows = 23, row = 6, first = 5;
  const file = Uint8Array.from({ length: (first + rows) * row }, (_, i) => (i * 7 + 3) & 0xff);
  for (const inFlight of [1, 3]) {
    const dst = new Uint8Array(rows * row);
    let live = 0, most = 0;
    const seen: number[] = [];
    await readInPlace(async (r, n, into) => {
      live++;
      most = Math.max(most, live);
      seen.push(r);
      await new Promise((res) => setTimeout(res, 1 + (r % 3)));
      into.set(file.subarray(r * row, (r + n) * row));
      live--;
    }, first, rows, row, dst, inFlight, 4);
    assert.deepEqual(dst, file.subarray(first * row));
    assert.equal(most, inFlight);
    assert.deepEqual(seen.sort((a, b) => a - b), [5, 9, 13, 17, 21, 25]);
  }
});
