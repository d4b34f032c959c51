/**
 * What spreading weights over wasm memory banks costs: one model loaded twice in one process — all in
 * the home bank beside the activations (what placing whole layers per bank with their activations
 * would reach at best: no copies) and on small banks (most matrices outside the home bank, so every
 * matmul stages x in and y out, the embedding and LM head split by rows) — then prefill and decode
 * timed in alternating rounds so machine noise hits both alike.
 *
 *   node --import tsx bench/banks.ts <model dir> [--dtype q8_0] [--threads 2] [--bank-bytes 64M]
 *        [--prompt 128] [--tokens 32] [--rounds 5]
 */
import { parseArgs } from "node:util";
import { createWasmBackend, parseByteSize, WasmBackend, type WasmDtype } from "../src/kernels/wasm/index.js";
import { loadModel } from "../src/models/load.js";
import type { Model } from "../src/models/model.js";

const { positionals, values: v } = parseArgs({
  allowPositionals: true,
  options: {
    dtype: { type: "string" },
    threads: { type: "string", default: "2" },
    "bank-bytes": { type: "string", default: "64M" },
    prompt: { type: "string", default: "128" },
    tokens: { type: "string", default: "32" },
    rounds: { type: "string", default: "5" },
  },
});
const dir = positionals[0];
if (dir === undefined) throw new Error("usage: banks.ts <model dir> [--dtype q8_0] [--bank-bytes 64M]");
const dtype = v.dtype as WasmDtype | undefined;
const small = parseByteSize(v["bank-bytes"]);
if (small === undefined) throw new Error(`--bank-bytes: not a size: ${v["bank-bytes"]}`);
const [pp, tg, rounds, threads] = [Number(v.prompt), Number(v.tokens), Number(v.rounds), Number(v.threads)];

interface Variant {
  readonly label: string;
  readonly model: Model;
  readonly prefill: number[];
  readonly decode: number[];
}

async function variant(label: string, bankBytes: number | undefined): Promise<Variant> {
  const be = await createWasmBackend({ threads, ...(dtype === undefined ? {} : { dtype }), ...(bankBytes === undefined ? {} : { bankBytes }) });
  const t0 = performance.now();
  const model = await loadModel(dir!, { backend: be });
  const banks = be instanceof WasmBackend ? be.banks.map((b) => `${b.role}:${(b.placed / 2 ** 20).toFixed(0)}M`).join(" ") : "";
  console.log(`${label}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s · banks ${banks}`);
  return { label, model, prefill: [], decode: [] };
}

function trial(x: Variant, round: number): void {
  const m = x.model;
  const seq = m.newSequence(pp + tg + 8);
  const prompt = Int32Array.from({ length: pp }, (_, i) => (i * 7919 + (round + 2) * 31) % m.config.vocabSize);
  let t = performance.now();
  let [logits] = m.forward([{ seq, ids: prompt }]);
  x.prefill.push(performance.now() - t);
  t = performance.now();
  for (let i = 0; i < tg; i++) {
    const row = logits!;
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j]! > row[best]!) best = j;
    [logits] = m.forward([{ seq, ids: Int32Array.of(best) }]);
  }
  x.decode.push((performance.now() - t) / tg);
  m.release(seq);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const one = await variant("one bank", undefined);
const many = await variant(`banks of ${v["bank-bytes"]}`, small);
trial(one, -1); // warm-up
trial(many, -1);
one.prefill.length = one.decode.length = many.prefill.length = many.decode.length = 0;
for (let r = 0; r < rounds; r++) for (const x of r % 2 === 0 ? [one, many] : [many, one]) trial(x, r);
for (const x of [one, many]) {
  console.log(`${x.label.padEnd(18)} prefill pp${pp} ${median(x.prefill).toFixed(1)} ms · decode ${median(x.decode).toFixed(2)} ms/token`);
}
const dp = median(many.prefill) / median(one.prefill) - 1, dd = median(many.decode) / median(one.decode) - 1;
console.log(`staging cost: prefill ${(dp * 100).toFixed(1)}%, decode ${(dd * 100).toFixed(1)}% (medians of ${rounds} alternating rounds)`);
one.model.backend.dispose();
many.model.backend.dispose();
