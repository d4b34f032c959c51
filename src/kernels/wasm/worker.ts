/**
 * A pool worker: instantiates the shared kernel module on every memory bank, then loops forever —
 * wait for the job generation in the home bank to change (brief spin, then Atomics.wait), then claim
 * and run chunks of that job on the bank it names until none are left. No messages on the hot path;
 * `quit` in the home job block (or terminate()) ends it. A bank added later is posted to the worker's
 * bank port before any of its jobs; the worker takes it with a synchronous receive the first time it
 * meets one of that bank's jobs.
 */
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { JOB, instantiateKernels, tagOf, type BankAdded, type BankInit, type KernelExports, type WorkerInit, type WorkerReply } from "./protocol.js";

function isInit(v: unknown): v is WorkerInit {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "init";
}

function isBankAdded(v: unknown): v is BankAdded {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "bank";
}

interface WorkerBank {
  readonly kernels: KernelExports;
  readonly job: number;
  readonly ctl: Int32Array; // the bank's job block
}

function bank(module: WorkerInit["module"], b: BankInit): WorkerBank {
  return { kernels: instantiateKernels(module, b.memory), job: b.job, ctl: new Int32Array(b.memory.buffer, b.job, JOB.bytes / 4) };
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error("worker.ts must run as a worker thread");
  const init: unknown = workerData;
  if (!isInit(init)) throw new Error("worker started without an init message");
  const reply = (m: WorkerReply): void => port.postMessage(m);
  const banks: (WorkerBank | undefined)[] = [];
  try {
    for (const b of init.banks) banks.push(bank(init.module, b));
  } catch (e) {
    reply({ kind: "error", tid: init.tid, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  /** Instantiate every bank posted so far. */
  const receiveBanks = (): void => {
    for (let m = receiveMessageOnPort(init.port); m !== undefined; m = receiveMessageOnPort(init.port)) {
      const b: unknown = m.message;
      if (!isBankAdded(b)) continue;
      banks[b.index] = bank(init.module, b);
      const ack: WorkerReply = { kind: "bank", tid: init.tid, index: b.index };
      init.port.postMessage(ack);
    }
  };
  const home = banks[0]!.ctl;
  const gen = JOB.generation / 4, done = JOB.done / 4, quit = JOB.quit / 4, err = JOB.error / 4, which = JOB.bank / 4;
  let seen = Atomics.load(home, gen);
  reply({ kind: "ready", tid: init.tid });
  for (;;) {
    let g = Atomics.load(home, gen);
    for (let i = 0; g === seen && i < init.spin; i++) g = Atomics.load(home, gen);
    while (g === seen) {
      Atomics.wait(home, gen, seen);
      g = Atomics.load(home, gen);
    }
    seen = g;
    if (Atomics.load(home, quit) !== 0) return;
    // A bank read after a newer job was published belongs to that job: its tag differs from g's, so
    // `run` claims nothing, and the next turn of the loop runs it.
    const index = Atomics.load(home, which);
    let b = banks[index];
    try {
      if (b === undefined) {
        receiveBanks();
        b = banks[index];
        if (b === undefined) throw new Error(`bank ${index} was never sent`);
      }
      b.kernels.run(b.job, tagOf(g), init.tid);
    } catch (e) {
      console.error(`qwenrt wasm worker ${init.tid}:`, e);
      Atomics.store(home, err, 1);
      Atomics.notify(b?.ctl ?? home, done);
    }
  }
}

main();
