/**
 * A persistent pool of worker threads sharing the wasm memory banks (each thread has its own instance
 * of the kernel module on every bank). A job is written into the job block of the bank that holds
 * its data (kernel id, item count, chunk size, arguments), the bank's index and a bumped generation
 * are published in the home bank's block and notified, the main thread works on chunks itself, then
 * waits until every chunk is finished (brief spin, then Atomics.wait). Threads claim chunks with a
 * tagged atomic counter, so a slow or descheduled worker only does less, and the main thread never
 * waits for a worker that has no chunk.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { QwenrtError } from "../../util/errors.js";
import { JOB, TAG_INVALID, TAG_MAIN, tagOf, type BankAdded, type KernelExports, type KernelModule, type WorkerInit, type WorkerReply } from "./protocol.js";
import type { WasmMemory } from "./wasm_api.js";

/** Polls of a counter before sleeping in Atomics.wait: short, since cores are easily oversubscribed. */
const SPIN = 20000;

function isReply(v: unknown): v is WorkerReply {
  const k = typeof v === "object" && v !== null ? (v as { kind?: unknown }).kind : undefined;
  return k === "ready" || k === "error" || k === "bank";
}

/** A job argument: an integer/pointer (stored as u32) or a float (stored as f32). */
export type JobArg = number | { readonly f32: number };

/** Runs jobs on one bank's kernels (see `Pool.runner`). */
export interface JobRunner {
  readonly threads: number;
  /** Run `kernel` over `total` items in chunks of `chunk`, on all threads when there is more than one chunk. */
  run(kernel: number, total: number, chunk: number, args: readonly JobArg[]): void;
}

/** One bank as the main thread drives it: its kernels and its job block. */
interface PoolBank {
  readonly kernels: KernelExports;
  readonly job: number; // byte offset of the job block
  readonly ctl: Int32Array; // [JOB.bytes / 4] the job block
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
}

function poolBank(memory: WasmMemory, kernels: KernelExports, job: number): PoolBank {
  return {
    kernels,
    job,
    ctl: new Int32Array(memory.buffer, job, JOB.bytes / 4),
    u32: new Uint32Array(memory.buffer, job, JOB.bytes / 4),
    f32: new Float32Array(memory.buffer, job, JOB.bytes / 4),
  };
}

/**
 * How to start a worker: from compiled dist/ the `worker.js` beside this module; from source under
 * tsx the `worker.ts` beside it, through a small bootstrap that registers tsx's loader in the worker
 * first (on Node 20 workers do not inherit the `--import tsx` hooks).
 */
