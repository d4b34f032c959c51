// qwenrt beside llama.cpp on a Qwen3-0.6B-shaped model, F16 / Q8_0 / Q4_0 (`npm run bench`).
// Synthesizes the model into .bench/ once, converts the GGUFs once (cached), then for each type runs
// `qwenrt bench` (each engine in its own child process, one after the other) and prints the tables
// and a summary. Timings are noisy on shared machines: read the ratios, measured in the same run.
// With --preset (qwen3-8b, qwen3-30b-a3b, …) the model is a GGUF synthesized straight at each type
// (`qwenrt synth --out X.gguf`, cached in .bench/gguf/) and both engines run that same file.
//
//   npm run bench -- [--types f16,q8_0,q4_0] [--layers N] [--pp 512] [--tg 128] [--trials 3] [--rounds 1]
//                    [--threads N] [--backend wasm|webgpu|ref] [--no-llama] [--json]
//                    [--llama-gpu auto|cuda|vulkan] [--roofline-gbs X]   (GPU runs: bench/gpu.sh)
//   npm run bench -- --preset qwen3-30b-a3b [--types q4_0,q4_k_m] [--layers N] [...]
//   npm run bench -- --preset qwen3.5-35b-a3b --layers 4 --types q4_k_m,q8_0   (hybrid: a multiple of 4
//                    layers keeps the 3:1 DeltaNet:attention pattern; 4 layers is 2.8 / 4.7 GB)
import { existsSync, mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench } from "../src/bench/compare.js";
import { formatMachine } from "../src/bench/machine.js";
import { type BenchReport, formatReport } from "../src/bench/report.js";
import type { BenchDtype } from "../src/bench/weights.js";
import { synthesize } from "../src/tools/synth.js";
import { synthPresets } from "../src/tools/synth-presets.js";
import { synthesizeGguf, synthGgufTypes, type SynthGgufType } from "../src/tools/synth_gguf.js";
import { errorMessage } from "../src/util/errors.js";

const { values: v } = parseArgs({
  options: {
    types: { type: "string" },
    preset: { type: "string" },
    layers: { type: "string" },
    pp: { type: "string", default: "512" },
    tg: { type: "string", default: "128" },
    trials: { type: "string", default: "3" },
    rounds: { type: "string", default: "1" },
    threads: { type: "string", default: String(availableParallelism()) },
    backend: { type: "string", default: "wasm" },
    "no-llama": { type: "boolean", default: false },
    "llama-gpu": { type: "string" },
    "roofline-gbs": { type: "string" },
    json: { type: "boolean", default: false },
  },
});

const TYPES: Record<string, BenchDtype | undefined> = { f16: undefined, q8_0: "q8_0", q4_0: "q4_0", q4_k: "q4_k" };
const root = new URL("..", import.meta.url).pathname;
const cache = join(root, ".bench");
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const int = (name: string, s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${s}"`);
  return n;
};

/** Why the wasm backend cannot run here, or undefined when it can. */
async function wasmUnavailable(): Promise<string | undefined> {
  try {
    const { createWasmBackend } = await import("../src/kernels/wasm/index.js");
    (await createWasmBackend({ threads: 1 })).dispose();
    return undefined;
  } catch (e) {
    return errorMessage(e);
  }
}

