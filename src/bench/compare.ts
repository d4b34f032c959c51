/**
 * `qwenrt bench` end to end: measure the machine's read bandwidth, then run qwenrt and (with
 * `vsLlamaCpp`) llama.cpp on the same weights, each in its own child process, one after the other —
 * `rounds` times, the order alternating (rounds.ts).
 */
import { existsSync, statSync } from "node:fs";
import { QwenrtError } from "../util/errors.js";
import { measureReadBandwidth } from "./bandwidth.js";
import { machineInfo } from "./machine.js";
import { warmPageCache } from "./page-cache.js";
import type { EngineJob, TrialShape } from "./method.js";
import { type BenchReport, type BenchRow, type EngineResult, ratios, toRow } from "./report.js";
import { mergeRounds, roundOrder, roundRatios, type EngineName } from "./rounds.js";
import { runEngine } from "./spawn.js";
import { type BenchDtype, cachedGguf, checkpointDtype, configVocab, ggufWeights, matchingGgufType } from "./weights.js";

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Model directory (HF checkpoint) or `.gguf` file. */
  readonly model: string;
  readonly backend: "ref" | "wasm" | "webgpu";
  readonly dtype?: BenchDtype;
  /** KV cache type of the wasm backend (default f16, as llama.cpp's). */
  readonly kv?: "f16" | "f32";
  readonly threads: number;
  readonly pp: number;
  readonly tg: number;
  readonly trials: number;
  /** Times both engines run, back to back, the order alternating (default 1; see rounds.ts). */
  readonly rounds?: number;
  readonly seed: number;
  readonly vsLlamaCpp: boolean;
  /** llama.cpp's GPU build (default false: its CPU build). */
  readonly llamaGpu?: false | "auto" | "cuda" | "vulkan";
  /** The memory bandwidth decode is judged against, bytes/s, instead of measuring the CPU's (a GPU's
   * specified bandwidth with --backend webgpu). */
  readonly roofline?: number;
  /** GGUF for llama.cpp; default: the model itself when it is a .gguf, else converted into `ggufCache`. */
  readonly gguf?: string;
  readonly ggufCache: string;
  /** Progress lines (conversion, which engine is running). */
  readonly log: (line: string) => void;
}

/**
 * Run the comparison and return the report.
 *
 * @example
 * const report = await runBench({ model: ".bench/qwen3-0.6b", backend: "wasm", dtype: "q8_0", threads: 2,
 *   pp: 512, tg: 128, trials: 3, seed: 0, vsLlamaCpp: true, ggufCache: ".bench/gguf", log: console.error });
 */
