/**
 * A pool worker: instantiates the shared kernel module on the shared memory, then loops forever —
 * wait for the job generation to change (brief spin, then Atomics.wait), then claim and run chunks of
 * that job until none are left. No messages on the hot path; `quit` in the job block (or
 * terminate()) ends it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { JOB, instantiateKernels, tagOf, type WorkerInit, type WorkerReply } from "./protocol.js";

function isInit(v: unknown): v is WorkerInit {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "init";
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error("worker.ts must run as a worker thread");
  const init: unknown = workerData;
  if (!isInit(init)) throw new Error("worker started without an init message");
  const reply = (m: WorkerReply): void => port.postMessage(m);
  let kernels;
  try {
    kernels = instantiateKernels(init.module, init.memory);
  } catch (e) {
    reply({ kind: "error", tid: init.tid, message: e instanceof Error ? e.message : String(e) });
    return;
  }
  const ctl = new Int32Array(init.memory.buffer, init.job, JOB.bytes / 4);
  const gen = JOB.generation / 4, done = JOB.done / 4, quit = JOB.quit / 4, err = JOB.error / 4;
  let seen = Atomics.load(ctl, gen);
  reply({ kind: "ready", tid: init.tid });
  for (;;) {
    let g = Atomics.load(ctl, gen);
    for (let i = 0; g === seen && i < init.spin; i++) g = Atomics.load(ctl, gen);
    while (g === seen) {
      Atomics.wait(ctl, gen, seen);
      g = Atomics.load(ctl, gen);
    }
    seen = g;
    if (Atomics.load(ctl, quit) !== 0) return;
    try {
      kernels.run(init.job, tagOf(g), init.tid);
    } catch (e) {
      console.error(`qwenrt wasm worker ${init.tid}:`, e);
      Atomics.store(ctl, err, 1);
      Atomics.notify(ctl, done);
    }
  }
}

main();
