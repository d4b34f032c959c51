// Streamed loading (headers first, then each tensor read from disk into one reused scratch buffer)
// gives bit-identical models to loading from whole-file buffers, for safetensors directories
// (sharded too) and GGUF files (split too), on the reference and the wasm backend; a file that
// shrinks under the loader fails naming the file and the tensor.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { FIXTURES, fixtureGguf } from "../../test/helpers/gguf-fixture.js";
import { synthesizeCheckpoint } from "../../test/helpers/random-checkpoint.js";
import { readGguf } from "../formats/gguf/read.js";
import { writeGguf } from "../formats/gguf/write.js";
import { readSafetensorsDir, readSafetensorsDirIndex, writeSafetensors } from "../formats/safetensors.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { HostMatrix, KernelBackend } from "../kernels/types.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { QwenrtError } from "../util/errors.js";
import { assembleModel } from "./assemble.js";
import { loadModel } from "./load.js";
import { loadGgufModel } from "./load_gguf.js";
import type { Model } from "./model.js";
import { getArchitecture } from "./registry.js";
import { loadWeights } from "./weights.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-stream-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const IDS = Int32Array.of(1, 5, 9, 2, 7, 3);

/** Logits of every position of `IDS`. */
function logits(m: Model): Float32Array {
  const [out] = m.forward([{ seq: m.newSequence(), ids: IDS }], { logits: "all" });
  return out!;
}

/** The "before" path: a directory's tensors read into whole-file buffers, then loaded. */
async function loadInMemory(dir: string, backend: KernelBackend): Promise<Model> {
  const streamed = await loadModel(dir); // config and generation exactly as the loader parses them
  const arch = getArchitecture(streamed.config.modelType);
  const { tensors } = readSafetensorsDir(dir);
  const weights = await loadWeights(tensors, arch.weightTable(streamed.config), backend, dir);
  return assembleModel(arch, streamed.config, streamed.generation, weights, backend);
}

async function rejectsNaming(p: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof QwenrtError, String(e));
    for (const x of parts) assert.ok(e.message.includes(x), `"${e.message}" should name ${x}`);
    return true;
  });
}

/** A backend that records every `HostMatrix` it is handed (the buffer they view, their sizes). */
function recording(inner: KernelBackend): { backend: KernelBackend; seen: HostMatrix[] } {
  const seen: HostMatrix[] = [];
  const backend = Object.assign(Object.create(inner) as KernelBackend, {
    loadMatrix: (m: HostMatrix) => {
      seen.push(m);
      return inner.loadMatrix(m);
    },
  });
  return { backend, seen };
}