export async function runBench(o: BenchOptions): Promise<BenchReport> {
  if (!existsSync(o.model)) throw new QwenrtError(o.model, "no such model directory or .gguf file", { code: "not_found" });
  const rounds = o.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) throw new QwenrtError("rounds", `must be a positive integer, got ${rounds}`);
  const isGguf = statSync(o.model).isFile();
  if (isGguf && o.dtype !== undefined) throw new QwenrtError("--dtype", "quantize-on-load applies to float checkpoints; this model is a .gguf file");

  let vocab = isGguf ? ggufWeights(o.model).vocab : configVocab(o.model);
  let peer: { path: string; type: string; bytesPerToken: number } | undefined;
  if (o.vsLlamaCpp) {
    const path = o.gguf ?? (isGguf ? o.model : await cachedGguf(o.model, matchingGgufType(checkpointDtype(o.model), o.dtype), o.ggufCache, o.log));
    const w = ggufWeights(path);
    vocab = Math.min(vocab, w.vocab); // both engines get the same prompts
    peer = { path, type: w.type, bytesPerToken: w.bytesPerToken };
  }
  const shape: TrialShape = { pp: o.pp, tg: o.tg, trials: o.trials, seed: o.seed, vocab };

  const bandwidth: Record<string, number> = {};
  if (o.roofline !== undefined) {
    bandwidth["given"] = o.roofline;
  } else {
    o.log(`measuring memory read bandwidth (1${o.threads > 1 ? ` and ${o.threads}` : ""} thread${o.threads > 1 ? "s" : ""})`);
    for (const t of probeThreads(o.threads)) bandwidth[String(t)] = (await measureReadBandwidth({ threads: t })).bytesPerSecond;
  }

  o.log(`qwenrt: ${o.backend} backend${o.dtype !== undefined ? `, ${o.dtype} on load` : ""}, ${o.kv !== undefined ? `${o.kv} KV, ` : ""}${o.threads} threads, pp${o.pp} tg${o.tg} × ${o.trials}${rounds > 1 ? `, ${rounds} rounds` : ""}`);
  const qwenrtJob: EngineJob = { engine: "qwenrt", model: o.model, backend: o.backend, threads: o.threads, shape, ...(o.dtype !== undefined ? { dtype: o.dtype } : {}), ...(o.kv !== undefined ? { kv: o.kv } : {}) };
  const llamaJob: EngineJob | undefined =
    peer === undefined ? undefined : { engine: "llama.cpp", model: peer.path, type: peer.type, weightBytesPerToken: peer.bytesPerToken, threads: o.threads, shape, ...(o.llamaGpu !== undefined ? { gpu: o.llamaGpu } : {}) };
  // Load times compare engines, not disk states: each engine starts with its files in the page cache.
  const warm = (path: string): void => {
    const w = warmPageCache(path);
    o.log(`  page cache: ${(w.bytes / 1e9).toFixed(2)} GB of weights read in ${w.seconds.toFixed(1)} s before the engine starts`);
  };
  const byEngine: Record<EngineName, EngineResult[]> = { qwenrt: [], "llama.cpp": [] };
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) o.log(`round ${round + 1} of ${rounds}`);
    for (const engine of roundOrder(round)) {
      const job = engine === "qwenrt" ? qwenrtJob : llamaJob;
      if (job === undefined) continue;
      if (engine === "llama.cpp" || round > 0) o.log(`${engine}: ${job.model}`);
      warm(job.model);
      byEngine[engine].push(await runEngine(job));
    }
  }
  const results = (["qwenrt", "llama.cpp"] as const).filter((e) => byEngine[e].length > 0).map((e) => mergeRounds(byEngine[e]));
  // Probed again after the engines: on a shared host one probe can come out well below what the
  // machine delivers (single probes here read 9.6 to 25 GB/s on 2 threads within an hour), and an
  // engine would then show over 100% of its roofline.
  if (o.roofline === undefined) {
    o.log("measuring memory read bandwidth again, after the engines");
    for (const t of probeThreads(o.threads)) bandwidth[`${t} after`] = (await measureReadBandwidth({ threads: t })).bytesPerSecond;
  }
  // The roofline is the best rate the machine delivered with up to `threads` threads (on a shared
  // machine the 2-thread pass can come out below the 1-thread one).
  const roof = Math.max(...Object.values(bandwidth));
  const rows: BenchRow[] = results.map((r) => toRow(r, o.pp, o.tg, roof));
  const r = ratios(rows);
  const perRound = rounds > 1 && llamaJob !== undefined ? roundRatios(byEngine.qwenrt, byEngine["llama.cpp"], o.pp, o.tg) : undefined;
  return {
    model: o.model, pp: o.pp, tg: o.tg, trials: o.trials, threads: o.threads, seed: o.seed, machine: machineInfo(), bandwidth, rows,
    ...(r !== undefined ? { ratios: r } : {}),
    ...(rounds > 1 ? { rounds } : {}),
    ...(perRound !== undefined ? { roundRatios: perRound } : {}),
  };
}

/** Thread counts the read bandwidth is probed with: 1, and `threads` when more. */
function probeThreads(threads: number): number[] {
  return threads > 1 ? [1, threads] : [1];
}
