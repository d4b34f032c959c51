/**
 * A persistent pool of worker threads sharing one wasm memory. A job is written into the job block
 * (kernel id, item count, chunk size, arguments), the generation counter is bumped and notified,
 * the main thread works on chunks itself, then waits until every chunk is finished (brief spin, then
 * Atomics.wait). Threads claim chunks with a tagged atomic counter, so a slow or descheduled worker
 * only does less, and the main thread never waits for a worker that has no chunk.
 */
import { Worker } from "node:worker_threads";
import { QwenrtError } from "../../util/errors.js";
import { JOB, TAG_INVALID, TAG_MAIN, tagOf, type KernelExports, type WorkerInit, type WorkerReply } from "./protocol.js";
import type { WasmMemory, WasmModule } from "./wasm_api.js";

/** Polls of a counter before sleeping in Atomics.wait: short, since cores are easily oversubscribed. */
const SPIN = 20000;

function isReply(v: unknown): v is WorkerReply {
  const k = typeof v === "object" && v !== null ? (v as { kind?: unknown }).kind : undefined;
  return k === "ready" || k === "error";
}

/** A job argument: an integer/pointer (stored as u32) or a float (stored as f32). */
export type JobArg = number | { readonly f32: number };

/**
 * How to start a worker: from compiled dist/ the `worker.js` beside this module; from source under
 * tsx the `worker.ts` beside it, through a small bootstrap that registers tsx's loader in the worker
 * first (on Node 20 workers do not inherit the `--import tsx` hooks).
 */
function workerSpawner(): (init: WorkerInit) => Worker {
  if (!import.meta.url.endsWith(".ts")) {
    const url = new URL("./worker.js", import.meta.url);
    return (init) => new Worker(url, { workerData: init });
  }
  const target = new URL("./worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return (init) => new Worker(code, { eval: true, workerData: init });
}

export class Pool {
  readonly threads: number;
  private readonly ctl: Int32Array; // [JOB.bytes / 4] the job block
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private readonly workers: Worker[];
  private disposed = false;
  private broken = false; // a worker threw mid-job: its chunk never completes

  private constructor(private readonly kernels: KernelExports, memory: WasmMemory, private readonly job: number, workers: Worker[]) {
    this.threads = workers.length + 1;
    this.ctl = new Int32Array(memory.buffer, job, JOB.bytes / 4);
    this.u32 = new Uint32Array(memory.buffer, job, JOB.bytes / 4);
    this.f32 = new Float32Array(memory.buffer, job, JOB.bytes / 4);
    this.workers = workers;
  }

  /** Start `threads - 1` workers (the calling thread is the last one) and wait until each is ready. */
  static async create(module: WasmModule, memory: WasmMemory, kernels: KernelExports, job: number, threads: number): Promise<Pool> {
    const spawn = workerSpawner();
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const init: WorkerInit = { kind: "init", module, memory, job, tid, spin: SPIN };
      const w = spawn(init);
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.once("error", reject);
          w.once("exit", (code) => reject(new Error(`worker ${tid} exited with code ${code} during setup`)));
          w.once("message", (m: unknown) => {
            if (!isReply(m)) reject(new Error(`worker ${tid} sent an unexpected message`));
            else if (m.kind === "error") reject(new Error(`worker ${tid}: ${m.message}`));
            else resolve();
          });
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw new QwenrtError("wasm backend", `could not start the worker pool: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    for (const w of workers) {
      w.removeAllListeners();
      w.on("error", (e) => console.error("qwenrt wasm worker:", e));
      w.unref(); // never keep the process alive
    }
    return new Pool(kernels, memory, job, workers);
  }

  /** Run `kernel` over `total` items in chunks of `chunk`, on all threads when there is more than one chunk. */
  run(kernel: number, total: number, chunk: number, args: readonly JobArg[]): void {
    if (this.broken) throw new QwenrtError("wasm backend", "a kernel failed in a worker thread earlier; create a new backend");
    if (this.disposed) throw new QwenrtError("wasm backend", "used after dispose()");
    if (total <= 0) return;
    const ctl = this.ctl;
    const counter = JOB.counter / 4;
    // Invalidate the counter before rewriting the job: no late thread can claim a chunk of it now.
    Atomics.store(ctl, counter, TAG_INVALID << 20);
    const base = JOB.args / 4;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === "number") this.u32[base + i] = a >>> 0;
      else this.f32[base + i] = a.f32;
    }
    ctl[JOB.kernel / 4] = kernel;
    ctl[JOB.chunk / 4] = chunk;
    ctl[JOB.total / 4] = total;
    Atomics.store(ctl, JOB.done / 4, 0);
    const parallel = this.workers.length > 0 && total > chunk;
    const gen = (Atomics.load(ctl, JOB.generation / 4) + 1) | 0;
    const tag = parallel ? tagOf(gen) : TAG_MAIN; // TAG_MAIN: no worker may join a job it will not wait for
    Atomics.store(ctl, counter, tag << 20);
    if (!parallel) {
      this.kernels.run(this.job, tag, 0);
      return;
    }
    Atomics.store(ctl, JOB.generation / 4, gen);
    Atomics.notify(ctl, JOB.generation / 4);
    try {
      this.kernels.run(this.job, tag, 0);
    } finally {
      // Even when this thread's share threw: the next job must not start under a running chunk.
      this.waitForChunks(Math.ceil(total / chunk));
    }
  }

  /** Wait until `chunks` chunks of the current job are finished (brief spin, then Atomics.wait). */
  private waitForChunks(chunks: number): void {
    const ctl = this.ctl;
    const done = JOB.done / 4, err = JOB.error / 4;
    let d = Atomics.load(ctl, done);
    for (let i = 0; d < chunks && i < SPIN; i++) d = Atomics.load(ctl, done);
    while (d < chunks) {
      if (Atomics.load(ctl, err) !== 0) {
        this.broken = true;
        throw new QwenrtError("wasm backend", "a kernel failed in a worker thread (see the message above)");
      }
      Atomics.wait(ctl, done, d, 1000);
      d = Atomics.load(ctl, done);
    }
  }

  /** Stop and release the workers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, JOB.quit / 4, 1);
    Atomics.add(this.ctl, JOB.generation / 4, 1);
    Atomics.notify(this.ctl, JOB.generation / 4);
    for (const w of this.workers) void w.terminate();
  }
}
