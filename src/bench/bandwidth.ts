/**
 * A STREAM-like memory read bandwidth probe: each thread sums (XORs) its own buffer, larger than
 * the caches, with 128-bit WASM SIMD loads — the access pattern of a decode matvec streaming
 * weights — both as one sequential stream and as four streams (the buffer's quarters read in
 * lockstep, as the decode kernels read weights: assembly/streams.ts). One stream per thread is
 * limited by how far the hardware prefetcher runs ahead (7-8 GB/s per thread on the Intel Xeon
 * here, 10-12 with four), so the roofline is the faster of the two. The module is a few
 * hand-encoded bytes, so the probe needs no build step.
 */
import { Worker } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { QwenrtError } from "../util/errors.js";

/** Result of {@link measureReadBandwidth}. */
export interface BandwidthResult {
  readonly threads: number;
  /** Best aggregate read rate over the passes, bytes per second: the faster of the two patterns. */
  readonly bytesPerSecond: number;
  /** Best rate reading one sequential stream per thread, and four (the buffer's quarters in lockstep). */
  readonly oneStream: number;
  readonly fourStreams: number;
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
 * `read4` (same signature) reads the same bytes as four streams: 16 bytes of each quarter in turn.
 */
export function readLoopModule(): Uint8Array {
  const read: number[] = [
    0x02, 0x01, 0x7f, 0x04, 0x7b, // locals: $end i32, $a $b $c $d v128
    0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x02, // $end = $p + $n
    0x03, 0x40, // loop
  ];
  for (let k = 0; k < 4; k++) {
    // $acc_k = $acc_k ^ v128.load offset=16k ($p)
    read.push(0x20, 3 + k, 0x20, 0x00, 0xfd, 0x00, 0x04, 16 * k, 0xfd, 0x51, 0x21, 3 + k);
  }
  read.push(0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x22, 0x00); // $p = $p + 64 (tee)
  const read4: number[] = [
    0x02, 0x02, 0x7f, 0x04, 0x7b, // locals: $end $h i32, $a $b $c $d v128
    0x20, 0x01, 0x41, 0x02, 0x76, 0x21, 0x03, // $h = $n >> 2
    0x20, 0x00, 0x20, 0x03, 0x6a, 0x21, 0x02, // $end = $p + $h
    0x03, 0x40, // loop
  ];
  const quarter = [[], [0x20, 0x03, 0x6a], [0x20, 0x03, 0x41, 0x01, 0x74, 0x6a], [0x20, 0x03, 0x41, 0x03, 0x6c, 0x6a]]; // + 0, h, 2h, 3h
  for (let k = 0; k < 4; k++) {
    // $acc_k = $acc_k ^ v128.load ($p + k·$h)
    read4.push(0x20, 4 + k, 0x20, 0x00, ...quarter[k]!, 0xfd, 0x00, 0x04, 0x00, 0xfd, 0x51, 0x21, 4 + k);
  }
  read4.push(0x20, 0x00, 0x41, 0x10, 0x6a, 0x22, 0x00); // $p = $p + 16 (tee)
  const finish = (acc: number): number[] => [
    0x20, 0x02, 0x49, 0x0d, 0x00, // br_if 0 ($p < $end, unsigned)
    0x0b, // end loop
    0x20, acc, 0x20, acc + 1, 0xfd, 0x51, 0x20, acc + 2, 0xfd, 0x51, 0x20, acc + 3, 0xfd, 0x51, // a ^ b ^ c ^ d
    0xfd, 0x1b, 0x00, // i32x4.extract_lane 0
    0x0b,
  ];
  read.push(...finish(3));
  read4.push(...finish(4));
  const name = (s: string): number[] => [...leb(s.length), ...Buffer.from(s, "utf8")];
  const code = (body: number[]): number[] => [...leb(body.length), ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]),
    ...section(2, [0x01, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]),
    ...section(3, [0x02, 0x00, 0x00]),
    ...section(7, [0x02, ...name("read"), 0x00, 0x00, ...name("read4"), 0x00, 0x01]),
    ...section(10, [0x02, ...code(read), ...code(read4)]),
  ]);
}

// Runs in each worker (plain JS, `eval: true`): signal ready, then one read per released pass.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { bytes, size, passes, sync, index } = workerData;
const memory = new WebAssembly.Memory({ initial: Math.ceil(size / 65536) });
const { read, read4 } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
new Uint8Array(memory.buffer).fill(1 + index);
read(0, size);
const flags = new Int32Array(sync);
Atomics.add(flags, 0, 1);
Atomics.notify(flags, 0);
let sink = 0;
for (let p = 0; p < passes; p++) {
  while (Atomics.load(flags, 1) <= p) Atomics.wait(flags, 1, p);
  sink ^= (p % 2 === 0 ? read : read4)(0, size); // even passes one stream, odd passes four
  Atomics.add(flags, 2, 1);
  Atomics.notify(flags, 2);
}
parentPort.postMessage({ sink });
`;

/**
 * Measure aggregate read bandwidth with `threads` threads, each reading its own `bufferBytes`
 * buffer `passes` times in lockstep, alternating one stream and four; reports the best pass of each
 * pattern and the better one (as STREAM does).
 *
 * @example
 * const bw = await measureReadBandwidth({ threads: 2 });
 * console.log(`${(bw.bytesPerSecond / 1e9).toFixed(1)} GB/s`);
 */
export async function measureReadBandwidth(opts: { threads: number; bufferBytes?: number; passes?: number }): Promise<BandwidthResult> {
  const { threads } = opts;
  const size = Math.ceil((opts.bufferBytes ?? 128 * 2 ** 20) / 65536) * 65536;
  const passes = opts.passes ?? 10;
  if (!Number.isInteger(threads) || threads < 1) throw new QwenrtError("threads", `must be a positive integer, got ${threads}`);
  if (!Number.isInteger(passes) || passes < 2) throw new QwenrtError("passes", `must be an integer ≥ 2 (one-stream and four-stream passes alternate), got ${passes}`);
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
    const rate = (odd: number): number => (threads * size) / Math.min(...wall.filter((_, p) => p % 2 === odd));
    const oneStream = rate(0), fourStreams = rate(1);
    return { threads, bytesPerSecond: Math.max(oneStream, fourStreams), oneStream, fourStreams, bufferBytes: size };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
