// Embeddings/s for a Qwen3-Embedding-0.6B-shaped model (`npm run bench:embeddings`): qwenrt's
// `embed()` beside llama.cpp's embedding mode (node-llama-cpp `createEmbeddingContext`, CPU, weights
// in RAM) on the same GGUF, at several batch sizes, each engine in its own process (its peak RSS is
// its own). Both get the same token ids (seeded random text ending in <|endoftext|>) and pool the
// last token: the GGUF says `pooling_type` LAST. The vectors must agree (cosine >= 0.99).
//
//   npm run bench:embeddings -- [--layers N] [--type q8_0|q4_0|q4_k_m] [--batches 1,16,64]
//                               [--tokens 32] [--trials 3] [--threads N]
//
// The shape is the qwen3-0.6b preset's (Qwen3-Embedding-0.6B has the same backbone; its vocabulary
// is 151,669 rows, the preset's 151,936). llama.cpp embeds one text at a time (node-llama-cpp's
// embedding context holds one sequence); qwenrt batches up to 2048 tokens per forward step.
import { fork } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Token } from "node-llama-cpp";
import { median, peakRssBytes, promptIds } from "../src/bench/method.js";
import { synthesizeGguf, synthGgufTypes, type SynthGgufType } from "../src/tools/synth_gguf.js";

interface Job {
  readonly engine: "qwenrt" | "llama.cpp";
  readonly model: string;
  readonly threads: number;
  readonly batches: readonly number[];
  readonly tokens: number;
  readonly trials: number;
}
interface Reply {
  readonly engine: Job["engine"];
  readonly seconds: Record<number, number[]>; // batch → trial seconds
  readonly vectors: number[][]; // the first few texts' embeddings
  readonly peakRss: number;
  readonly loadSeconds: number;
}

const END = 151643; // <|endoftext|>, the token Qwen3-Embedding pools on
const CHECKED = 4; // texts whose vectors are compared
const texts = (n: number, tokens: number): number[][] => Array.from({ length: n }, (_, i) => [...promptIds(17, i, tokens, END), END]);

async function runQwenrt(job: Job): Promise<Reply> {
  const { createWasmBackend } = await import("../src/kernels/wasm/index.js");
  const { loadModel } = await import("../src/models/load.js");
  const { embed } = await import("../src/engine/embed.js");
  const { Tokenizer } = await import("../src/tokenizer/index.js");
  const { defaultTokenizerDir } = await import("../src/tools/synth.js");
  const t0 = performance.now();
  const model = await loadModel(job.model, { backend: await createWasmBackend({ threads: job.threads }) });
  const loadSeconds = (performance.now() - t0) / 1000;
  const tokenizer = Tokenizer.fromDir(defaultTokenizerDir()!);
  const all = texts(Math.max(...job.batches, CHECKED), job.tokens);
  await embed(model, tokenizer, all.slice(0, 1)); // warm-up
  const seconds: Record<number, number[]> = {};
  for (const b of job.batches) {
    seconds[b] = [];
    for (let t = 0; t < job.trials; t++) {
      const s = performance.now();
      await embed(model, tokenizer, all.slice(0, b));
      seconds[b].push((performance.now() - s) / 1000);
    }
  }
  const { embeddings } = await embed(model, tokenizer, all.slice(0, CHECKED));
  model.backend.dispose();
  return { engine: "qwenrt", seconds, vectors: embeddings.map((v) => Array.from(v)), peakRss: peakRssBytes(), loadSeconds };
}

async function runLlama(job: Job): Promise<Reply> {
  const lib = await import("node-llama-cpp");
  const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: lib.LlamaLogLevel.error, maxThreads: job.threads });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: job.model, useMmap: false });
  const loadSeconds = (performance.now() - t0) / 1000;
  const context = await model.createEmbeddingContext({ contextSize: job.tokens + 16, batchSize: job.tokens + 16, threads: job.threads });
  const all = texts(Math.max(...job.batches, CHECKED), job.tokens);
  // node-llama-cpp adds BOS/EOS where the vocabulary asks for them: the ids must reach llama.cpp as given.
  const fed = context.calculateInputLength(all[0]!.slice() as Token[]);
  if (fed !== all[0]!.length) throw new Error(`node-llama-cpp would feed ${fed} tokens for ${all[0]!.length}: not the same input`);
  // node-llama-cpp brands token ids (`Token`); these are ids of the same vocabulary.
  const one = async (ids: number[]): Promise<number[]> => Array.from((await context.getEmbeddingFor(ids.slice() as Token[])).vector);
  await one(all[0]!); // warm-up
  const seconds: Record<number, number[]> = {};
  for (const b of job.batches) {
    seconds[b] = [];
    for (let t = 0; t < job.trials; t++) {
      const s = performance.now();
      for (const ids of all.slice(0, b)) await one(ids);
      seconds[b].push((performance.now() - s) / 1000);
    }
  }
  const vectors = [];
  for (const ids of all.slice(0, CHECKED)) vectors.push(await one(ids));
  await context.dispose();
  await model.dispose();
  return { engine: "llama.cpp", seconds, vectors, peakRss: peakRssBytes(), loadSeconds };
}

