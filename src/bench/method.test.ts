import { test } from "node:test";
import assert from "node:assert/strict";
import { wasmApi } from "../kernels/wasm/wasm_api.js";
import { readLoopModule } from "./bandwidth.js";
import { describeMachine, formatMachine, parseCpuinfo } from "./machine.js";
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

test("parseCpuinfo reads the first processor's model and its SIMD features in a fixed order", () => {
  const intel = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse4_2 avx512_vnni avx2 avx fma avx512f avx_vnni\n\nprocessor\t: 1\nmodel name\t: other\n";
  assert.deepEqual(parseCpuinfo(intel), { cpu: "Intel(R) Xeon(R) Processor", simd: ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni"] });
  const arm = "processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\nCPU part\t: 0xd0c\n";
  assert.deepEqual(parseCpuinfo(arm), { simd: ["asimd", "asimddp", "i8mm"] });
  assert.deepEqual(parseCpuinfo(""), { simd: [] });
});

test("describeMachine names a CPU and formatMachine prints it with its features", () => {
  const m = describeMachine();
  assert.ok(m.cpu.length > 0 && m.logicalCpus >= 1);
  assert.match(formatMachine({ cpu: "AMD EPYC 7B13", arch: "x64", logicalCpus: 2, simd: ["avx2", "fma"] }), /^AMD EPYC 7B13 \(x64, 2 logical CPUs; SIMD: avx2 fma\)$/);
});
