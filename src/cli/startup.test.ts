import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { loadModel } from "../models/load.js";
import { completeModelDir } from "./chat/test-helpers.js";
import { formatModelSummary, formatParams, modelDisplayName, summarizeModel, withLoadingLine } from "./startup.js";

test("modelDisplayName: the directory name, or owner/name for a Hub cache snapshot", () => {
  assert.equal(modelDisplayName("/models/Qwen3-0.6B/"), "Qwen3-0.6B");
  assert.equal(modelDisplayName("/c/hub/models--Qwen--Qwen3-30B-A3B/snapshots/0123abc"), "Qwen/Qwen3-30B-A3B");
  assert.equal(modelDisplayName("/x/snapshots/abc"), "abc");
});

test("summarizeModel: parameters counted from the tensors, weights from the files, config facts", async () => {
  const dir = completeModelDir();
  const model = await loadModel(dir);
  const s = summarizeModel(dir, model);
  let params = 0;
  for (const t of readSafetensorsDir(dir).tensors.values()) params += t.shape.reduce((a, b) => a * b, 1);
  assert.equal(s.params, params);
  assert.equal(s.weightBytes, statSync(join(dir, "model.safetensors")).size);
  assert.deepEqual(
    { modelType: s.modelType, layers: s.layers, dtype: s.dtype, backend: s.backend, threads: s.threads, contextLength: s.contextLength },
    { modelType: "qwen3", layers: 2, dtype: "bf16", backend: "ref", threads: 1, contextLength: 40960 },
  );
});

test("formatModelSummary: one line, dtype left out when the config does not say", () => {
  const s = { name: "Qwen3-0.6B", modelType: "qwen3", layers: 28, params: 596_049_920, backend: "wasm", threads: 8, contextLength: 40960, weightBytes: 1_503_300_328 };
  assert.equal(
    formatModelSummary({ ...s, dtype: "bf16" }),
    "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · bf16 · wasm backend, 8 threads · context 40,960 · weights 1.50 GB",
  );
  assert.equal(formatModelSummary({ ...s, threads: 1 }), "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · wasm backend, 1 thread · context 40,960 · weights 1.50 GB");
  assert.equal(formatParams(4_900_000), "4.9M");
  assert.equal(formatParams(30_532_122_624), "30.53B");
  assert.equal(formatParams(12_300), "12.3K");
});

test("withLoadingLine: a status line on a terminal, erased after; nothing on a pipe", async () => {
  let tty = "";
  const r = await withLoadingLine("M", async () => 42, { isTTY: true, write: (t: string) => (tty += t) });
  assert.equal(r.value, 42);
  assert.ok(r.seconds >= 0);
  assert.equal(tty, "\r\x1b[2KLoading M… 0s\r\x1b[2K");
  let pipe = "";
  await withLoadingLine("M", async () => 1, { isTTY: false, write: (t: string) => (pipe += t) });
  assert.equal(pipe, "");
  let failed = "";
  await assert.rejects(
    withLoadingLine("M", async () => {
      throw new Error("boom");
    }, { isTTY: true, write: (t: string) => (failed += t) }),
    /boom/,
  );
  assert.ok(failed.endsWith("\r\x1b[2K"), "the line is erased on failure too");
});
