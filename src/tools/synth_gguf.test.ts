// `qwenrt synth --out X.gguf`: a reduced-layer Qwen3-0.6B-shaped GGUF, written tensor by tensor at
// each type, loads in llama.cpp and in qwenrt and both give close logits; the file has convert's
// names, metadata and type mix (MoE experts stacked), the same seed gives the same bytes, and the
// command's mistakes are named.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token } from "node-llama-cpp";
import { readGgufIndex } from "../formats/gguf/read.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { loadModel } from "../models/load.js";
import { run as runSynth } from "../cli/commands/synth.js";
import { synthesizeGguf, type SynthGgufType } from "./synth_gguf.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-synth-gguf-"));
let llama: Llama | undefined;
let unavailable = "";

before(async () => {
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } catch (e) {
    unavailable = `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
  }
});
after(async () => {
  await llama?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const ids = [9707, 11, 1879, 0, 151644, 872, 198, 3838];

/** llama.cpp's logits at every position of `ids` ([positions × vocab]). */
async function llamaLogits(path: string, vocab: number): Promise<Float32Array> {
  const m = await llama!.loadModel({ modelPath: path, useMmap: false });
  const ctx = await m.createContext({ contextSize: 64, batchSize: 64, threads: 2, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  try {
    const input = ids.map((t): ControlledEvaluateInputItem => [t as Token, { generateNext: { logits: true } }]);
    const res = await ctx.getSequence().controlledEvaluate(input);
    const out = new Float32Array(ids.length * vocab);
    ids.forEach((_, pos) => {
      const map = res[pos]?.next?.logits;
      assert.ok(map !== undefined && map.size === vocab, `llama.cpp gave ${vocab} logits at position ${pos}`);
      for (const [tok, v] of map) out[pos * vocab + tok] = v;
    });
    return out;
  } finally {
    await ctx.dispose();
    await m.dispose();
  }
}

function stats(a: Float32Array, b: Float32Array, vocab: number): { maxErr: number; std: number; agree: number } {
  let maxErr = 0, sq = 0, sum = 0, agree = 0;
  for (let i = 0; i < a.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
    sum += b[i]!;
    sq += b[i]! * b[i]!;
  }
  for (let p = 0; p < a.length / vocab; p++) {
    let ia = 0, ib = 0;
    for (let i = 1; i < vocab; i++) {
      if (a[p * vocab + i]! > a[p * vocab + ia]!) ia = i;
      if (b[p * vocab + i]! > b[p * vocab + ib]!) ib = i;
    }
    if (ia === ib) agree++;
  }
  const mean = sum / b.length;
  return { maxErr, std: Math.sqrt(sq / b.length - mean * mean), agree };
}

describe("synth straight to GGUF", () => {
  for (const type of ["q8_0", "q4_0", "q4_k_m"] as const satisfies readonly SynthGgufType[]) {
    test(`qwen3-0.6b, 2 layers, ${type}: llama.cpp and qwenrt load it and agree on the logits`, async (t) => {
      const path = join(dir, `q06-2l-${type}.gguf`);
      const r = await synthesizeGguf({ preset: "qwen3-0.6b", layers: 2, out: path, type, seed: 3, threads: 2 });
      assert.equal(r.parameters, 151936 * 1024 + 2 * (1024 * (2048 + 2 * 1024 + 2048) + 3 * 1024 * 3072 + 2 * 1024 + 2 * 128) + 1024);
      const g = readGgufIndex(path);
      const typeOf = (n: string): string | undefined => g.tensors.get(n)?.type;
      assert.equal(typeOf("token_embd.weight"), type === "q8_0" ? "q8_0" : "q6_k"); // tied: the LM head's rule
      assert.equal(typeOf("blk.0.attn_q.weight"), type === "q4_k_m" ? "q4_k" : type);
      assert.equal(typeOf("blk.1.ffn_down.weight"), type === "q4_k_m" ? "q6_k" : type); // use_more_bits: the last eighth of the layers
      assert.equal(typeOf("blk.1.attn_k_norm.weight"), "f32");
      assert.equal(g.metadata.get("general.name")?.value, "Qwen3-0.6B (random weights)");
      const backend = await createWasmBackend({ threads: 2 });
      try {
        const m = await loadModel(path, { backend });
        const ours = m.forward([{ seq: m.newSequence(), ids: Int32Array.from(ids) }], { logits: "all" })[0]!;
        assert.ok(ours.every(Number.isFinite));
        if (llama === undefined) {
          t.skip(unavailable);
          return;
        }
        const s = stats(ours, await llamaLogits(path, m.config.vocabSize), m.config.vocabSize);
        t.diagnostic(`${type}: max |Δlogit| ${s.maxErr.toExponential(2)} (logit std ${s.std.toFixed(3)}), top-1 agrees at ${s.agree}/${ids.length} positions`);
        // Both round activations to 8 bits per block before quantized matmuls, in different ways:
        // measured 4.7e-2 (q8_0), 5.2e-2 (q4_0), 6.7e-2 (q4_k_m) at a logit std of 0.64, the largest
        // of 1.2M differences (~1.4% of the std each).
        assert.ok(s.maxErr < 0.15 * s.std, `max |Δlogit| ${s.maxErr} ≥ 15% of the logit std ${s.std}`);
        assert.ok(s.agree >= ids.length - 1, `top-1 agrees at only ${s.agree}/${ids.length} positions`);
      } finally {
        backend.dispose();
      }
    });
  }

  test("MoE experts are stacked per layer, rows too narrow for blocks fall back as llama.cpp's do, and a seed fixes the bytes", async () => {
    const a = join(dir, "moe-a.gguf"), b = join(dir, "moe-b.gguf"), c = join(dir, "moe-c.gguf");
    await synthesizeGguf({ preset: "tiny-qwen3-moe", out: a, type: "q8_0", seed: 1, threads: 2, tokenizerDir: null });
    await synthesizeGguf({ preset: "tiny-qwen3-moe", out: b, type: "q8_0", seed: 1, threads: 1, tokenizerDir: null });
    await synthesizeGguf({ preset: "tiny-qwen3-moe", out: c, type: "q8_0", seed: 2, threads: 2, tokenizerDir: null });
    assert.ok(readFileSync(a).equals(readFileSync(b)), "same seed, same bytes (any thread count)");
    assert.ok(!readFileSync(a).equals(readFileSync(c)), "another seed, other bytes");
    const g = readGgufIndex(a);
    const up = g.tensors.get("blk.1.ffn_up_exps.weight")!;
    assert.deepEqual(up.shape, [8, 32, 16]);
    assert.equal(up.type, "f16"); // rows of 16 fit no 32-block: llama.cpp's converter writes F16
    assert.equal(g.tensors.get("blk.0.ffn_gate_inp.weight")!.type, "f32");
    assert.equal(g.metadata.has("tokenizer.ggml.tokens"), false);
    const m = await loadModel(a);
    assert.equal(m.config.numExperts, 8);
  });

  test("names the mistakes: an existing file, a directory-only flag, a missing or unknown --type", async () => {
    const path = join(dir, "exists.gguf");
    writeFileSync(path, "");
    await assert.rejects(synthesizeGguf({ preset: "tiny-qwen3", out: path, type: "q8_0" }), /^QwenrtError: --out: .*exists\.gguf exists/);
    await assert.rejects(runSynth(["--preset", "tiny-qwen3", "--out", join(dir, "x.gguf")]), /--type: is required with --out FILE\.gguf/);
    await assert.rejects(runSynth(["--preset", "tiny-qwen3", "--out", join(dir, "x.gguf"), "--type", "q5_0"]), /--type: must be one of q4_0, q8_0, q4_k_m, got "q5_0"/);
    await assert.rejects(runSynth(["--preset", "tiny-qwen3", "--out", join(dir, "x.gguf"), "--type", "q8_0", "--dtype", "f16"]), /--dtype: applies to a model directory/);
    await assert.rejects(runSynth(["--preset", "tiny-qwen3", "--out", join(dir, "d"), "--type", "q8_0"]), /--type: applies to --out FILE\.gguf/);
  });
});