function workerSpawner(): (init: WorkerInit) => Worker {
  if (!import.meta.url.endsWith(".ts")) {
    const url = new URL("./worker.js", import.meta.url);
    return (init) => new Worker(url, { workerData: init, transferList: [init.port] });
  }
  const target = new URL("./worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return (init) => new Worker(code, { eval: true, workerData: init, transferList: [init.port] });
}

export class Pool {
  readonly threads: number;
  private readonly home: Int32Array; // the home bank's job block: generation, quit, error, bank
  private readonly banks: PoolBank[];
  private readonly workers: Worker[];
  private readonly ports: MessagePort[]; // per worker: banks added later go out, their acks come back
  private readonly joined: number[] = []; // by bank: threads with an instance, for banks added later
  private disposed = false;
  private broken = false; // a worker threw mid-job: its chunk never completes

  private constructor(home: PoolBank, workers: Worker[], ports: MessagePort[]) {
    this.threads = workers.length + 1;
    this.home = home.ctl;
    this.banks = [home];
    this.workers = workers;
    this.ports = ports;
  }

  /** Start `threads - 1` workers (the calling thread is the last one) on the home bank (`memory`,
   * whose job block is at `job`) and wait until each is ready. */
  static async create(module: KernelModule, memory: WasmMemory, kernels: KernelExports, job: number, threads: number): Promise<Pool> {
    const spawn = workerSpawner();
    const workers: Worker[] = [];
    const ports: MessagePort[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const { port1, port2 } = new MessageChannel();
      port1.unref();
      ports.push(port1);
      const init: WorkerInit = { kind: "init", module, banks: [{ memory, job }], tid, spin: SPIN, port: port2 };
      const w = spawn(init);
      workers.push(w);
      ready.push(
        new Promise<void>((resolve, reject) => {
          w.once("error", reject);
          w.once("exit", (code) => reject(new Error(`worker ${tid} exited with code ${code} during setup`)));
          w.once("message", (m: unknown) => {
            if (!isReply(m) || m.kind === "bank") reject(new Error(`worker ${tid} sent an unexpected message`));
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
    return new Pool(poolBank(memory, kernels, job), workers, ports);
  }

  /** Threads that have instantiated the kernels on bank `bank` (the calling thread always has; a
   * worker instantiates a bank added later when it first meets one of its jobs). */
  threadsOn(bank: number): number {
    for (const p of this.ports) {
      for (let m = receiveMessageOnPort(p); m !== undefined; m = receiveMessageOnPort(p)) {
        const r: unknown = m.message;
        if (isReply(r) && r.kind === "bank") this.joined[r.index] = (this.joined[r.index] ?? 1) + 1;
      }
    }
    return bank === 0 ? this.threads : (this.joined[bank] ?? 1);
  }

  /** Add a bank: `kernels` is the main thread's instance on `memory`, `job` its job block. Each
   * worker instantiates its own when it first meets one of the bank's jobs. Returns the bank's index. */
  addBank(memory: WasmMemory, kernels: KernelExports, job: number): number {
    this.live();
    const index = this.banks.length;
    this.banks.push(poolBank(memory, kernels, job));
    const msg: BankAdded = { kind: "bank", index, memory, job };
    for (const p of this.ports) p.postMessage(msg); // enqueued now, before any job of the bank
    return index;
  }

  /** A runner of jobs on bank `bank`'s kernels. */
  runner(bank: number): JobRunner {
    return { threads: this.threads, run: (kernel, total, chunk, args) => this.run(bank, kernel, total, chunk, args) };
  }

  /** Run `kernel` of bank `bank` over `total` items in chunks of `chunk`, on all threads when there
   * is more than one chunk. */
  run(bank: number, kernel: number, total: number, chunk: number, args: readonly JobArg[]): void {
    this.live();
    if (total <= 0) return;
    const b = this.banks[bank];
    if (b === undefined) throw new Error(`internal: no bank ${bank}`);
    const ctl = b.ctl;
    const counter = JOB.counter / 4;
    // Invalidate the counter before rewriting the job: no late thread can claim a chunk of it now.
    Atomics.store(ctl, counter, TAG_INVALID << 20);
    const base = JOB.args / 4;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === "number") b.u32[base + i] = a >>> 0;
      else b.f32[base + i] = a.f32;
    }
    ctl[JOB.kernel / 4] = kernel;
    ctl[JOB.chunk / 4] = chunk;
    ctl[JOB.total / 4] = total;
    Atomics.store(ctl, JOB.done / 4, 0);
    const parallel = this.workers.length > 0 && total > chunk;
    const home = this.home;
    const gen = (Atomics.load(home, JOB.generation / 4) + 1) | 0;
    const tag = parallel ? tagOf(gen) : TAG_MAIN; // TAG_MAIN: no worker may join a job it will not wait for
    Atomics.store(ctl, counter, tag << 20);
    if (!parallel) {
      b.kernels.run(b.job, tag, 0);
      return;
    }
    Atomics.store(home, JOB.bank / 4, bank);
    Atomics.store(home, JOB.generation / 4, gen);
    Atomics.notify(home, JOB.generation / 4);
    try {
      b.kernels.run(b.job, tag, 0);
    } finally {
      // Even when this thread's share threw: the next job must not start under a running chunk.
      this.waitForChunks(ctl, Math.ceil(total / chunk));
    }
  }

  /** Wait until `chunks` chunks of the job in `ctl` are finished (brief spin, then Atomics.wait). */
  private waitForChunks(ctl: Int32Array, chunks: number): void {
    const done = JOB.done / 4, err = JOB.error / 4;
    let d = Atomics.load(ctl, done);
    for (let i = 0; d < chunks && i < SPIN; i++) d = Atomics.load(ctl, done);
    while (d < chunks) {
      if (Atomics.load(this.home, err) !== 0) {
        this.broken = true;
        throw new QwenrtError("wasm backend", "a kernel failed in a worker thread (see the message above)");
      }
      Atomics.wait(ctl, done, d, 1000);
      d = Atomics.load(ctl, done);
    }
  }

  private live(): void {
    if (this.broken) throw new QwenrtError("wasm backend", "a kernel failed in a worker thread earlier; create a new backend");
    if (this.disposed) throw new QwenrtError("wasm backend", "used after dispose()");
  }

  /** Stop and release the workers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.home, JOB.quit / 4, 1);
    Atomics.add(this.home, JOB.generation / 4, 1);
    Atomics.notify(this.home, JOB.generation / 4);
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}
