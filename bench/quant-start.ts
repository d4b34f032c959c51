// Start-up times of quantize-on-load (`--dtype`) against a start from the equivalent GGUF, on a
// bf16 Qwen3-0.6B-shaped synth (issue 12). Each start runs in a fresh process and is timed from
// opening the model to a loaded model (backend created, weights read, quantized, repacked); the
// files are read once first, so every start finds them in the page cache. Each cell is wall-clock
// seconds and, in brackets, CPU seconds of all the process's threads (less sensitive to a busy
// machine than wall time, which is what a quiet machine with the same cores would see).
//   in memory     --dtype, no cache: the SIMD quantizers on the backend's own pool
//   first start   --dtype through an empty quantized-weights cache: quantize into a GGUF, then load it
//   second start  --dtype through that cache: load the GGUF
//   GGUF start    the equivalent GGUF (`convert --type <dtype> --pure`, the same types) as a .gguf
//   before        (with --before ROOT) --dtype with ROOT's code, e.g. a main checkout whose
//                 quantize-on-load runs the reference TypeScript quantizers
//
//   node --import tsx bench/quant-start.ts [--dir .bench/qwen3-0.6b] [--dtypes q8_0,q4_0,q4_k]
//                                          [--threads 2] [--before /path/to/checkout]
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cachedGguf, matchingGgufType } from "../src/bench/weights.js";
import { synthesize } from "../src/tools/synth.js";

const { values: v } = parseArgs({
  options: {
    dir: { type: "string" },
    dtypes: { type: "string", default: "q8_0,q4_0,q4_k" },
    threads: { type: "string", default: String(availableParallelism()) },
    before: { type: "string" },
    child: { type: "string" },
  },
});

/** One timed start, in this (fresh) process. */
interface Job {
  readonly root: string; // checkout whose src/ runs
  readonly model: string; // directory or .gguf
  readonly dtype?: string;
  readonly cacheDir?: string; // set: through the quantized-weights cache
  readonly threads: number;
}

async function child(job: Job): Promise<void> {
  const open = (await import(join(job.root, "src/open.ts"))) as typeof import("../src/open.js");
  const wasm = (await import(join(job.root, "src/kernels/wasm/index.ts"))) as typeof import("../src/kernels/wasm/index.js");
  const dtype = job.dtype as "q8_0" | "q4_0" | "q4_k" | undefined;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const backend = await wasm.createWasmBackend({ threads: job.threads, ...(dtype === undefined ? {} : { dtype }) });
  const src = await open.openModelSource(job.model);
  const quantize = dtype !== undefined && job.cacheDir !== undefined ? { quantize: { dtype, cache: true, cacheDir: job.cacheDir, threads: job.threads } } : {};
  const model = await src.loadModel({ backend, ...quantize });
  const seconds = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  model.backend.dispose();
  process.stdout.write(`${JSON.stringify({ seconds, cpu: (cu.user + cu.system) / 1e6 })}\n`);
}

interface Timing {
  readonly seconds: number;
  readonly cpu: number;
}

function timed(job: Job): Timing {
  const r = spawnSync(process.execPath, ["--import", "tsx", new URL(import.meta.url).pathname, "--child", JSON.stringify(job)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`start failed (${JSON.stringify(job)}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Timing;
}

/** Read every file under `path` once, so each start finds them in the page cache. */
function warm(path: string): void {
  const files = existsSync(join(path, "config.json")) ? readdirSync(path).map((f) => join(path, f)) : [path];
  for (const f of files) readFileSync(f);
}

async function main(): Promise<void> {
  const root = resolve(new URL("..", import.meta.url).pathname);
  const threads = Number(v.threads);
  const dir = v.dir ?? join(root, ".bench", "qwen3-0.6b");
  if (!existsSync(join(dir, "config.json"))) {
    process.stderr.write(`synthesizing a Qwen3-0.6B-shaped bf16 model into ${dir} (once)\n`);
    synthesize({ preset: "qwen3-0.6b", out: dir, seed: 0 });
  }
  warm(dir);
  const rows: string[] = ["dtype  | before (TS) | in memory | first start | second start | GGUF start | first / GGUF | second / GGUF"];
  for (const dtype of v.dtypes.split(",").map((d) => d.trim())) {
    const gguf = await cachedGguf(dir, matchingGgufType("bf16", dtype as "q8_0"), join(root, ".bench", "gguf"), (l) => process.stderr.write(`${l}\n`));
    warm(gguf);
    const cacheDir = mkdtempSync(join(tmpdir(), "qwenrt-quant-start-"));
    try {
      const before = v.before === undefined ? undefined : timed({ root: resolve(v.before), model: dir, dtype, threads });
      const inMemory = timed({ root, model: dir, dtype, threads });
      const first = timed({ root, model: dir, dtype, cacheDir, threads });
      const second = timed({ root, model: dir, dtype, cacheDir, threads });
      const ggufStart = timed({ root, model: gguf, threads });
      const s = (x: Timing | undefined): string => (x === undefined ? "-" : `${x.seconds.toFixed(1)} s (${x.cpu.toFixed(1)})`);
      const r = (a: Timing, b: Timing): string => `${(a.seconds / b.seconds).toFixed(2)}× (${(a.cpu / b.cpu).toFixed(2)}×)`;
      rows.push(`${dtype.padEnd(6)} | ${s(before)} | ${s(inMemory)} | ${s(first)} | ${s(second)} | ${s(ggufStart)} | ${r(first, ggufStart)} | ${r(second, ggufStart)}`);
      process.stderr.write(`${rows.at(-1)}\n`);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${rows.join("\n")}\n`);
}

if (v.child !== undefined) await child(JSON.parse(v.child) as Job);
else await main();
