// GGUF files written by llama.cpp itself (`llama_model_quantize` on our F32 GGUF, see
// test/fixtures/llama-gguf/README.md): qwenrt parses and loads them, its quantizers reproduce
// llama.cpp's bytes, its Q4_K_M mix picks llama.cpp's types, and its logits on those files agree
// with llama.cpp's own. The llama.cpp run skips, saying why, only when its binary cannot load.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token } from "node-llama-cpp";
import { FIXTURES, QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { LLAMA_GGUF_TYPES, llamaGguf } from "../../test/helpers/llama-gguf-fixture.js";
import { machineInfo } from "../bench/machine.js";
import { ggufToHfConfig } from "../formats/gguf/arch.js";
import { readGguf } from "../formats/gguf/read.js";
import { llamaFileTypes } from "../formats/gguf/types.js";
import type { GgufContents } from "../formats/gguf/write.js";
import { dequantizeAll, getFormat, type WeightType } from "../formats/quant/index.js";
import { createRefBackend } from "../kernels/ref/index.js";
import { HostMoe } from "../kernels/host_moe.js";
import type { HostKernelBackend, HostMatrix, KernelBackend, Matrix, MoeWeights, Tensor } from "../kernels/types.js";
import { loadModel } from "../models/load.js";
import { parseModelConfig } from "../models/registry.js";
import { tokenizerFromGguf } from "../tokenizer/gguf.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { readJsonFile } from "../util/json.js";
import { buildGgufFromHf } from "./convert.js";

const MODELS = ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"] as const;
const f32Cache = new Map<string, GgufContents>();
/** Our F32 conversion of a fixture model: the exact float32 source llama.cpp quantized. */
function ourF32(model: string): GgufContents {
  let c = f32Cache.get(model);
  if (c === undefined) {
    c = buildGgufFromHf(join(FIXTURES, "models", model), { type: "f32", tokenizerDir: QWEN3_TOKENIZER_DIR });
    f32Cache.set(model, c);
  }
  return c;
}
const chatIds = (model: string): number[] =>
  (JSON.parse(readFileSync(join(FIXTURES, "models", model, "reference.json"), "utf8")) as { prompts: { chat: { ids: number[] } } }).prompts.chat.ids;

for (const model of MODELS) {
  for (const type of LLAMA_GGUF_TYPES) {
    test(`${model} ${type} written by llama.cpp: parses with our metadata and tensors, and loads as a model`, async () => {
      const g = readGguf(llamaGguf(model, type));
      const ours = ourF32(model);
      assert.equal(g.version, 3);
      assert.equal(g.alignment, 32);
      assert.equal(g.metadata.get("general.file_type")?.value, llamaFileTypes[type]);
      assert.equal(g.metadata.get("general.quantization_version")?.value, 2);
      // llama.cpp copies every key we wrote (tokenizer arrays included) and changes only the file type
      for (const [key, v] of ours.metadata) {
        if (key === "general.file_type") continue;
        assert.deepEqual(g.metadata.get(key), v, key);
      }
      assert.deepEqual([...g.tensors.keys()].sort(), ours.tensors.map((t) => t.name).sort());
      for (const t of ours.tensors) assert.deepEqual(g.tensors.get(t.name)!.shape, t.shape, t.name);
      const m = await loadModel(g.path);
      const want = parseModelConfig(readJsonFile(join(FIXTURES, "models", model, "config.json")), "config.json");
      assert.deepEqual({ ...m.config, rmsNormEps: 0, bosTokenId: 0 }, { ...want, rmsNormEps: 0, bosTokenId: 0 });
      assert.deepEqual(parseModelConfig(ggufToHfConfig(g), g.path), m.config);
      const [logits] = m.forward([{ seq: m.newSequence(), ids: Int32Array.from(chatIds(model)) }]);
      assert.equal(logits!.length, want.vocabSize);
      assert.ok(logits!.every(Number.isFinite), "finite logits");
    });

    test(`${model} ${type}: our quantizers give llama.cpp's bytes and our ${type} mix picks its types`, (t) => {
      const g = readGguf(llamaGguf(model, type));
      const checked = new Map<string, number>();
      for (const src of ourF32(model).tensors) {
        const lt = g.tensors.get(src.name)!;
        const f32 = dequantizeAll("f32", src.bytes, src.shape.reduce((a, b) => a * b, 1));
        const bytes = new Uint8Array(lt.bytes.length);
        getFormat(lt.type).quantize!(f32, bytes, f32.length);
        assert.ok(Buffer.from(bytes).equals(lt.bytes), `${src.name}: our ${lt.type} bytes differ from llama.cpp's`);
        checked.set(lt.type, (checked.get(lt.type) ?? 0) + 1);
      }
      const mine = buildGgufFromHf(join(FIXTURES, "models", model), { type, tokenizerDir: QWEN3_TOKENIZER_DIR });
      const diffs = mine.tensors.filter((x) => g.tensors.get(x.name)!.type !== x.type).map((x) => `${x.name}: ours ${x.type}, llama.cpp ${g.tensors.get(x.name)!.type}`);
      assert.deepEqual(diffs, [], "per-tensor types of our mix vs llama.cpp's");
      t.diagnostic(`${model} ${type}: bit-identical tensors by type: ${[...checked].map(([k, v]) => `${v} ${k}`).join(", ")}`);
    });
  }

  test(`${model}: the tokenizer in llama.cpp's file encodes like tokenizer.json`, () => {
    const fromFile = tokenizerFromGguf(readGguf(llamaGguf(model, "q8_0")));
    const fromDir = Tokenizer.fromDir(QWEN3_TOKENIZER_DIR);
    const corpus = JSON.parse(readFileSync(join(FIXTURES, "tokenizer", "tokenizer-public.json"), "utf8")) as { text: string; ids: number[] }[];
    const texts = [...corpus.map((c) => c.text), "<|im_start|>user\n<think>\nhi</think><|im_end|>", "  \n\n\t x = 1_000;  // ünïcödé 你好 🤖"];
    for (const text of texts) {
      assert.deepEqual(fromFile.encode(text, { addSpecialTokens: false }), fromDir.encode(text, { addSpecialTokens: false }), JSON.stringify(text));
    }
    assert.deepEqual(fromFile.encode(corpus[0]!.text, { addSpecialTokens: false }), corpus[0]!.ids);
  });
}

// ---- logits: qwenrt (ref backend) vs llama.cpp on the same llama.cpp-written file ----

let llama: Llama | undefined;
let unavailable = "";
before(async () => {
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } catch (e) {
    unavailable = `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
    console.log(`# skipping llama.cpp logit comparisons: ${unavailable}`);
  }
});
after(async () => {
  await llama?.dispose();
});