/** The preset's GGUF at `type` (and `layers`), synthesized into .bench/gguf/ on first use. */
async function presetGguf(preset: string, type: SynthGgufType, layers: number | undefined, threads: number): Promise<string> {
  const path = join(cache, "gguf", `${preset}${layers === undefined ? "" : `-${layers}l`}-${type}-s0.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(join(cache, "gguf"), { recursive: true });
  log(`synthesizing ${preset}${layers === undefined ? "" : ` (${layers} layers)`} at ${type} into ${path} (once)`);
  const t0 = performance.now();
  const r = await synthesizeGguf({ preset, type, out: path, seed: 0, threads, ...(layers === undefined ? {} : { layers }) });
  log(`  ${(r.parameters / 1e9).toFixed(2)}B parameters, ${(r.bytes / 1e9).toFixed(2)} GB in ${((performance.now() - t0) / 1000).toFixed(0)}s`);
  return path;
}

/** `--llama-gpu` and `--roofline-gbs`: llama.cpp on its GPU build, decode judged against a GPU's bandwidth. */
function gpuPeer(): { llamaGpu?: "auto" | "cuda" | "vulkan"; roofline?: number } {
  const g = v["llama-gpu"];
  if (g !== undefined && g !== "auto" && g !== "cuda" && g !== "vulkan") throw new Error(`--llama-gpu must be auto, cuda or vulkan, got "${g}"`);
  const r = v["roofline-gbs"] === undefined ? undefined : Number(v["roofline-gbs"]);
  if (r !== undefined && !(r > 0)) throw new Error(`--roofline-gbs must be a positive number of GB/s, got "${v["roofline-gbs"]}"`);
  return { ...(g !== undefined ? { llamaGpu: g } : {}), ...(r !== undefined ? { roofline: r * 1e9 } : {}) };
}

/** `--preset`: each type's synthesized GGUF, both engines on the same file. */
async function mainPreset(preset: string): Promise<void> {
  if (!(preset in synthPresets)) throw new Error(`--preset: unknown preset "${preset}" (known: ${Object.keys(synthPresets).join(", ")})`);
  if (v.backend !== "wasm" && v.backend !== "webgpu") throw new Error(`--preset runs on --backend wasm or webgpu, got "${v.backend}" (big shapes in the float32 oracle would take hours)`);
  const layers = v.layers === undefined ? undefined : int("layers", v.layers);
  const threads = int("threads", v.threads);
  const types = (v.types ?? "q4_0,q4_k_m").split(",").map((t) => t.trim());
  for (const t of types) if (!(synthGgufTypes as readonly string[]).includes(t)) throw new Error(`--types: with --preset one of ${synthGgufTypes.join(", ")}, got "${t}"`);
  const reports: { type: string; report: BenchReport }[] = [];
  for (const type of types as SynthGgufType[]) {
    log(`\n== ${preset}${layers === undefined ? "" : ` ${layers} layers`} ${type} ==`);
    const model = await presetGguf(preset, type, layers, threads);
    const report = await runBench({
      model, backend: v.backend, threads, pp: int("pp", v.pp), tg: int("tg", v.tg), trials: int("trials", v.trials), rounds: int("rounds", v.rounds), seed: 0,
      vsLlamaCpp: !v["no-llama"], ggufCache: join(cache, "gguf"), log, ...gpuPeer(),
    });
    reports.push({ type, report });
    if (!v.json) process.stdout.write(`\n${formatReport(report)}`);
  }
  printSummary(reports);
}

function printSummary(reports: { type: string; report: BenchReport }[]): void {
  if (v.json) {
    process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
    return;
  }
  if (reports.length > 1 && reports.every((r) => r.report.ratios !== undefined)) {
    process.stdout.write(`\nsummary, qwenrt / llama.cpp (noisy machines: ratios measured in the same run) on ${formatMachine(reports[0]!.report.machine)}:\n`);
    for (const { type, report } of reports) {
      const x = report.ratios!;
      const [q, l] = [report.rows[0]!, report.rows[1]!];
      process.stdout.write(
        `  ${type.padEnd(6)} pp ${x.pp.toFixed(2)}×  tg ${x.tg.toFixed(2)}×  TTFT ${x.ttft.toFixed(2)}×  RSS ${x.peakRss.toFixed(2)}×` +
          `  load ${q.loadSeconds.toFixed(1)}s vs ${l.loadSeconds.toFixed(1)}s  roofline ${(100 * q.rooflineFraction).toFixed(0)}% vs ${(100 * l.rooflineFraction).toFixed(0)}%` +
          (report.roundRatios !== undefined ? `  per-round median pp ${report.roundRatios.ppMedian.toFixed(2)}× tg ${report.roundRatios.tgMedian.toFixed(2)}×` : "") +
          "\n",
      );
    }
  }
}

async function main(): Promise<void> {
  if (v.preset !== undefined) return mainPreset(v.preset);
  let backend = v.backend === "ref" ? "ref" : "wasm";
  let layers = v.layers === undefined ? undefined : int("layers", v.layers);
  let pp = int("pp", v.pp), tg = int("tg", v.tg);
  let types = (v.types ?? "f16,q8_0,q4_0").split(",").map((t) => t.trim());
  for (const t of types) if (!(t in TYPES)) throw new Error(`--types: unknown type "${t}" (known: ${Object.keys(TYPES).join(", ")})`);

  if (backend === "wasm") {
    const why = await wasmUnavailable();
    if (why !== undefined) {
      log(`the wasm backend is not available (${why}); falling back to the ref backend on a tiny shape`);
      backend = "ref";
    }
  }
  if (backend === "ref") {
    // The float32 oracle is 5–30× slower than WASM: a full-size run would take hours.
    layers = Math.min(layers ?? 2, 2);
    pp = Math.min(pp, 64);
    tg = Math.min(tg, 16);
    if (types.some((t) => t !== "f16")) log("ref computes in float32 and cannot quantize on load: running f16 only");
    types = ["f16"];
  }

  const dir = join(cache, layers === undefined ? "qwen3-0.6b" : `qwen3-0.6b-${layers}l`);
  if (!existsSync(join(dir, "config.json"))) {
    log(`synthesizing a Qwen3-0.6B-shaped model${layers === undefined ? "" : ` (${layers} layers)`} into ${dir} (once)`);
    synthesize({ preset: "qwen3-0.6b", out: dir, seed: 0, ...(layers === undefined ? {} : { layers }) });
  }

  const reports: { type: string; report: BenchReport }[] = [];
  for (const type of types) {
    log(`\n== ${type} ==`);
    const dtype = TYPES[type];
    const report = await runBench({
      model: dir,
      backend: backend === "ref" ? "ref" : "wasm",
      ...(dtype !== undefined ? { dtype } : {}),
      threads: int("threads", v.threads),
      pp,
      tg,
      trials: int("trials", v.trials),
      rounds: int("rounds", v.rounds),
      seed: 0,
      vsLlamaCpp: !v["no-llama"],
      ggufCache: join(cache, "gguf"),
      log,
    });
    reports.push({ type, report });
    if (!v.json) process.stdout.write(`\n${formatReport(report)}`);
  }

  printSummary(reports);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${errorMessage(e)}\n`);
  process.exitCode = 1;
});