function inChild(job: Job): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ["--child", JSON.stringify(job)], { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    let reply: Reply | { error: string } | undefined;
    child.on("message", (m: Reply | { error: string }) => (reply = m));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (reply !== undefined && "error" in reply) reject(new Error(`${job.engine}: ${reply.error}`));
      else if (reply !== undefined) resolve(reply);
      else reject(new Error(`${job.engine}: the benchmark process exited (code ${code}) without a result`));
    });
  });
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

const int = (name: string, s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${s}"`);
  return n;
};

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      child: { type: "string" },
      layers: { type: "string" },
      type: { type: "string", default: "q8_0" },
      batches: { type: "string", default: "1,16,64" },
      tokens: { type: "string", default: "32" },
      trials: { type: "string", default: "3" },
      threads: { type: "string", default: String(availableParallelism()) },
    },
  });
  if (v.child !== undefined) {
    const job = JSON.parse(v.child) as Job;
    try {
      process.send!(job.engine === "qwenrt" ? await runQwenrt(job) : await runLlama(job));
    } catch (e) {
      process.send!({ error: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  const type = v.type as SynthGgufType;
  if (!synthGgufTypes.includes(type)) throw new Error(`--type must be one of ${synthGgufTypes.join(", ")}, got "${v.type}"`);
  const layers = v.layers === undefined ? undefined : int("layers", v.layers);
  const threads = int("threads", v.threads);
  const batches = v.batches.split(",").map((b) => int("batches", b.trim()));
  const job = { threads, batches, tokens: int("tokens", v.tokens), trials: int("trials", v.trials) };
  const dir = join(new URL("..", import.meta.url).pathname, ".bench", "gguf");
  const model = join(dir, `qwen3-embedding-0.6b-shape${layers === undefined ? "" : `-${layers}l`}-${type}-last.gguf`);
  if (!existsSync(model)) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`synthesizing ${model} (once)\n`);
    await synthesizeGguf({ preset: "qwen3-0.6b", type, out: model, seed: 0, threads, pooling: "last", ...(layers === undefined ? {} : { layers }) });
  }
  process.stdout.write(`CPU: ${cpus()[0]?.model ?? "unknown"} (${availableParallelism()} logical), threads ${threads}\n`);
  process.stdout.write(`model: ${model} (Qwen3-Embedding-0.6B shape${layers === undefined ? "" : `, ${layers} of 28 layers`}, ${type}); ${job.tokens}+1 tokens per text; median of ${job.trials}\n`);
  const ours = await inChild({ engine: "qwenrt", model, ...job });
  const theirs = await inChild({ engine: "llama.cpp", model, ...job });
  process.stdout.write(`\n batch | qwenrt emb/s (median s) | llama.cpp emb/s (median s) | qwenrt / llama.cpp\n`);
  for (const b of batches) {
    const q = median(ours.seconds[b]!);
    const l = median(theirs.seconds[b]!);
    process.stdout.write(` ${String(b).padStart(5)} | ${(b / q).toFixed(1).padStart(8)} (${q.toFixed(3)}s) | ${(b / l).toFixed(1).padStart(8)} (${l.toFixed(3)}s) | ${(l / q).toFixed(2)}x\n`);
  }
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
  process.stdout.write(`peak RSS: qwenrt ${mib(ours.peakRss)}, llama.cpp ${mib(theirs.peakRss)}; load: qwenrt ${ours.loadSeconds.toFixed(1)}s, llama.cpp ${theirs.loadSeconds.toFixed(1)}s\n`);
  const cos = ours.vectors.map((a, i) => cosine(a, theirs.vectors[i]!));
  process.stdout.write(`agreement (last-token pooling, ${CHECKED} texts): cosine min ${Math.min(...cos).toFixed(5)} [${cos.map((c) => c.toFixed(5)).join(", ")}]\n`);
  if (Math.min(...cos) < 0.99) {
    process.stdout.write("FAIL: the engines' embeddings disagree (cosine < 0.99)\n");
    process.exitCode = 1;
  }
}

await main();
