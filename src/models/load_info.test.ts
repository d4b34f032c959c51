// What loading reports besides the model: `load` progress events (monotonic, ending at the tensor
// bytes; weights are read tensor by tensor, so there is no separate `read` phase) for directories
// and GGUF files, and the weight memory the backend really holds.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FIXTURES, fixtureGguf } from "../../test/helpers/gguf-fixture.js";
import { readGguf } from "../formats/gguf/read.js";
import { readSafetensorsDir } from "../formats/safetensors.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { loadModel } from "./load.js";
import { mainTypes, weightMemoryOf, type LoadProgressEvent } from "./load_info.js";
import { getArchitecture } from "./registry.js";

const DIR = join(FIXTURES, "models", "qwen3-dense-tiny");

/** Check one phase's events: at least two, `done` never decreasing, a fixed total, ending at it. */
function checkPhase(events: readonly LoadProgressEvent[], phase: "read" | "load", total: number): void {
  const ev = events.filter((e) => e.phase === phase);
  assert.ok(ev.length >= 2, `${phase}: ${ev.length} events`);
  assert.ok(ev.every((e) => e.total === total), `${phase}: total is always ${total}`);
  for (let i = 1; i < ev.length; i++) assert.ok(ev[i]!.done >= ev[i - 1]!.done, `${phase}: event ${i} goes back`);
  assert.equal(ev[0]!.done, 0);
  assert.equal(ev.at(-1)!.done, total);
}

test("loadModel on a directory: load events only, to the tensor bytes", async () => {
  const events: LoadProgressEvent[] = [];
  await loadModel(DIR, { onProgress: (e) => events.push(e) });
  let tensorBytes = 0;
  for (const t of readSafetensorsDir(DIR).tensors.values()) tensorBytes += t.bytes.byteLength;
  assert.ok(events.every((e) => e.phase === "load"), "no separate read phase");
  checkPhase(events, "load", tensorBytes);
});

test("loadModel on a .gguf: load events only, to the tensor bytes (less than the file)", async () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  const events: LoadProgressEvent[] = [];
  const model = await loadModel(path, { onProgress: (e) => events.push(e) });
  assert.ok(events.every((e) => e.phase === "load"), "no separate read phase");
  let tensorBytes = 0;
  for (const t of readGguf(path).tensors.values()) tensorBytes += t.bytes.byteLength;
  checkPhase(events, "load", tensorBytes);
  assert.ok(tensorBytes > 0 && tensorBytes < statSync(path).size);
  // Stored as q8_0 (the embedding too, in this mix), held as float32 by the reference backend.
  const mem = weightMemoryOf(model)!;
  assert.equal(mainTypes(mem.held), "f32");
  assert.match(mainTypes(mem.stored), /^q8_0/);
});

test("weight memory: the reference backend holds float32, --dtype q8_0 on wasm holds q8_0", async () => {
  const ref = await loadModel(DIR);
  const c = ref.config;
  const table = getArchitecture(c.modelType).weightTable(c);
  const values = table.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const refMem = weightMemoryOf(ref)!;
  assert.equal(refMem.bytes, values * 4);
  assert.deepEqual([...refMem.stored.keys()], ["bf16"]);
  assert.deepEqual([...refMem.held.keys()], ["f32"]);

  const backend = await createWasmBackend({ threads: 1, dtype: "q8_0" });
  try {
    const q8 = weightMemoryOf(await loadModel(DIR, { backend }))!;
    const matrixValues = table.filter((s) => s.kind === "matrix").reduce((n, s) => n + s.shape[0]! * s.shape[1]!, 0);
    const vectorBytes = (values - matrixValues) * 4;
    // q8_0: 34 bytes per 32 values.
    assert.equal(q8.held.get("q8_0"), (matrixValues / 32) * 34);
    assert.equal(q8.bytes, (matrixValues / 32) * 34 + vectorBytes);
    assert.equal(mainTypes(q8.stored), "bf16");
  } finally {
    backend.dispose();
  }
});

test("mainTypes: the types making up the bytes, largest first, small ones left out", () => {
  assert.equal(mainTypes(new Map([["q8_0", 10]])), "q8_0");
  assert.equal(mainTypes(new Map([["q6_k", 300], ["q4_k", 900], ["f32", 1]])), "q4_k+q6_k");
});