/** llama.cpp's logits at every position of `ids` ([positions][vocab]). */
async function llamaLogits(l: Llama, path: string, ids: readonly number[], vocab: number): Promise<Float32Array[]> {
  const m = await l.loadModel({ modelPath: path, useMmap: false });
  // float32 KV cache and no flash attention, as llama_cpp.test.ts: only the matmuls differ from ours
  const ctx = await m.createContext({ contextSize: 256, batchSize: 256, threads: 1, flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  try {
    // node-llama-cpp's Token is a branded number: our ids are the same numbers.
    const input = ids.map((t): ControlledEvaluateInputItem => [t as Token, { generateNext: { logits: true } }]);
    const res = await ctx.getSequence().controlledEvaluate(input);
    return ids.map((_, pos) => {
      const map = res[pos]?.next?.logits;
      assert.ok(map !== undefined && map.size === vocab, `llama.cpp returned ${vocab} logits at position ${pos}`);
      const row = new Float32Array(vocab);
      for (const [tok, v] of map) row[tok] = v;
      return row;
    });
  } finally {
    await ctx.dispose();
    await m.dispose();
  }
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Activations as llama.cpp's CPU matmul sees them: rounded to the weight type's `vec_dot_type`
 * (Q8_0 for the 32-block types, F16 for F16, unchanged for F32). */
function llamaCpuActivations(type: WeightType, x: Float32Array, count: number): Float32Array {
  const via: WeightType | undefined = type === "f32" ? undefined : type === "f16" ? "f16" : ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1"].includes(type) ? "q8_0" : undefined;
  if (type !== "f32" && via === undefined) throw new Error(`no emulation of llama.cpp's activation type for ${type} weights`);
  if (via === undefined) return x;
  const f = getFormat(via);
  const bytes = new Uint8Array((count / f.blockSize) * f.blockBytes);
  f.quantize!(x.subarray(0, count), bytes, count);
  return dequantizeAll(via, bytes, count);
}

/** The ref backend with every matmul's input rounded as llama.cpp's CPU backend rounds it (by the
 * type the file stored: ref matrices hold f32). MoE experts run through the same rounding. */
function llamaCpuEmulation(): KernelBackend {
  const ref = createRefBackend();
  const fileType = new WeakMap<Matrix, WeightType>();
  const act = (w: Matrix, x: Tensor, n: number): Float32Array => llamaCpuActivations(fileType.get(w) ?? w.type, ref.readSync(x), n * w.cols);
  const be: HostKernelBackend = Object.assign(Object.create(ref) as HostKernelBackend, {
    loadMatrix: (m: HostMatrix): Matrix => {
      const w = ref.loadMatrix(m);
      fileType.set(w, m.type);
      return w;
    },
    matmul: (w: Matrix, x: Tensor, n: number, y: Tensor, bias?: Tensor) => ref.matmul(w, act(w, x, n), n, y, bias),
    matmulMany: (ws: readonly Matrix[], x: Tensor, n: number, ys: readonly Tensor[], biases?: readonly (Tensor | undefined)[]) =>
      ws.forEach((w, j) => ref.matmul(w, act(w, x, n), n, ys[j]!, biases?.[j])),
    swiGlu: (gate: Matrix, up: Matrix, x: Tensor, n: number, out: Tensor) => {
      assert.equal(fileType.get(gate), fileType.get(up));
      ref.swiGlu(gate, up, act(gate, x, n), n, out);
    },
    moe: (w: MoeWeights, x: Tensor, n: number, out: Tensor) => moe.forward(w, x, n, out),
  });
  const moe = new HostMoe(be);
  return be;
}

/** max |a − b| over the last position's row, and how many positions agree on the argmax. */
function compare(mine: Float32Array, theirs: readonly Float32Array[], vocab: number): { lastErr: number; agree: number } {
  let lastErr = 0;
  let agree = 0;
  theirs.forEach((row, pos) => {
    const r = mine.subarray(pos * vocab, (pos + 1) * vocab);
    if (argmax(r) === argmax(row)) agree++;
    if (pos === theirs.length - 1) for (let i = 0; i < vocab; i++) lastErr = Math.max(lastErr, Math.abs(r[i]! - row[i]!));
  });
  return { lastErr, agree };
}

// What differs between llama.cpp and the ref backend on the same weights is the activations: its
// CPU matmuls round them to Q8_0 (per 32 values, 8 bits) against 32-block quantized weights and to
// F16 against F16 weights; ref keeps f32. With hidden sizes 32 and 16 every dot product averages
// that noise over very few terms (logit std ≈ 2.7): measured 0.16–0.81 on the dense models, 0.04–0.07
// on the MoE whose weights are mostly F16 (rows of 16 fit no block).
const plainBound: Readonly<Record<(typeof MODELS)[number], number>> = { "qwen3-dense-tiny": 1.5, "qwen3-moe-tiny": 0.15, "qwen2-tiny": 1.5 };
// Emulating that rounding in the ref backend leaves only summation order (measured 9.5e-7) for these.
// Not for the MoE's Q4_K_M (its Q5_1 attn_output pairs with Q8_1 activations, whose per-block sum
// term ggml stores as f16: 3.5e-2 left) nor for the dense model, where the error is 0 at positions
// 0–3 and ~0.2 from position 4 on with every type (still unexplained; F32 weights agree to 7e-6).
const exactWhenEmulated = new Set(["qwen2-tiny q8_0", "qwen2-tiny q4_0", "qwen2-tiny q4_k_m", "qwen3-moe-tiny q8_0", "qwen3-moe-tiny q4_0"]);
// llama.cpp's prebuilt picks a CPU variant at load. On a CPU with AMX (Intel Sapphire Rapids and
// later: its `sapphirerapids` variant) the MoE files do not round as emulated: measured 3.0e-2
// (q8_0) and 1.8e-2 (q4_0) on an Intel Xeon with amx_int8 (2026-12-07, top-1 still 14/14), while the
// qwen2 files stay exact. Which path of that variant differs is not established; there the MoE
// cases keep a bound of 0.1 and the top-1 check instead of 1e-5.
const amxVariant = machineInfo().simd.includes("amx_int8");
const amxLoose = new Set(["qwen3-moe-tiny q8_0", "qwen3-moe-tiny q4_0"]);

for (const model of MODELS) {
  for (const type of LLAMA_GGUF_TYPES) {
    test(`${model} ${type} written by llama.cpp: our logits match llama.cpp's on the same file`, async (t) => {
      if (llama === undefined) {
        t.skip(unavailable);
        return;
      }
      const path = llamaGguf(model, type);
      const ids = chatIds(model);
      const plain = await loadModel(path);
      const emulated = await loadModel(path, { backend: llamaCpuEmulation() });
      const vocab = plain.config.vocabSize;
      const theirs = await llamaLogits(llama, path, ids, vocab);
      const run = (m: typeof plain): Float32Array => m.forward([{ seq: m.newSequence(), ids: Int32Array.from(ids) }], { logits: "all" })[0]!;
      const a = compare(run(plain), theirs, vocab);
      const b = compare(run(emulated), theirs, vocab);
      t.diagnostic(`${model} ${type} vs llama.cpp, last position max |Δlogit|: ref ${a.lastErr.toExponential(3)} (top-1 ${a.agree}/${ids.length} positions), ref with llama.cpp's activation rounding ${b.lastErr.toExponential(3)} (top-1 ${b.agree}/${ids.length})`);
      assert.ok(a.lastErr < plainBound[model], `${model} ${type}: max |Δlogit| ${a.lastErr} ≥ ${plainBound[model]}`);
      assert.ok(a.agree >= ids.length - 2, `${model} ${type}: top-1 agrees at only ${a.agree}/${ids.length} positions`);
      if (exactWhenEmulated.has(`${model} ${type}`)) {
        const bound = amxVariant && amxLoose.has(`${model} ${type}`) ? 0.1 : 1e-5;
        assert.ok(b.lastErr < bound, `${model} ${type}: with llama.cpp's activation rounding max |Δlogit| ${b.lastErr} ≥ ${bound}`);
        assert.equal(b.agree, ids.length, `${model} ${type}: top-1 with llama.cpp's activation rounding`);
      }
    });
  }
}
