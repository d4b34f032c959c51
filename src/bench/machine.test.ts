import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuFlags, formatMachine, machineInfo } from "./machine.js";

test("cpuFlags reads x86 flags and ARM features from /proc/cpuinfo text", () => {
  const x86 = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx avx2 fma f16c\nbugs\t\t: none\n";
  assert.deepEqual([...cpuFlags(x86)].filter((f) => f.startsWith("avx")), ["avx", "avx2"]);
  const arm = "processor\t: 0\nFeatures\t: fp asimd asimddp i8mm\n";
  assert.ok(cpuFlags(arm).has("asimddp") && cpuFlags(arm).has("i8mm"));
  assert.equal(cpuFlags("nothing here").size, 0);
});

test("machineInfo names the CPU and formats one line with its SIMD features", () => {
  const m = machineInfo();
  assert.ok(m.cpu.length > 0 && m.cores >= 1 && m.memoryBytes > 0);
  const line = formatMachine({ cpu: "Test CPU", cores: 2, memoryBytes: 24 * 2 ** 30, simd: ["avx2", "avx512_vnni"] });
  assert.equal(line, "Test CPU, 2 cores, 24 GiB; SIMD: avx2 avx512_vnni");
  assert.match(m.runtime ?? "", /^Node v\d+/);
  assert.equal(formatMachine({ ...m, cpu: "X", simd: [], runtime: "Node v24.0.0 (V8 13.6)" }).split("; ").at(-1), "Node v24.0.0 (V8 13.6)");
});
