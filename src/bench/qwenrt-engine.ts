/**
 * qwenrt's side of the benchmark, run inside its own child process: load the model with the chosen
 * backend, warm up, then per trial prefill a seeded prompt to the first greedy token and decode
 * `tg` more. Weight bytes per token are counted from the matmuls one decode step actually runs.
 */
import { performance } from "node:perf_hooks";
import { rowBytes } from "../formats/quant/index.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { HostMatrix, KernelBackend, Matrix, MoeWeights } from "../kernels/types.js";
import { loadModel } from "../models/load.js";
import type { Model } from "../models/model.js";
import { type EngineJob, type EngineReply, type Trial, peakRssBytes, promptIds, warmupShape } from "./method.js";

type QwenrtJob = Extract<EngineJob, { engine: "qwenrt" }>;

/** Bytes a decode step streams for a matrix: its rows in the type the backend holds (ref: f32). */
function storedBytes(m: Matrix): number {
  return m.rows * rowBytes(m.type, m.cols);
}

/** What a counting backend has seen. */
interface Counts {
  counting: boolean; // matmuls add their weight bytes to `bytes` while true
  bytes: number;
  readonly types: Set<string>; // matrix types as the backend stored them
}

/**
 * Wrap `inner` in a Proxy that counts the weight bytes each kernel call reads: any argument that is
 * a matrix this backend loaded (also inside an array argument) counts once per call, so fused
 * kernels that take several matrices are counted as well as plain `matmul`.
 */
function countingBackend(inner: KernelBackend): { backend: KernelBackend; counts: Counts } {
  const counts: Counts = { counting: false, bytes: 0, types: new Set() };
  const loaded = new WeakSet<object>();
  const count = (arg: unknown): void => {
    if (Array.isArray(arg)) arg.forEach(count);
    else if (typeof arg === "object" && arg !== null && loaded.has(arg)) counts.bytes += storedBytes(arg as Matrix);
  };
  const took = (w: Matrix): Matrix => {
    loaded.add(w);
    counts.types.add(w.type);
    return w;
  };
  const loadMatrix: KernelBackend["loadMatrix"] = (m: HostMatrix): Matrix => took(inner.loadMatrix(m));
  const from = inner.loadMatrixFrom?.bind(inner);
  const loadMatrixFrom: KernelBackend["loadMatrixFrom"] =
    from === undefined ? undefined : async (type, rows, cols, read) => took(await from(type, rows, cols, read));
  const backend = new Proxy(inner, {
    get(target, prop): unknown {
      if (prop === "loadMatrix") return loadMatrix;
      if (prop === "loadMatrixFrom") return loadMatrixFrom;
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== "function") return v;
      const f = v as (...a: unknown[]) => unknown;
      // embedRow / embed read one row per token, not the matrix: not weight streaming.
      if (prop === "embedRow" || prop === "embed") return f.bind(target);
      // A decode step of an MoE block reads its router and topK experts (all experts are alike).
      if (prop === "moe") {
        return (w: MoeWeights, ...rest: unknown[]): unknown => {
          if (counts.counting) {
            const e = w.experts[0];
            count(w.router);
            if (e !== undefined) for (let k = 0; k < w.topK; k++) [e.gate, e.up, e.down].forEach(count);
          }
          return f.apply(target, [w, ...rest]);
        };
      }
      return (...args: unknown[]): unknown => {
        if (counts.counting) args.forEach(count);
        return f.apply(target, args);
      };
    },
  });
  return { backend, counts };
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/** Prefill `ids`, then `tg` greedy steps; returns the timings. */
function runTrial(model: Model, ids: Int32Array, tg: number): Trial {
  const seq = model.newSequence(ids.length + tg + 1);
  try {
    const t0 = performance.now();
    let tok = argmax(model.forward([{ seq, ids }])[0]!);
    const t1 = performance.now();
    const one = new Int32Array(1);
    for (let i = 0; i < tg; i++) {
      one[0] = tok;
      tok = argmax(model.forward([{ seq, ids: one }])[0]!);
    }
    const t2 = performance.now();
    return { ttftSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000 };
  } finally {
    model.release(seq); // its KV cache back to the heap: trials must not add up in peak RSS
  }
}

async function makeBackend(job: QwenrtJob): Promise<KernelBackend> {
  if (job.backend === "ref") return createRefBackend();
  const { createWasmBackend } = await import("../kernels/wasm/index.js");
  return createWasmBackend({ threads: job.threads, ...(job.dtype !== undefined ? { dtype: job.dtype } : {}), ...(job.kv !== undefined ? { kv: job.kv } : {}) });
}

/**
 * Measure qwenrt on `job` (call in a fresh process: peak RSS is the process's).
 *
 * @example
 * const reply = await runQwenrt({ engine: "qwenrt", model: dir, backend: "wasm", threads: 2, shape });
 */
export async function runQwenrt(job: QwenrtJob): Promise<EngineReply> {
  const { shape } = job;
  const { backend, counts } = countingBackend(await makeBackend(job));
  try {
    const t0 = performance.now();
    const model = await loadModel(job.model, { backend });
    const loadSeconds = (performance.now() - t0) / 1000;
    const vocab = Math.min(shape.vocab, model.config.vocabSize);

    const warm = warmupShape(shape);
    runTrial(model, promptIds(shape.seed, "warmup", warm.pp, vocab), warm.tg);
    // One decode step after a one-token prompt: the matmuls of a step, counted once.
    const seq = model.newSequence(4);
    model.forward([{ seq, ids: Int32Array.of(0) }]);
    counts.counting = true;
    model.forward([{ seq, ids: Int32Array.of(1) }]);
    counts.counting = false;
    model.release(seq);

    const trials: Trial[] = [];
    for (let t = 0; t < shape.trials; t++) trials.push(runTrial(model, promptIds(shape.seed, t, shape.pp, vocab), shape.tg));
    const threads = backend.threads;
    return {
      kind: "result",
      engine: "qwenrt",
      detail: `${backend.name}, ${threads} thread${threads === 1 ? "" : "s"}, ${backend.kvType} KV`,
      type: [...counts.types].sort().join("+"),
      loadSeconds,
      trials,
      weightBytesPerToken: counts.bytes,
      peakRssBytes: peakRssBytes(),
    };
  } finally {
    backend.dispose();
  }
}
