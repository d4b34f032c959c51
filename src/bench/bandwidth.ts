/**
 * A STREAM-like memory read bandwidth probe: each thread sums (XORs) its own buffer, larger than
 * the caches, with 128-bit WASM SIMD loads — the access pattern of a decode matvec streaming
 * weights. The module is a few hand-encoded bytes, so the probe needs no build step.
 */
import { Worker } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { QwenrtError } from "../util/errors.js";

/** Result of {@link measureReadBandwidth}. */
export interface BandwidthResult {
  readonly threads: number;
  /** Best aggregate read rate over the passes, bytes per second. */
  readonly bytesPerSecond: number;
  /** Bytes each thread read per pass. */
  readonly bufferBytes: number;
}

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];

/**
 * `(func (export "read") (param $p i32) (param $n i32) (result i32))` over an imported memory:
 * XORs `n` bytes from `p` (n a positive multiple of 64) into four v128 accumulators, returns lane 0.
 */
export function readLoopModule(): Uint8Array {
  const body: number[] = [
    0x02, 0x01, 0x7f, 0x04, 0x7b, // locals: $end i32, $a $b $c $d v128
    0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x02, // $end = $p + $n
    0x03, 0x40, // loop
  ];
  for (let k = 0; k < 4; k++) {
    // $acc_k = $acc_k ^ v128.load offset=16k ($p)
    body.push(0x20, 3 + k, 0x20, 0x00, 0xfd, 0x00, 0x04, 16 * k, 0xfd, 0x51, 0x21, 3 + k);
  }
  body.push(
    0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x22, 0x00, // $p = $p + 64 (tee)
    0x20, 0x02, 0x49, 0x0d, 0x00, // br_if 0 ($p < $end, unsigned)
    0x0b, // end loop
    0x20, 0x03, 0x20, 0x04, 0xfd, 0x51, 0x20, 0x05, 0xfd, 0x51, 0x20, 0x06, 0xfd, 0x51, // a ^ b ^ c ^ d
    0xfd, 0x1b, 0x00, // i32x4.extract_lane 0
    0x0b,
  );
  const name = (s: string): number[] => [...leb(s.length), ...Buffer.from(s, "utf8")];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]),
    ...section(2, [0x01, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]),
    ...section(3, [0x01, 0x00]),
    ...section(7, [0x01, ...name("read"), 0x00, 0x00]),
    ...section(10, [0x01, ...leb(body.length), ...body]),
  ]);
}

// Runs in each worker (plain JS, `eval: true`): signal ready, then one read per released pass.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { bytes, size, passes, sync, index } = workerData;
const memory = new WebAssembly.Memory({ initial: Math.ceil(size / 65536) });
const { read } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
new Uint8Array(memory.buffer).fill(1 + index);
read(0, size);
const flags = new Int32Array(sync);
Atomics.add(flags, 0, 1);
Atomics.notify(flags, 0);
let sink = 0;
for (let p = 0; p < passes; p++) {
  while (Atomics.load(flags, 1) <= p) Atomics.wait(flags, 1, p);
  sink ^= read(0, size);
  Atomics.add(flags, 2, 1);
  Atomics.notify(flags, 2);
}
parentPort.postMessage({ sink });
`;

/**
 * Measure aggregate read bandwidth with `threads` threads, each reading its own `bufferBytes`
 * buffer `passes` times in lockstep; reports the best pass (as STREAM does).
 *
 * @example
 * const bw = await measureReadBandwidth({ threads: 2 });
 * console.log(`${(bw.bytesPerSecond / 1e9).toFixed(1)} GB/s`);
 */
export async function measureReadBandwidth(opts: { threads: number; bufferBytes?: number; passes?: number }): Promise<BandwidthResult> {
  const { threads } = opts;
  const size = Math.ceil((opts.bufferBytes ?? 128 * 2 ** 20) / 65536) * 65536;
  const passes = opts.passes ?? 8;
  if (!Number.isInteger(threads) || threads < 1) throw new QwenrtError("threads", `must be a positive integer, got ${threads}`);
  const bytes = readLoopModule();
  const sync = new SharedArrayBuffer(12); // [ready, pass released, threads done with pass]
  const flags = new Int32Array(sync);
  const workers = Array.from({ length: threads }, (_, index) => new Worker(WORKER_SOURCE, { eval: true, workerData: { bytes, size, passes, sync, index } }));
  const results = workers.map(
    (w) =>
      new Promise<void>((resolve, reject) => {
        w.once("message", () => resolve());
        w.once("error", reject);
      }),
  );
  try {
    while (Atomics.load(flags, 0) < threads) await new Promise((r) => setTimeout(r, 5));
    const wall: number[] = [];
    for (let p = 0; p < passes; p++) {
      const t0 = performance.now();
      Atomics.store(flags, 1, p + 1);
      Atomics.notify(flags, 1);
      // The main thread waits here; workers alone touch memory during the pass.
      while (Atomics.load(flags, 2) < threads * (p + 1)) Atomics.wait(flags, 2, Atomics.load(flags, 2), 1);
      wall.push((performance.now() - t0) / 1000);
    }
    await Promise.all(results);
    // A pass lasts from release until its slowest thread finishes (wake-up is ~0.1% of a pass).
    return { threads, bytesPerSecond: (threads * size) / Math.min(...wall), bufferBytes: size };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
