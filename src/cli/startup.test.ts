import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { loadModel } from "../models/load.js";
import type { LoadProgressEvent } from "../models/load_info.js";
import { completeModelDir } from "./chat/test-helpers.js";
import { writeTinyHybrid } from "../../test/helpers/hybrid-checkpoints.js";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { convertHfToGguf } from "../tools/convert.js";
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
  const s = { name: "Qwen3-0.6B", modelType: "qwen3", layers: 28, params: 596_049_920, backend: "wasm", threads: 8, contextLength: 40960, weightBytes: 1_503_300_328, kvBytesPerToken: 229_376, kvType: "f32" } as const;
  assert.equal(
    formatModelSummary({ ...s, dtype: "bf16" }),
    "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · bf16 · wasm backend, 8 threads · context 40,960 · weights 1.50 GB · KV 229 MB/1k tokens (f32)",
  );
  assert.equal(
    formatModelSummary({ ...s, threads: 1 }),
    "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · wasm backend, 1 thread · context 40,960 · weights 1.50 GB · KV 229 MB/1k tokens (f32)",
  );
  assert.equal(formatParams(4_900_000), "4.9M");
  assert.equal(formatParams(30_532_122_624), "30.53B");
  assert.equal(formatParams(12_300), "12.3K");
});

test("formatModelSummary: a webgpu backend shows its GPU instead of threads; auto says what it chose and why", () => {
  const s = { name: "Qwen3-0.6B", modelType: "qwen3", layers: 28, params: 596_049_920, threads: 1, contextLength: 40960, weightBytes: 1_503_300_328, kvBytesPerToken: 114_688, kvType: "f16" } as const;
  assert.equal(
    formatModelSummary({ ...s, backend: "webgpu", backendDetail: "NVIDIA H100 80GB HBM3" }),
    "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · webgpu backend (NVIDIA H100 80GB HBM3) · context 40,960 · weights 1.50 GB · KV 115 MB/1k tokens (f16)",
  );
  assert.match(
    formatModelSummary({ ...s, backend: "wasm", threads: 8, backendDetail: "auto: webgpu: no WebGPU adapter found (no GPU, or no driver WebGPU can use)" }),
    / · wasm backend, 8 threads \(auto: webgpu: no WebGPU adapter found \(no GPU, or no driver WebGPU can use\)\) · context /,
  );
});

test("formatModelSummary: weights as held in memory, with the conversion when there was one", () => {
  const s = { name: "Qwen3-0.6B", modelType: "qwen3", layers: 28, params: 596_049_920, dtype: "bf16", backend: "wasm", threads: 8, contextLength: 40960, weightBytes: 1_503_300_328, kvBytesPerToken: 114_688, kvType: "f16" } as const;
  assert.equal(
    formatModelSummary({ ...s, weightMemory: { bytes: 633_000_000, stored: "bf16", held: "q8_0" } }),
    "Qwen3-0.6B · qwen3, 28 layers, 0.60B params · wasm backend, 8 threads · context 40,960 · weights 633 MB (bf16 → q8_0) · KV 115 MB/1k tokens (f16)",
  );
  assert.match(formatModelSummary({ ...s, weightMemory: { bytes: 1_192_000_000, stored: "bf16", held: "bf16" } }), / · weights 1\.19 GB \(bf16\) · KV /);
  // Weights from the quantized-weights cache: the file holds q4_k already; the line names the file.
  const cached = { ...s, weightMemory: { bytes: 400_000_000, stored: "q4_k", held: "q4_k" } } as const;
  const use = { path: "/c/quantized/Qwen3-0.6B-q4_k-0123456789abcdef.gguf", dtype: "q4_k", created: false, seconds: 0 } as const;
  assert.match(formatModelSummary({ ...cached, quantCache: use }), / · weights 400 MB \(bf16 → q4_k, from the quantized cache \/c\/quantized\/Qwen3-0\.6B-q4_k-0123456789abcdef\.gguf\) · KV /);
  assert.match(formatModelSummary({ ...cached, quantCache: { ...use, created: true, seconds: 7.4 } }), / · weights 400 MB \(bf16 → q4_k, quantized once in 7s into \/c\/quantized\/Qwen3-0\.6B-q4_k-0123456789abcdef\.gguf\) · KV /);
});

test("summarizeModel: memory the loader measured and KV bytes per token", async () => {
  const dir = completeModelDir();
  const model = await loadModel(dir);
  const s = summarizeModel(dir, model);
  const c = model.config;
  assert.equal(s.kvBytesPerToken, c.numLayers * 2 * c.numKvHeads * c.headDim * 4); // ref: float32 cache
  assert.equal(s.kvType, "f32");
  assert.deepEqual(s.weightMemory, { bytes: s.params * 4, stored: "bf16", held: "f32" }); // ref widens to float32
  assert.match(formatModelSummary(s), / · weights [\d.]+ MB \(bf16 → f32\) · KV [\d.]+ kB\/1k tokens \(f32\)$/);
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

/** A stream that records what is written, as a terminal or a pipe. */
function recorder(isTTY: boolean): { out: string[]; stream: { isTTY: boolean; columns: number; write(t: string): boolean } } {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 100, write: (t: string) => out.push(t) > 0 } };
}

