/**
 * llama.cpp's side of the benchmark (node-llama-cpp's prebuilt CPU binary), run inside its own
 * child process so its peak RSS is its own: weights in RAM (`useMmap: false`), the same thread
 * count, batch 512, greedy decoding that carries on past end-of-generation tokens.
 */
import { performance } from "node:perf_hooks";
import { QwenrtError } from "../util/errors.js";
import { type EngineJob, type EngineReply, type Trial, peakRssBytes, promptIds, warmupShape } from "./method.js";

type LlamaJob = Extract<EngineJob, { engine: "llama.cpp" }>;

/** The slice of a node-llama-cpp context sequence this module uses. */
interface Sequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: number[], options: { temperature: number; yieldEogToken: boolean }): AsyncGenerator<number, void, void>;
}

/** Prefill `ids` to the first greedy token, then `tg` more tokens. */
async function runTrial(seq: Sequence, ids: Int32Array, tg: number): Promise<Trial> {
  await seq.clearHistory();
  const gen = seq.evaluate(Array.from(ids), { temperature: 0, yieldEogToken: true });
  const t0 = performance.now();
  const first = await gen.next();
  const t1 = performance.now();
  if (first.done === true) throw new Error("llama.cpp stopped before the first token");
  for (let i = 0; i < tg; i++) {
    const r = await gen.next();
    if (r.done === true) throw new Error(`llama.cpp stopped after ${i + 1} tokens`);
  }
  const t2 = performance.now();
  await gen.return();
  return { ttftSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000 };
}

/**
 * Measure llama.cpp on `job` (call in a fresh process). The job's `weightBytesPerToken` comes from
 * the parent, which read the GGUF's tensor table, so this process never holds a second copy.
 *
 * @example
 * const reply = await runLlamaCpp({ engine: "llama.cpp", model: "m-q8_0.gguf", type: "q8_0", weightBytesPerToken: 6.3e8, threads: 2, shape });
 */
export async function runLlamaCpp(job: LlamaJob): Promise<EngineReply> {
  const { shape, threads } = job;
  let lib: typeof import("node-llama-cpp");
  try {
    lib = await import("node-llama-cpp");
  } catch (e) {
    throw new QwenrtError("--vs llama.cpp", `node-llama-cpp is not installed: ${(e as Error).message}`, { code: "unsupported" });
  }
  const gpu = job.gpu ?? false;
  const llama = await lib.getLlama({ gpu, build: "never", logLevel: lib.LlamaLogLevel.error, maxThreads: threads });
  if (gpu !== false && llama.gpu === false) throw new QwenrtError("--llama-gpu", `node-llama-cpp found no prebuilt ${gpu === "auto" ? "GPU" : gpu} binary that runs here`, { code: "unsupported" });
  try {
    const t0 = performance.now();
    const model = await llama.loadModel({ modelPath: job.model, useMmap: false, ...(gpu !== false ? { gpuLayers: "max" as const } : {}) });
    const loadSeconds = (performance.now() - t0) / 1000;
    const contextSize = shape.pp + shape.tg + 8;
    const context = await model.createContext({
      contextSize,
      batchSize: Math.min(512, contextSize),
      threads: { ideal: threads, min: threads },
      flashAttention: false,
    });
    const seq = context.getSequence();
    const warm = warmupShape(shape);
    await runTrial(seq, promptIds(shape.seed, "warmup", warm.pp, shape.vocab), warm.tg);
    const trials: Trial[] = [];
    for (let t = 0; t < shape.trials; t++) trials.push(await runTrial(seq, promptIds(shape.seed, t, shape.pp, shape.vocab), shape.tg));
    await context.dispose();
    await model.dispose();
    return {
      kind: "result",
      engine: "llama.cpp",
      detail: `${llama.buildType === "prebuilt" ? "prebuilt " : ""}${llama.gpu === false ? "cpu" : llama.gpu}, ${threads} thread${threads === 1 ? "" : "s"}`,
      type: job.type,
      loadSeconds,
      trials,
      weightBytesPerToken: job.weightBytesPerToken,
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    await llama.dispose();
  }
}
