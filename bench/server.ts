/**
 * Serving throughput: N concurrent clients vs the same requests one at a time, through the real
 * server and the official openai client. Continuous batching should make the concurrent run's
 * aggregate tok/s several times the sequential one on the same model.
 *
 *   node --import tsx bench/server.ts [--model DIR] [--clients 8] [--tokens 32] [--trials 3]
 *     [--backend wasm|ref] [--dtype q8_0] [--threads 2]
 *
 * Without --model it synthesizes a 4-layer Qwen3-0.6B-shaped model into .bench/ (random weights).
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { createBackend, parseBackendFlags } from "../src/cli/backend.js";
import { synthesize } from "../src/tools/synth.js";
import { startServer } from "../src/server/test-server.js";

const { values: v } = parseArgs({
  options: {
    model: { type: "string" },
    clients: { type: "string", default: "8" },
    tokens: { type: "string", default: "32" },
    trials: { type: "string", default: "3" },
    backend: { type: "string" },
    threads: { type: "string" },
    dtype: { type: "string" },
  },
});
const clients = Number(v.clients);
const tokens = Number(v.tokens);
const trials = Number(v.trials);

let dir = v.model;
if (dir === undefined) {
  dir = ".bench/qwen3-0.6b-4layers";
  if (!existsSync(dir)) {
    process.stderr.write(`synthesizing ${dir} …\n`);
    await synthesize({ preset: "qwen3-0.6b", layers: 4, out: dir });
  }
}
const backend = await createBackend(parseBackendFlags(v));
const server = await startServer(dir, { backend, maxRunning: clients });
const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 600_000 });

async function one(i: number, trial: number): Promise<number> {
  const r = await client.chat.completions.create({
    model: "test-model",
    messages: [{ role: "user", content: `Request ${i} of trial ${trial}: write a short poem about the number ${i}.` }],
    max_tokens: tokens,
    temperature: 0.7,
    seed: i,
    ...{ ignore_eos: true, enable_thinking: false },
  });
  return r.usage?.completion_tokens ?? 0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seqRates: number[] = [];
const parRates: number[] = [];
await one(0, -1); // warm-up
for (let t = 0; t < trials; t++) {
  let t0 = performance.now();
  let n = 0;
  for (let i = 0; i < clients; i++) n += await one(i, t);
  seqRates.push(n / ((performance.now() - t0) / 1000));
  t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: clients }, (_, i) => one(i, t)));
  parRates.push(counts.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000));
}
const seq = median(seqRates);
const par = median(parRates);
const st = server.runtime.engine.stats;
console.log(`model ${dir} · backend ${backend.name}, ${backend.threads} threads · ${clients} clients × ${tokens} tokens · median of ${trials}`);
console.log(`one at a time : ${seq.toFixed(1)} tok/s`);
console.log(`${clients} concurrent : ${par.toFixed(1)} tok/s  (${(par / seq).toFixed(2)}× sequential)`);
console.log(`engine: ${st.steps} steps carried ${st.segments} sequence-steps (max ${st.maxBatch} per step)`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
await server.close();
backend.dispose();
