// `qwenrt bench` on a tiny synthesized model: the report's structure, with both engines present
// and every measure positive. Only the structure is checked; timings never decide pass/fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchReport } from "../../bench/report.js";
import { synthesize } from "../../tools/synth.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "qwenrt-bench-cli-"));
const model = join(dir, "tiny");
synthesize({ preset: "tiny-qwen3", out: model, seed: 3 });

function qwenrt(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Why llama.cpp cannot run here, or undefined when its prebuilt binary loads. */
async function llamaUnavailable(): Promise<string | undefined> {
  try {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    await (await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error })).dispose();
    return undefined;
  } catch (e) {
    return `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
  }
}

const shape = ["--pp", "8", "--tg", "4", "--trials", "1", "--threads", "1", "--gguf-cache", join(dir, "gguf")];

function assertRow(r: BenchReport["rows"][number]): void {
  for (const k of ["ppTokensPerSecond", "tgTokensPerSecond", "ttftSeconds", "peakRssBytes", "weightBytesPerToken", "decodeBytesPerSecond", "rooflineFraction"] as const) {
    assert.ok(Number.isFinite(r[k]) && r[k] > 0, `${r.engine}.${k} = ${r[k]}`);
  }
  assert.equal(r.trials.length, 1);
}

test("qwenrt bench --vs llama.cpp reports both engines with positive numbers and their ratios", async (t) => {
  const why = await llamaUnavailable();
  const r = await qwenrt(["bench", model, ...shape, "--json", ...(why === undefined ? ["--vs", "llama.cpp"] : [])]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as BenchReport;
  assert.deepEqual([report.pp, report.tg, report.trials, report.threads], [8, 4, 1, 1]);
  assert.ok((report.bandwidth["1"] ?? 0) > 0, "measured read bandwidth");
  assert.ok((report.bandwidth["1 after"] ?? 0) > 0, "measured again after the engines");
  const roof = Math.max(...Object.values(report.bandwidth));
  for (const row of report.rows) assert.ok(Math.abs(row.rooflineFraction - row.decodeBytesPerSecond / roof) < 1e-9 * row.rooflineFraction, "% roofline against the best probe");
  assert.deepEqual(report.rows.map((x) => x.engine), why === undefined ? ["qwenrt", "llama.cpp"] : ["qwenrt"]);
  report.rows.forEach(assertRow);
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  // Same weights: qwenrt reads bf16, llama.cpp the f16 GGUF converted from them, byte for byte as large.
  assert.equal(report.rows[0]!.type, "bf16");
  assert.equal(report.rows[1]!.type, "f16");
  assert.equal(report.rows[0]!.weightBytesPerToken, report.rows[1]!.weightBytesPerToken);
  for (const k of ["pp", "tg", "ttft", "peakRss", "load"] as const) assert.ok(report.ratios![k] > 0, `ratio ${k}`);
});

test("qwenrt bench prints the table and rejects an unknown peer", async () => {
  const r = await qwenrt(["bench", model, ...shape, "--backend", "ref"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^engine +type +pp8 tok\/s +tg4 tok\/s +TTFT +load +peak RSS +GB\/token +GB\/s +% roofline$/m);
  assert.match(r.stdout, /^qwenrt \(ref, 1 thread, f32 KV\) +f32 /m);
  assert.match(r.stdout, /memory read bandwidth: [\d.]+ GB\/s \(1 thread\), [\d.]+ GB\/s \(1 thread, after the runs\)/);
  const bad = await qwenrt(["bench", model, "--vs", "vllm"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--vs: the only peer is "llama.cpp", got "vllm"/);
});
