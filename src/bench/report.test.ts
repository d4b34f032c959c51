import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, ratios, toRow, type BenchReport } from "./report.js";

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
