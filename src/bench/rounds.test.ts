import assert from "node:assert/strict";
import { test } from "node:test";
import { formatReport, ratios, toRow, type BenchReport, type EngineResult } from "./report.js";
import { mergeRounds, roundOrder, roundRatios } from "./rounds.js";

const result = (engine: EngineResult["engine"], load: number, rss: number, trials: { ttftSeconds: number; decodeSeconds: number }[]): EngineResult => ({
  kind: "result", engine, detail: engine === "qwenrt" ? "wasm" : "cpu", type: "q4_0", loadSeconds: load, trials, weightBytesPerToken: 1e9, peakRssBytes: rss,
});

test("rounds alternate which engine runs first", () => {
  assert.deepEqual(roundOrder(0), ["qwenrt", "llama.cpp"]);
  assert.deepEqual(roundOrder(1), ["llama.cpp", "qwenrt"]);
  assert.deepEqual(roundOrder(2), ["qwenrt", "llama.cpp"]);
});

test("an engine's rounds merge into one reply: every trial, the median load, the highest peak RSS", () => {
  const m = mergeRounds([
    result("qwenrt", 3, 100, [{ ttftSeconds: 1, decodeSeconds: 2 }]),
    result("qwenrt", 1, 300, [{ ttftSeconds: 3, decodeSeconds: 4 }, { ttftSeconds: 5, decodeSeconds: 6 }]),
    result("qwenrt", 2, 200, [{ ttftSeconds: 7, decodeSeconds: 8 }]),
  ]);
  assert.equal(m.loadSeconds, 2);
  assert.equal(m.peakRssBytes, 300);
  assert.deepEqual(m.trials.map((t) => t.ttftSeconds), [1, 3, 5, 7]);
  assert.throws(() => mergeRounds([]), /no rounds/);
  assert.throws(() => mergeRounds([result("qwenrt", 1, 1, []), result("llama.cpp", 1, 1, [])]), /different engines/);
});

test("per-round ratios pair round i of each engine, and the report prints them with their median", () => {
  // pp 64, tg 16: round 1 qwenrt 32 / llama 64 tok/s prefill (0.5×), round 2 64 / 64 (1×), round 3 96 / 64 (1.5×)
  const q = [1 / 0.5, 1, 1 / 1.5].map((t) => result("qwenrt", 1, 1, [{ ttftSeconds: 2 * t, decodeSeconds: 2 * t }]));
  const l = [0, 1, 2].map(() => result("llama.cpp", 1, 1, [{ ttftSeconds: 1, decodeSeconds: 1 }]));
  const rr = roundRatios(q, l, 64, 16);
  assert.deepEqual(rr.pp.map((x) => Number(x.toFixed(6))), [0.25, 0.5, 0.75]);
  assert.equal(Number(rr.tgMedian.toFixed(6)), 0.5);
  assert.throws(() => roundRatios(q, l.slice(1), 64, 16), /3 qwenrt rounds against 2/);
  const rows = [toRow(mergeRounds(q), 64, 16, 16e9), toRow(mergeRounds(l), 64, 16, 16e9)];
  const report: BenchReport = {
    model: "m.gguf", pp: 64, tg: 16, trials: 1, threads: 2, seed: 0, machine: { cpu: "CPU", cores: 2, memoryBytes: 2 ** 34, simd: [] },
    bandwidth: { "2": 16e9 }, rows, ratios: ratios(rows)!, rounds: 3, roundRatios: rr,
  };
  const text = formatReport(report);
  assert.match(text, /^m\.gguf: 3 rounds × 1 trial \(median\)/);
  assert.match(text, /per round \(both engines back to back, order alternating\): pp 0\.25× 0\.50× 0\.75× \(median 0\.50×\), tg 0\.25× 0\.50× 0\.75× \(median 0\.50×\)/);
});
