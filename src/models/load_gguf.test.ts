// A `.gguf` file as a model: the F32 GGUF gives the HF directory's logits, Q8_0 stays close (its
// matrices reach the backend in their stored type), and broken files fail naming the file and the
// GGUF key or tensor.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { gv } from "../formats/gguf/arch.js";
import { readGguf } from "../formats/gguf/read.js";
import type { GgufValue } from "../formats/gguf/types.js";
import { writeGguf } from "../formats/gguf/write.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { KernelBackend } from "../kernels/types.js";
import { FIXTURES, fixtureGguf, ggufTempDir } from "../../test/helpers/gguf-fixture.js";
import { QwenrtError } from "../util/errors.js";
import { loadModel } from "./load.js";
import { ggufKeyOfConfigField, loadGgufModel } from "./load_gguf.js";
import type { Model } from "./model.js";

const MODELS = ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"] as const;
type Prompts = Record<string, { ids: number[]; topk_ids: number[][] }>;
const prompts = (model: string): Prompts =>
  (JSON.parse(readFileSync(join(FIXTURES, "models", model, "reference.json"), "utf8")) as { prompts: Prompts }).prompts;

/** Logits of every position of `ids`, chunked. */
function allLogits(model: Model, ids: readonly number[]): Float32Array[] {
  const vocab = model.config.vocabSize;
  const seq = model.newSequence(ids.length);
  const rows: Float32Array[] = [];
  for (let from = 0; from < ids.length; from += 150) {
    const part = Int32Array.from(ids.slice(from, from + 150));
    const [logits] = model.forward([{ seq, ids: part }], { logits: "all" });
    for (let r = 0; r < part.length; r++) rows.push(logits!.slice(r * vocab, (r + 1) * vocab));
  }
  return rows;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe("a GGUF converted from each fixture model", () => {
  for (const name of MODELS) {
    test(`${name}: F32 GGUF logits equal the HF directory's within 1e-6; Q8_0 agrees on top-1`, async () => {
      const ps = prompts(name);
      const dir = await loadModel(join(FIXTURES, "models", name));
      const f32 = await loadModel(fixtureGguf(name, "f32"));
      const seen: string[] = [];
      const ref = createRefBackend();
      const recording: KernelBackend = Object.assign(Object.create(ref) as KernelBackend, {
        loadMatrix: (m: Parameters<KernelBackend["loadMatrix"]>[0]) => {
          seen.push(m.type);
          return ref.loadMatrix(m);
        },
      });
      const q8 = await loadGgufModel(fixtureGguf(name, "q8_0"), { backend: recording });
      assert.ok(seen.includes("q8_0"), `matrices reach the backend quantized: ${seen.join(",")}`);
      // same config except what GGUF stores as f32 (rms_norm_eps) and the bos id it always carries
      assert.deepEqual({ ...f32.config, rmsNormEps: 0, bosTokenId: 0 }, { ...dir.config, rmsNormEps: 0, bosTokenId: 0 });
      assert.equal(f32.config.rmsNormEps, Math.fround(dir.config.rmsNormEps));

      // Full logits, every position, of the chat and text prompts: F32 GGUF vs directory, Q8_0 vs F32.
      let worst = 0;
      let sqErr = 0;
      let sqDev = 0;
      for (const pname of ["chat", "text"]) {
        const ids = ps[pname]!.ids;
        const [a, b, c] = [dir, f32, q8].map((m) => allLogits(m, ids));
        a!.forEach((row, pos) => {
          let mean = 0;
          for (let i = 0; i < row.length; i++) mean += row[i]! / row.length;
          for (let i = 0; i < row.length; i++) {
            worst = Math.max(worst, Math.abs(row[i]! - b![pos]![i]!));
            sqErr += (b![pos]![i]! - c![pos]![i]!) ** 2;
            sqDev += (row[i]! - mean) ** 2;
          }
        });
      }
      assert.ok(worst <= 1e-6, `max |Δlogit| F32 GGUF vs directory ${worst}`);
      const relRms = Math.sqrt(sqErr / sqDev);

      // Top-1 of Q8_0 vs the float32 reference at every position of every prompt in reference.json.
      let agree = 0;
      let total = 0;
      for (const p of Object.values(ps)) {
        allLogits(q8, p.ids).forEach((row, pos) => {
          total++;
          if (argmax(row) === p.topk_ids[pos]![0]) agree++;
        });
      }
      const rate = agree / total;
      console.log(`${name}: F32 GGUF max |Δlogit| ${worst.toExponential(2)}; Q8_0 top-1 agreement ${agree}/${total} (${(100 * rate).toFixed(1)}%), relative RMS logit error ${relRms.toFixed(4)}`);
      assert.ok(rate >= 0.9, `Q8_0 top-1 agreement ${rate}`);
      assert.ok(relRms > 0 && relRms < 0.05, `Q8_0 relative RMS logit error ${relRms}`);
    });
  }

  test("generation defaults: eos from tokenizer.ggml.eos_token_id, bos and pad ids", async () => {
    const m = await loadModel(fixtureGguf("qwen3-dense-tiny", "f32"));
    assert.deepEqual(m.generation.eosTokenIds, [151645]);
    assert.equal(m.generation.bosTokenId, 151643);
    assert.equal(m.generation.padTokenId, 151643);
    assert.equal(m.generation.temperature, undefined);
  });
});

/** Write a copy of the dense F32 GGUF with `edit` applied; returns its path. */
function editedGguf(file: string, edit: (md: Map<string, GgufValue>, tensors: Map<string, ReturnType<typeof readGguf>["tensors"] extends ReadonlyMap<string, infer T> ? T : never>) => void): string {
  const g = readGguf(fixtureGguf("qwen3-dense-tiny", "f32"));
  const md = new Map(g.metadata);
  const tensors = new Map(g.tensors);
  edit(md, tensors);
  const path = join(ggufTempDir(), file);
  writeGguf(path, { metadata: md, tensors: [...tensors.values()] });
  return path;
}

async function rejectsNaming(path: string, ...parts: string[]): Promise<void> {
  await assert.rejects(loadModel(path), (e: unknown) => {
    assert.ok(e instanceof QwenrtError, String(e));
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should name ${p}`);
    return true;
  });
}

describe("broken GGUF files fail naming the file and what is wrong", () => {
  test("truncated", async () => {
    const bytes = readFileSync(fixtureGguf("qwen3-dense-tiny", "f32"));
    const path = join(ggufTempDir(), "truncated.gguf");
    writeFileSync(path, bytes.subarray(0, bytes.length - 1000));
    await rejectsNaming(path, path, "beyond the end of the file");
    writeFileSync(path, bytes.subarray(0, 100));
    await rejectsNaming(path, path, "truncated");
  });

  test("unknown architecture", async () => {
    const path = editedGguf("llama.gguf", (md) => md.set("general.architecture", gv.str("llama")));
    await rejectsNaming(path, path, '"general.architecture" "llama" is not supported', "qwen3");
  });

  test("missing, unused and misshapen tensors are named by their GGUF names", async () => {
    const missing = editedGguf("missing.gguf", (_, t) => t.delete("blk.1.attn_k_norm.weight"));
    await rejectsNaming(missing, missing, "missing tensor: blk.1.attn_k_norm.weight");
    const g = readGguf(fixtureGguf("qwen3-moe-tiny", "f32"));
    const noExperts = join(ggufTempDir(), "no-experts.gguf");
    writeGguf(noExperts, { metadata: g.metadata, tensors: [...g.tensors.values()].filter((t) => t.name !== "blk.1.ffn_up_exps.weight") });
    await rejectsNaming(noExperts, `${noExperts}: missing tensor: blk.1.ffn_up_exps.weight`);
    const fewer = join(ggufTempDir(), "fewer-experts.gguf");
    writeGguf(fewer, {
      metadata: g.metadata,
      tensors: [...g.tensors.values()].map((t) => {
        if (t.name !== "blk.0.ffn_down_exps.weight") return t;
        const shape = [t.shape[0]! - 1, ...t.shape.slice(1)];
        return { ...t, shape, bytes: t.bytes.subarray(0, (t.bytes.length / t.shape[0]!) * shape[0]!) };
      }),
    });
    await rejectsNaming(fewer, `${fewer}: missing tensor: blk.0.ffn_down_exps.weight (expert 7)`);
    const extra = editedGguf("extra.gguf", (_, t) => {
      const bias = t.get("blk.0.attn_norm.weight")!;
      t.set("blk.0.attn_output.bias", { ...bias, name: "blk.0.attn_output.bias" });
    });
    await rejectsNaming(extra, extra, "unused tensor the model does not declare: blk.0.attn_output.bias");
    const shape = editedGguf("shape.gguf", (_, t) => {
      const k = t.get("blk.0.attn_k_norm.weight")!;
      const half = k.bytes.subarray(0, k.bytes.length / 2);
      t.set(k.name, { ...k, shape: [k.shape[0]! / 2], dims: [k.shape[0]! / 2], bytes: half });
    });
    await rejectsNaming(shape, shape, 'tensor "blk.0.attn_k_norm.weight" has ggml dims [8], expected [16]');
  });

  test("config errors name the GGUF key, not the config.json field", async () => {
    const heads = editedGguf("heads.gguf", (md) => md.set("qwen3.attention.head_count", gv.u32(3)));
    await rejectsNaming(heads, `${heads}: qwen3.attention.head_count: (3) must be a multiple of "qwen3.attention.head_count_kv" (2)`);
    const eps = editedGguf("eps.gguf", (md) => md.set("qwen3.attention.layer_norm_rms_epsilon", gv.f32(-1)));
    await rejectsNaming(eps, `${eps}: qwen3.attention.layer_norm_rms_epsilon: must be a positive number, got -1`);
    const missing = editedGguf("nolayers.gguf", (md) => md.delete("qwen3.block_count"));
    await rejectsNaming(missing, missing, '"qwen3.block_count"', "missing");
    const topK = editedGguf("topk.gguf", (md) => md.set("general.sampling.top_p", gv.f32(2)));
    await rejectsNaming(topK, `${topK}: general.sampling.top_p: must be a number in [0, 1], got 2`);
    assert.equal(ggufKeyOfConfigField("qwen3moe", "num_experts_per_tok"), "qwen3moe.expert_used_count");
    assert.equal(ggufKeyOfConfigField("qwen3", "rope_scaling.factor"), "qwen3.rope.scaling.factor");
  });

  test("llama.cpp's general.sampling.* keys become generation defaults", async () => {
    const path = editedGguf("sampling.gguf", (md) => {
      md.set("general.sampling.temp", gv.f32(0.5));
      md.set("general.sampling.top_k", gv.i32(20));
    });
    const m = await loadModel(path);
    assert.equal(m.generation.temperature, 0.5);
    assert.equal(m.generation.topK, 20);
  });
});
