import { test } from "node:test";
import assert from "node:assert/strict";
import { wasmApi } from "../kernels/wasm/wasm_api.js";
import { measureReadBandwidth, readLoopModule } from "./bandwidth.js";
import { median, promptIds, summarize } from "./method.js";

test("promptIds are seeded, in range, and differ per trial", () => {
  const a = promptIds(7, 0, 512, 1000);
  assert.deepEqual(a, promptIds(7, 0, 512, 1000));
  assert.notDeepEqual(a, promptIds(7, 1, 512, 1000));
  assert.notDeepEqual(a, promptIds(7, "warmup", 512, 1000));
  assert.ok(a.every((id) => id >= 0 && id < 1000));
});

test("median and summarize take the middle trial", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const s = summarize([{ ttftSeconds: 1, decodeSeconds: 4 }, { ttftSeconds: 2, decodeSeconds: 2 }, { ttftSeconds: 4, decodeSeconds: 1 }], 512, 128);
  assert.deepEqual(s, { ppTokensPerSecond: 256, tgTokensPerSecond: 64, ttftSeconds: 2 });
});

test("the hand-encoded read loop validates and XORs every 16-byte lane", async () => {
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: false });
  const { read } = new wasmApi.Instance(await wasmApi.compile(readLoopModule()), { env: { memory } }).exports as { read: (p: number, n: number) => number };
  const words = new Int32Array(memory.buffer, 0, 64); // 256 bytes = 4 iterations
  words.fill(0);
  words[0] = 5; // lane 0 of accumulator a, first iteration
  words[4 * 3 + 0] = 3; // lane 0 of accumulator d
  words[16 * 2 + 4] = 9; // lane 0 of b, third iteration
  assert.equal(read(0, 256), 5 ^ 3 ^ 9);
});

test("the four-stream read loop XORs every 16-byte lane of each quarter", async () => {
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: false });
  const { read4 } = new wasmApi.Instance(await wasmApi.compile(readLoopModule()), { env: { memory } }).exports as { read4: (p: number, n: number) => number };
  const words = new Int32Array(memory.buffer, 0, 64); // 256 bytes: quarters of 64, 4 steps of 16
  words.fill(0);
  words[0] = 5; // quarter 0, step 0
  words[16] = 3; // quarter 1 (byte 64), step 0
  words[36] = 9; // quarter 2 (byte 144), step 1
  words[60] = 6; // quarter 3 (byte 240), step 3
  words[61] = 7; // lane 1: not returned
  assert.equal(read4(0, 256), 5 ^ 3 ^ 9 ^ 6);
  assert.equal(read4(64, 128), 3 ^ 9); // quarters of 32 bytes from byte 64: 64.., 96.., 128.., 160..
});

test("measureReadBandwidth reports both patterns and the faster", async () => {
  const r = await measureReadBandwidth({ threads: 1, bufferBytes: 2 ** 20, passes: 4 });
  assert.ok(r.oneStream > 0 && r.fourStreams > 0);
  assert.equal(r.bytesPerSecond, Math.max(r.oneStream, r.fourStreams));
  await assert.rejects(measureReadBandwidth({ threads: 1, passes: 1 }), /passes/);
});
