/**
 * Sparse-MoE layers of the Qwen3-30B-A3B shape (hidden 2048, 128 experts of 768, top-8) on the wasm
 * backend: `moe` time at n = 1 (decode) and n = 512 (a prefill chunk) beside a dense SwiGLU of the
 * same work (intermediate 8 × 768 = 6144: the same bytes per token at n = 1 and the same
 * multiply-adds at n = 512), so what the per-expert grouping costs shows as the ratio. Calls rotate
 * over `--layers` MoE layers and over as many dense copies as hold the same bytes, so both read
 * their weights from DRAM as a 48-layer model does (a single layer's 340 MB of Q4_0 experts would
 * partly stay in a large L3). Random weights of the chosen type (random blocks: instant to make).
 *
 *   node --import tsx bench/moe-layer.ts [--type q4_0|q8_0|q4_k] [--threads 2] [--layers 2]
 *        [--bank-bytes 64M] [--trials 7]
 */
import { randomFillSync } from "node:crypto";
import { parseArgs } from "node:util";
import { f32ToF16 } from "../src/formats/quant/float.js";
import { rowBytes } from "../src/formats/quant/index.js";
import type { HostMatrix, KernelBackend, Matrix, MoeWeights, WeightType } from "../src/kernels/types.js";
import { createWasmBackend, parseByteSize, WasmBackend } from "../src/kernels/wasm/index.js";

const { values: v } = parseArgs({
  options: {
    type: { type: "string", default: "q4_0" },
    threads: { type: "string", default: "2" },
    layers: { type: "string", default: "2" },
    "bank-bytes": { type: "string" },
    trials: { type: "string", default: "7" },
    experts: { type: "string", default: "128" },
  },
});
const type = v.type as WeightType;
if (!["q4_0", "q8_0", "q4_k"].includes(type)) throw new Error(`--type must be q4_0, q8_0 or q4_k, got ${v.type}`);
const [hidden, inter, topK, E] = [2048, 768, 8, Number(v.experts)];
const trials = Number(v.trials);
const bankBytes = v["bank-bytes"] === undefined ? undefined : parseByteSize(v["bank-bytes"]);

let seed = 12345;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

/** A matrix of random blocks of `type` with small, valid scales. */
function randomMatrix(t: WeightType, rows: number, cols: number): HostMatrix {
  const bytes = randomFillSync(new Uint8Array(rows * rowBytes(t, cols)));
  const dv = new DataView(bytes.buffer);
  const block = t === "q4_0" ? 18 : t === "q8_0" ? 34 : 144;
  const scale = f32ToF16(t === "q8_0" ? 0.0005 : 0.002);
  for (let o = 0; o < bytes.length; o += block) {
    dv.setUint16(o, scale, true);
    if (t === "q4_k") dv.setUint16(o + 2, f32ToF16(0.001), true);
  }
  return { type: t, rows, cols, bytes };
}

function floatMatrix(rows: number, cols: number): HostMatrix {
  const f = new Float32Array(rows * cols).map(() => (rnd() - 0.5) * 0.1);
  return { type: "f32", rows, cols, bytes: new Uint8Array(f.buffer) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median ms of `a` and of `b`, run alternately (`trialsN` each, after one warm-up each) so that
 * the machine's load changes hit both alike. */
function timeBoth(trialsN: number, a: () => void, b: () => void): [number, number] {
  a();
  b();
  const ta: number[] = [], tb: number[] = [];
  for (let i = 0; i < trialsN; i++) {
    for (const [f, out] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      f();
      out.push(performance.now() - t0);
    }
  }
  return [median(ta), median(tb)];
}

const be: KernelBackend = await createWasmBackend({ threads: Number(v.threads), ...(bankBytes === undefined ? {} : { bankBytes }) });
const t0 = performance.now();
const layers: MoeWeights[] = Array.from({ length: Number(v.layers) }, () => ({
  router: be.loadMatrix(floatMatrix(E, hidden)), // GGUF keeps ffn_gate_inp in f32
  experts: Array.from({ length: E }, () => ({
    gate: be.loadMatrix(randomMatrix(type, inter, hidden)),
    up: be.loadMatrix(randomMatrix(type, inter, hidden)),
    down: be.loadMatrix(randomMatrix(type, hidden, inter)),
  })),
  topK,
  normalize: true,
}));
const denses: { gate: Matrix; up: Matrix; down: Matrix }[] = Array.from({ length: layers.length * Math.ceil(E / topK) }, () => ({
  gate: be.loadMatrix(randomMatrix(type, topK * inter, hidden)),
  up: be.loadMatrix(randomMatrix(type, topK * inter, hidden)),
  down: be.loadMatrix(randomMatrix(type, hidden, topK * inter)),
}));
const banks = be instanceof WasmBackend ? be.banks.filter((b) => b.role !== "kv").length : 1;
console.log(
  `${layers.length} × ${E} experts of [${inter}, ${hidden}] ${type} and ${denses.length} dense twins loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${be.name}, ${be.threads} threads, ${banks} weight bank(s)`,
);
let call = 0;

const expertBytes = 3 * inter * rowBytes(type, hidden);
for (const n of [1, 512]) {
  const x = be.allocF32(n * hidden), out = be.allocF32(n * hidden), g = be.allocF32(n * topK * inter);
  const xs = new Float32Array(n * hidden);
  const fresh = (): void => {
    for (let i = 0; i < xs.length; i++) xs[i] = rnd() - 0.5;
    be.write(x, xs);
  };
  const tr = n === 1 ? trials * 8 : trials;
  const [tMoe, tDense] = timeBoth(
    tr,
    () => {
      fresh();
      be.moe(layers[call++ % layers.length]!, x, n, out);
    },
    () => {
      fresh();
      const d = denses[call++ % denses.length]!;
      be.swiGlu(d.gate, d.up, x, n, g);
      be.matmul(d.down, g, n, out);
    },
  );
  // n = 1 streams the routed experts' weights (GB/s); n = 512 multiplies (GOP/s: 2 per multiply-add).
  const rate = n === 1 ? `${((topK * expertBytes) / (tMoe / 1000) / 1e9).toFixed(1)} GB/s of expert weights` : `${((2 * n * topK * 3 * inter * hidden) / (tMoe / 1000) / 1e9).toFixed(1)} GOP/s`;
  console.log(
    `n=${String(n).padStart(3)}: moe ${tMoe.toFixed(2)} ms (${rate}) · dense SwiGLU of ${topK * inter} ${tDense.toFixed(2)} ms · moe/dense ${(tMoe / tDense).toFixed(2)}` +
      ` · 48 such layers ${((48 * tMoe) / n).toFixed(1)} ms per token`,
  );
}
be.dispose();
