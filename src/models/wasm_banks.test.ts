// The fixture models on wasm memory banks of 4 MiB (weights over three banks, the 9.7 MB embedding
// split by rows across them, every layer's matrices outside the home bank, the KV cache in a bank of
// its own): logits bit-identical to one bank on every architecture, float and quantized on load, over
// a prompt and decode steps; matrices on disk are read straight into their bank.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FIXTURES } from "../../test/helpers/gguf-fixture.js";
import { readSafetensorsDirIndex } from "../formats/safetensors.js";
import type { KernelBackend, MatrixRowReader, WeightType } from "../kernels/types.js";
import { DEFAULT_BANK_BYTES, WasmBackend, createWasmBackend, type WasmDtype } from "../kernels/wasm/index.js";
import { KvSlot } from "../layers/kv_cache.js";
import { QwenrtError } from "../util/errors.js";
import { assembleModel } from "./assemble.js";
import { loadModel } from "./load.js";
import type { Model } from "./model.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { readGenerationConfig } from "./generation_config.js";
import { readJsonFile } from "../util/json.js";
import { loadWeights } from "./weights.js";

const BANK = 4 << 20;

async function wasm(opts: Parameters<typeof createWasmBackend>[0]): Promise<WasmBackend> {
  const be = await createWasmBackend(opts);
  assert.ok(be instanceof WasmBackend);
  return be;
}

/** Logits of a 40-token prompt (every row), then of three greedy decode steps. */
function run(model: Model): Float32Array[] {
  const seq = model.newSequence();
  const prompt = Int32Array.from({ length: 40 }, (_, i) => (i * 7919 + 11) % model.config.vocabSize);
  const rows = model.forward([{ seq, ids: prompt }], { logits: "all" });
  for (let i = 0; i < 3; i++) {
    const last = rows.at(-1)!;
    const next = last.subarray(last.length - model.config.vocabSize).reduce((b, v, j, a) => (v > a[b]! ? j : b), 0);
    rows.push(...model.forward([{ seq, ids: Int32Array.of(next) }]));
  }
  model.release(seq);
  return rows;
}

for (const name of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
  describe(`${name} on 4 MiB banks`, () => {
    const dir = join(FIXTURES, "models", name);
    for (const dtype of [undefined, "q8_0"] as const satisfies readonly (WasmDtype | undefined)[]) {
      test(`${dtype ?? "as stored"}: logits bit-identical to one bank; embedding split across banks; layers outside the home bank; KV cache in its own bank`, async () => {
        const one = await wasm({ threads: 2, bankBytes: DEFAULT_BANK_BYTES, ...(dtype === undefined ? {} : { dtype }) }); // also under QWENRT_WASM_BANK_BYTES
        const be = await wasm({ threads: 2, bankBytes: BANK, ...(dtype === undefined ? {} : { dtype }) });
        try {
          const want = run(await loadModel(dir, { backend: one }));
          // Loaded the way loadModel does, keeping the weights at hand to ask where they went.
          const configPath = join(dir, "config.json");
          const config = parseModelConfig(readJsonFile(configPath), configPath);
          const arch = getArchitecture(config.modelType);
          const { tensors, where } = await readSafetensorsDirIndex(dir);
          const weights = await loadWeights(tensors, arch.weightTable(config), be, where);
          const embed = be.placement(weights.matrix("model.embed_tokens.weight"));
          const qProj = be.placement(weights.matrix("model.layers.1.self_attn.q_proj.weight"));
          const model = assembleModel(arch, config, readGenerationConfig(join(dir, "generation_config.json")), weights, be);
          assert.equal(one.banks.filter((b) => b.role !== "kv").length, 1, "the one-bank backend holds the model in its home bank");
          assert.ok(embed.length >= 2, `embedding in ${embed.length} part(s)`);
          assert.equal(embed.reduce((a, p) => a + p.rows, 0), config.vocabSize);
          assert.equal(qProj.length, 1);
          assert.notEqual(qProj[0]!.bank, 0, "layer matrices outside the home bank: their inputs are staged");
          const got = run(model);
          assert.equal(got.length, want.length);
          got.forEach((g, i) => assert.deepEqual(g, want[i], `output ${i}`));

          const seq = model.newSequence();
          model.forward([{ seq, ids: Int32Array.of(1, 2, 3) }]);
          const slot = seq.slots[0];
          assert.ok(slot instanceof KvSlot);
          const kv = be.bankOf(slot.keys)!;
          assert.equal(be.bankOf(slot.values), kv);
          assert.equal(be.banks[kv]!.role, "kv");
          assert.equal(be.bankOf(model.backend.allocF32(1)), 0, "activations in the home bank");
        } finally {
          one.dispose();
          be.dispose();
        }
      });
    }
  });
}

describe("loading straight into place", () => {
  /** The wasm backend, recording where `loadMatrixFrom`'s reads land. */
  function recording(inner: WasmBackend): { backend: KernelBackend; reads: { type: WeightType; inBank: boolean; rows: number }[] } {
    const reads: { type: WeightType; inBank: boolean; rows: number }[] = [];
    const backend = Object.assign(Object.create(inner) as KernelBackend, {
      loadMatrix: () => assert.fail("a matrix on disk went through loadMatrix"),
      loadMatrixFrom: (type: WeightType, rows: number, cols: number, read: MatrixRowReader) =>
        inner.loadMatrixFrom(type, rows, cols, (first, count, into) => {
          reads.push({ type, inBank: inner.bankOf(new Float32Array(into.buffer, into.byteOffset, 0)) !== undefined, rows: count });
          return read(first, count, into);
        }),
    });
    return { backend, reads };
  }

  test("bf16 matrices are read into their bank; matrices quantized on load arrive a slab at a time through host memory", async () => {
    const dir = join(FIXTURES, "models", "qwen3-dense-tiny");
    for (const dtype of [undefined, "q8_0"] as const) {
      const be = await wasm({ threads: 1, bankBytes: BANK, ...(dtype === undefined ? {} : { dtype }) });
      try {
        const { backend, reads } = recording(be);
        await loadModel(dir, { backend });
        assert.ok(reads.length > 10);
        if (dtype === undefined) assert.ok(reads.every((r) => r.inBank), "every read lands in a bank");
        else assert.ok(reads.some((r) => !r.inBank), "converted matrices go through the slab");
      } finally {
        be.dispose();
      }
    }
  });

  test("a file that ends early fails naming the file and the tensor", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "qwenrt-banks-"));
    const src = join(FIXTURES, "models", "qwen3-dense-tiny");
    mkdirSync(join(tmp, "m"));
    for (const f of ["config.json", "generation_config.json", "model.safetensors"]) copyFileSync(join(src, f), join(tmp, "m", f));
    const file = join(tmp, "m", "model.safetensors");
    const index = await readSafetensorsDirIndex(join(tmp, "m"));
    const last = [...index.tensors.values()].reduce((a, b) => (b.begin > a.begin ? b : a));
    const config = parseModelConfig(readJsonFile(join(src, "config.json")), "config.json");
    truncateSync(file, statSync(file).size - 1);
    const be = await wasm({ threads: 1, bankBytes: BANK });
    try {
      await assert.rejects(loadWeights(index.tensors, getArchitecture(config.modelType).weightTable(config), be, index.where), (e: unknown) => {
        assert.ok(e instanceof QwenrtError && e.message.includes(file) && e.message.includes("truncated") && e.message.includes(`"${last.name}"`), String(e));
        return true;
      });
    } finally {
      be.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