describe("streamed loading is bit-identical to whole-file loading", () => {
  for (const name of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
    test(`${name}: directory and GGUF (ref backend)`, async () => {
      const dir = join(FIXTURES, "models", name);
      assert.deepEqual(logits(await loadModel(dir)), logits(await loadInMemory(dir, createRefBackend())));
      const path = fixtureGguf(name, "q8_0");
      assert.deepEqual(logits(await loadModel(path)), logits(await loadGgufModel(readGguf(path))));
    });
  }

  test("qwen3-dense-tiny on wasm with --dtype q8_0 and without (quantize-on-load from the scratch)", async () => {
    const dir = join(FIXTURES, "models", "qwen3-dense-tiny");
    for (const dtype of ["q8_0", undefined] as const) {
      const a = await createWasmBackend({ threads: 1, dtype });
      const b = await createWasmBackend({ threads: 1, dtype });
      try {
        assert.deepEqual(logits(await loadModel(dir, { backend: a })), logits(await loadInMemory(dir, b)), `dtype ${dtype}`);
      } finally {
        a.dispose();
        b.dispose();
      }
    }
  });

  test("a sharded directory and a split GGUF load the same model as the single file", async () => {
    const src = join(FIXTURES, "models", "qwen3-dense-tiny");
    const dir = join(tmp, "sharded");
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const f of ["config.json", "generation_config.json"]) copyFileSync(join(src, f), join(dir, f));
    const all = [...readSafetensorsDir(src).tensors.values()];
    const half = Math.ceil(all.length / 2);
    const weightMap: Record<string, string> = {};
    [all.slice(0, half), all.slice(half)].forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), new Map(part.map((t) => [t.name, t] as const)));
      for (const t of part) weightMap[t.name] = file;
    });
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    assert.deepEqual(logits(await loadModel(dir)), logits(await loadModel(src)));

    const g = readGguf(fixtureGguf("qwen3-dense-tiny", "q8_0"));
    const tensors = [...g.tensors.values()];
    const cut = Math.ceil(tensors.length / 2);
    [tensors.slice(0, cut), tensors.slice(cut)].forEach((part, i) => {
      const metadata = new Map(i === 0 ? g.metadata : []);
      metadata.set("split.no", { type: "u16", value: i });
      metadata.set("split.count", { type: "u16", value: 2 });
      metadata.set("split.tensors.count", { type: "i32", value: tensors.length });
      writeGguf(join(tmp, `split-0000${i + 1}-of-00002.gguf`), { metadata, tensors: part });
    });
    assert.deepEqual(logits(await loadModel(join(tmp, "split-00002-of-00002.gguf"))), logits(await loadGgufModel(g)));

    // A truncated shard or part fails naming that file and a tensor in it.
    const shard = join(dir, "model-00002-of-00002.safetensors");
    truncateSync(shard, statSync(shard).size - 1);
    await rejectsNaming(loadModel(dir), shard, "truncated", `"${all.at(-1)!.name}"`);
    const part = join(tmp, "split-00002-of-00002.gguf");
    truncateSync(part, statSync(part).size - 1);
    await rejectsNaming(loadModel(join(tmp, "split-00001-of-00002.gguf")), part, `"${tensors.at(-1)!.name}"`, "beyond the end of the file");
  });
});

test("streamed: every matrix reaches the backend through one scratch buffer the size of the largest tensor", async () => {
  const dir = join(tmp, "synth");
  mkdirSync(dir, { recursive: true });
  synthesizeCheckpoint(dir, {
    model_type: "qwen3", vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 3,
    num_attention_heads: 2, num_key_value_heads: 1, head_dim: 8, rms_norm_eps: 1e-6, rope_theta: 10000,
    max_position_embeddings: 128, tie_word_embeddings: false,
  }, { seed: 5 });
  const { backend, seen } = recording(createRefBackend());
  await loadModel(dir, { backend });
  const { tensors } = readSafetensorsDir(dir);
  const largest = Math.max(...[...tensors.values()].map((t) => t.bytes.byteLength));
  assert.ok(seen.length > 4, `${seen.length} matrices`);
  const buffers = new Set(seen.map((m) => m.bytes.buffer));
  assert.equal(buffers.size, 1, "one scratch buffer");
  assert.equal([...buffers][0]!.byteLength, largest, "sized to the largest tensor, not the file");
  const fileBytes = statSync(join(dir, "model.safetensors")).size;
  assert.ok(largest < fileBytes / 2, `largest tensor ${largest} of a ${fileBytes}-byte file`);
  assert.ok(seen.every((m) => m.bytes.byteOffset === 0), "views from the start of the scratch");
});

test("a file that shrinks after its header was read fails naming the file and the tensor", async () => {
  const src = join(FIXTURES, "models", "qwen3-dense-tiny");
  const dir = join(tmp, "shrinks");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) copyFileSync(join(src, f), join(dir, f));
  const file = join(dir, "model.safetensors");
  const index = await readSafetensorsDirIndex(dir);
  const model = await loadModel(dir);
  const table = getArchitecture(model.config.modelType).weightTable(model.config);
  const last = [...index.tensors.values()].reduce((a, b) => (b.begin > a.begin ? b : a));
  truncateSync(file, last.begin + 1);
  await rejectsNaming(loadWeights(index.tensors, table, createRefBackend(), index.where), file, "truncated", `"${last.name}"`);
  // Loaded afresh, the header check catches it before any data is read.
  await rejectsNaming(loadModel(dir), file, "truncated", `"${last.name}"`);
});
