// llama.cpp (node-llama-cpp's prebuilt CPU binary) loads the GGUF files we write and its logits
// agree with the reference implementation's. Skips, saying why, only when the binary cannot load.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token } from "node-llama-cpp";
import type { ConvertType } from "../formats/gguf/quant_mix.js";
import { convertHfToGguf } from "./convert.js";

const fixtures = new URL("../../test/fixtures/", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "qwenrt-llamacpp-"));
let llama: Llama | undefined;
let unavailable = "";

before(async () => {
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } catch (e) {
    unavailable = `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
    console.log(`# skipping llama.cpp cross-checks: ${unavailable}`);
  }
});

after(async () => {
  await llama?.dispose();
});

/** Max |llama.cpp logit − reference logit| over the whole vocabulary at the prompt's last position. */
async function lastLogitError(model: string, type: ConvertType, prompt: string): Promise<number> {
  const dir = join(fixtures, "models", model);
  const path = join(out, `${model}-${type}.gguf`);
  await convertHfToGguf(dir, path, { type, tokenizerDir: join(fixtures, "qwen3-tokenizer"), threads: 1 });
  const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as { prompts: Record<string, { ids: number[] }> };
  const ids = ref.prompts[prompt]!.ids;
  const buf = readFileSync(join(dir, `last-logits-${prompt}.f32`));
  const expected = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const m = await llama!.loadModel({ modelPath: path, useMmap: false });
  // float32 KV cache and no flash attention: llama.cpp's default F16 cache alone costs ~3e-3
  const ctx = await m.createContext({ contextSize: 1024, batchSize: 1024, threads: 1, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  try {
    // node-llama-cpp's Token is a branded number: our ids are the same numbers.
    const input = ids.map((t, i): ControlledEvaluateInputItem => (i === ids.length - 1 ? [t as Token, { generateNext: { logits: true } }] : (t as Token)));
    const res = await ctx.getSequence().controlledEvaluate(input);
    const logits = res[ids.length - 1]?.next?.logits;
    assert.ok(logits !== undefined, "llama.cpp returned logits for the last position");
    assert.equal(logits.size, expected.length);
    let err = 0;
    for (const [tok, v] of logits) err = Math.max(err, Math.abs(v - expected[tok]!));
    return err;
  } finally {
    await ctx.dispose();
    await m.dispose();
  }
}

// Bounds: F32 is held to 1e-3 (measured ~1.5e-5). With F16 weights llama.cpp also rounds the
// activations to F16 for its matmuls (the weights themselves are exact, see convert.test.ts):
// measured 8.9e-3. Q8_0 / Q4_K_M quantize activations to Q8 too; measured 0.88 / 2.5 on logits
// with std 2.7 (hidden size 32, so every dot product has only 32 terms to average the noise).
const cases: readonly [model: string, type: ConvertType, bound: number][] = [
  ["qwen3-dense-tiny", "f32", 1e-3],
  ["qwen3-moe-tiny", "f32", 1e-3],
  ["qwen2-tiny", "f32", 1e-3],
  ["qwen3-dense-tiny", "f16", 2e-2],
  ["qwen3-dense-tiny", "q8_0", 1.5],
  ["qwen3-dense-tiny", "q4_k_m", 4],
];

for (const [model, type, bound] of cases) {
  test(`llama.cpp runs our ${type} GGUF of ${model} and matches the reference logits`, async (t) => {
    if (llama === undefined) {
      t.skip(unavailable);
      return;
    }
    const err = await lastLogitError(model, type, "chat");
    t.diagnostic(`${model} ${type}: max |logit - reference| = ${err.toExponential(3)}`);
    assert.ok(err < bound, `${model} ${type}: max error ${err} ≥ ${bound}`);
  });
}
