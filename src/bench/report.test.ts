import assert from "node:assert/strict";
import { test } from "node:test";
import { bandwidthLabel, formatReport, ratios, toRow, type BenchReport } from "./report.js";

test("the report shows each engine's load time and the load ratio beside the speed ratios", () => {
  const trials = [{ ttftSeconds: 2, decodeSeconds: 4 }];
  const q = toRow({ kind: "result", engine: "qwenrt", detail: "wasm", type: "q4_0", loadSeconds: 7.5, trials, weightBytesPerToken: 1e9, peakRssBytes: 2 ** 30 }, 64, 16, 16e9);
  const l = toRow({ kind: "result", engine: "llama.cpp", detail: "cpu", type: "q4_0", loadSeconds: 5, trials: [{ ttftSeconds: 1, decodeSeconds: 2 }], weightBytesPerToken: 1e9, peakRssBytes: 2 ** 30 }, 64, 16, 16e9);
  const r = ratios([q, l])!;
  assert.equal(r.load, 1.5);
  assert.equal(r.pp, 0.5);
  const report: BenchReport = { model: "m.gguf", pp: 64, tg: 16, trials: 1, threads: 2, seed: 0, machine: { cpu: "CPU", cores: 2, memoryBytes: 2 ** 34, simd: [] }, bandwidth: { "2": 16e9 }, rows: [q, l], ratios: r };
  const text = formatReport(report);
  assert.match(text, /TTFT\s+load\s+peak RSS/);
  assert.match(text, /qwenrt \(wasm\)\s+q4_0\s+32\.0\s+4\.00\s+2\.00 s\s+7\.50 s\s+1024 MiB/);
  assert.match(text, /peak RSS 1\.00×, load 1\.50×/);
});

test("the bandwidth line names each probe: thread count, the probe after the runs, a given roofline", () => {
  assert.equal(bandwidthLabel("1"), "1 thread");
  assert.equal(bandwidthLabel("2"), "2 threads");
  assert.equal(bandwidthLabel("2 after"), "2 threads, after the runs");
  assert.equal(bandwidthLabel("given"), "given with --roofline-gbs");
  const row = toRow({ kind: "result", engine: "qwenrt", detail: "wasm", type: "q4_0", loadSeconds: 1, trials: [{ ttftSeconds: 1, decodeSeconds: 1 }], weightBytesPerToken: 1e9, peakRssBytes: 2 ** 30 }, 64, 16, 20e9);
  const report: BenchReport = { model: "m.gguf", pp: 64, tg: 16, trials: 1, threads: 2, seed: 0, machine: { cpu: "CPU", cores: 2, memoryBytes: 2 ** 34, simd: [] }, bandwidth: { "1": 9e9, "2": 12e9, "2 after": 20e9 }, rows: [row] };
  assert.match(formatReport(report), /memory read bandwidth: 9\.00 GB\/s \(1 thread\), 12\.00 GB\/s \(2 threads\), 20\.00 GB\/s \(2 threads, after the runs\)/);
});
