/** `--kv-disk-budget` sizes: plain bytes or K/M/G (powers of 1024); anything else names the flag. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sizeFlag } from "./serve.js";

test("sizeFlag reads bytes and K/M/G suffixes and names the flag on bad input", () => {
  assert.equal(sizeFlag("kv-disk-budget", undefined), undefined);
  assert.equal(sizeFlag("kv-disk-budget", "0"), 0);
  assert.equal(sizeFlag("kv-disk-budget", "4096"), 4096);
  assert.equal(sizeFlag("kv-disk-budget", "512M"), 512 * 2 ** 20);
  assert.equal(sizeFlag("kv-disk-budget", "2g"), 2 * 2 ** 30);
  assert.equal(sizeFlag("kv-disk-budget", "3GiB"), 3 * 2 ** 30);
  assert.throws(() => sizeFlag("kv-disk-budget", "lots"), /--kv-disk-budget: expected a size like 512M or 2G, got "lots"/);
  assert.throws(() => sizeFlag("kv-disk-budget", "-1G"), /--kv-disk-budget/);
});