/** A fake load reporting `read` then `load` progress, advancing the fake clock 200 ms per event. */
async function fakeLoad(onProgress: (e: LoadProgressEvent) => void, clock: { t: number }): Promise<string> {
  for (const [phase, total] of [["read", 1_200_000_000], ["load", 1_100_000_000]] as const) {
    for (let done = 0; done <= total; done += total / 4) {
      clock.t += 200;
      onProgress({ phase, done, total });
    }
  }
  return "model";
}

test("withLoadingLine on a terminal: a bar per phase redrawn with \\r, erased at the end", async () => {
  const clock = { t: 0 };
  const { out, stream } = recorder(true);
  const r = await withLoadingLine("Qwen3-0.6B", (p) => fakeLoad(p, clock), stream, { now: () => clock.t });
  assert.equal(r.value, "model");
  const text = out.join("");
  const redraws = out.filter((t) => t.startsWith("\r\x1b[2K") && t.includes("▕"));
  assert.ok(redraws.length >= 8, `${redraws.length} redraws`);
  assert.ok(text.includes("\r\x1b[2KLoading Qwen3-0.6B ▕"), "the read bar");
  assert.match(text, /\r\x1b\[2KLoading Qwen3-0\.6B ▕█{15} {15}▏  50% 600 MB\/1\.20 GB /);
  assert.match(text, /\r\x1b\[2KLoading Qwen3-0\.6B ▕█{22}▌ {7}▏  75% 900 MB\/1\.20 GB 1\.50 GB\/s ETA 0s/);
  assert.ok(text.includes("\r\x1b[2KPreparing Qwen3-0.6B ▕"), "the load bar");
  assert.match(text, /Preparing Qwen3-0\.6B ▕█+▏ 100% 1\.10 GB\/1\.10 GB/);
  assert.ok(text.endsWith("\r\x1b[2K"), "the line is erased at the end");
  assert.ok(!text.includes("\n"), "nothing is left behind");
});

test("withLoadingLine on a pipe: no escape codes, no output at all", async () => {
  const clock = { t: 0 };
  const { out, stream } = recorder(false);
  const r = await withLoadingLine("Qwen3-0.6B", (p) => fakeLoad(p, clock), stream, { now: () => clock.t });
  assert.equal(r.value, "model");
  assert.deepEqual(out, []);
});

test("withLoadingLine with a real model load on a terminal draws the bar from the loader's events", async () => {
  const dir = completeModelDir();
  const { out, stream } = recorder(true);
  const { value: model } = await withLoadingLine("tiny", (onProgress) => loadModel(dir, { onProgress }), stream);
  assert.equal(model.config.numLayers, 2);
  const text = out.join("");
  // Weights are read tensor by tensor: one "Loading" bar over the tensor bytes, no "Preparing" bar.
  assert.ok(text.includes("\r\x1b[2KLoading tiny ▕"), "a load bar was drawn");
  assert.ok(!text.includes("Preparing"), "no second phase");
  assert.ok(text.endsWith("\r\x1b[2K"));
});

test("summarizeModel of a Qwen3.5 checkpoint says the vision tower and MTP heads are not run", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-startup-q35-"));
  writeTinyHybrid(dir, "qwen3_5", { vocab: 151936 }); // the Qwen3 tokenizer's ids fit (the GGUF below)
  const s = summarizeModel(dir, await loadModel(dir));
  const line = formatModelSummary(s);
  assert.match(line, /^qwenrt-startup-q35-\w+ · qwen3_5, 4 layers, /);
  assert.ok(line.endsWith(" · MTP heads not loaded (multi-token prediction is not used yet) · text only: image input is not supported yet (vision tower not loaded)"), line);
  // The same from a GGUF made from the directory (the quantized-weights cache loads so), and from
  // a Qwen3.5 GGUF alone (its vision tower would be a separate mmproj file).
  const gguf = join(dir, "q35.gguf");
  await convertHfToGguf(dir, gguf, { type: "f32", tokenizerDir: QWEN3_TOKENIZER_DIR });
  const viaCache = formatModelSummary(summarizeModel(dir, await loadModel(dir, { weightsFile: gguf })));
  assert.ok(viaCache.endsWith(" · text only: image input is not supported yet (vision tower not loaded)"), viaCache);
  const alone = formatModelSummary(summarizeModel(gguf, await loadModel(gguf)));
  assert.ok(alone.endsWith(" · text only: image input is not supported yet (mmproj vision files are not read)"), alone);
  rmSync(dir, { recursive: true, force: true });
});
