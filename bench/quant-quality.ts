// How much a quantize-on-load dtype changes a float checkpoint's predictions (issue 13's default for
// float checkpoints): the checkpoint runs once in its own types (bf16 on the wasm backend) and once
// per dtype, teacher-forced over the same text, and at every position we compare the two next-token
// distributions: top-1 agreement, mean and 99th-percentile KL(float ‖ quantized), and the text's
// perplexity under each (as llama.cpp's `llama-perplexity --kl-divergence` reports). Random-weight
// checkpoints give near-flat distributions, so read PPL there as a check of equality, not of quality.
//   node --import tsx bench/quant-quality.ts [--dir .bench/qwen3-0.6b] [--dtypes q8_0,q4_0,q4_k] [--tokens 512] [--threads 2]
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatMachine, machineInfo } from "../src/bench/machine.js";
import { createWasmBackend, type WasmDtype } from "../src/kernels/wasm/index.js";
import { loadModel } from "../src/models/load.js";
import { Tokenizer } from "../src/tokenizer/index.js";

const root = new URL("..", import.meta.url).pathname;
const { values: v } = parseArgs({
  options: {
    dir: { type: "string", default: join(root, ".bench", "qwen3-0.6b") },
    dtypes: { type: "string", default: "q8_0,q4_0,q4_k" },
    tokens: { type: "string", default: "512" },
    threads: { type: "string", default: String(availableParallelism()) },
  },
});
const tokens = Number(v.tokens), threads = Number(v.threads);
const dtypes = v.dtypes.split(",") as WasmDtype[];

/** The fixture texts (40 languages, code, emoji) joined, cut to `n` tokens. */
function text(tok: Tokenizer, n: number): Int32Array {
  const cases = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizer/tokenizer-public.json"), "utf8")) as { text: string }[];
  const ids = tok.encode(cases.map((c) => c.text).join("\n\n"));
  if (ids.length < n) throw new Error(`the fixture texts are ${ids.length} tokens, fewer than --tokens ${n}`);
  return Int32Array.from(ids.slice(0, n));
}

/** Logits at every position of `ids` (rows of `vocab`), with `dtype` (undefined: the checkpoint's types). */
async function allLogits(dtype: WasmDtype | undefined, ids: Int32Array): Promise<{ logits: Float32Array; vocab: number }> {
  const be = await createWasmBackend({ threads, kv: "f32", ...(dtype === undefined ? {} : { dtype }) });
  try {
    const model = await loadModel(v.dir, { backend: be, contextLength: ids.length + 16 });
    const [logits] = model.forward([{ seq: model.newSequence(), ids }], { logits: "all" });
    return { logits: logits!, vocab: logits!.length / ids.length };
  } finally {
    be.dispose();
  }
}

/** log-softmax of one row, float64. */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

const argmax = (row: Float32Array): number => row.reduce((b, x, i, a) => (x > a[b]! ? i : b), 0);

const tok = Tokenizer.fromDir(v.dir);
const ids = text(tok, tokens);
console.log(`${formatMachine(machineInfo())}\n${v.dir}: ${tokens} tokens of the multilingual fixture texts, teacher-forced`);
const base = await allLogits(undefined, ids);
const positions = tokens - 1; // the last position predicts nothing in the text
let basePpl = 0;
for (let p = 0; p < positions; p++) basePpl -= logSoftmax(base.logits.subarray(p * base.vocab, (p + 1) * base.vocab))[ids[p + 1]!]!;
console.log(`dtype | top-1 agreement | mean KL | p99 KL | PPL | PPL (checkpoint's types) | ΔPPL`);
for (const dtype of dtypes) {
  const q = await allLogits(dtype, ids);
  let agree = 0, nll = 0;
  const kls: number[] = [];
  for (let p = 0; p < positions; p++) {
    const a = base.logits.subarray(p * base.vocab, (p + 1) * base.vocab), b = q.logits.subarray(p * q.vocab, (p + 1) * q.vocab);
    if (argmax(a) === argmax(b)) agree++;
    const la = logSoftmax(a), lb = logSoftmax(b);
    let kl = 0;
    for (let i = 0; i < la.length; i++) kl += Math.exp(la[i]!) * (la[i]! - lb[i]!);
    kls.push(kl);
    nll -= lb[ids[p + 1]!]!;
  }
  kls.sort((x, y) => x - y);
  const ppl = Math.exp(nll / positions), ppl0 = Math.exp(basePpl / positions);
  const mean = kls.reduce((s, x) => s + x, 0) / kls.length;
  console.log(`${dtype} | ${((100 * agree) / positions).toFixed(1)}% | ${mean.toExponential(2)} | ${kls[Math.floor(0.99 * (kls.length - 1))]!.toExponential(2)} | ${ppl.toFixed(3)} | ${ppl0.toFixed(3)} | ${(((ppl - ppl0) / ppl0) * 100).toFixed(3)}%`);
}
