// Kernel micro-benchmark of the wasm backend: decode matvec GB/s (weights streamed from DRAM through
// rotating copies larger than the caches) and prefill GEMM GFLOP/s, beside the plain-TS ref backend
// in the same run (the machines are noisy: read the ratios).
//
//   node --import tsx bench/kernels.ts [--quick] [--types f32,q8_0] [--threads 1,2] [--runs 7] [--n 64] [--no-matvec]
import { randomFillSync } from "node:crypto";
import { performance } from "node:perf_hooks";
import { rowBytes } from "../src/formats/quant/index.js";
import { f32ToBf16 } from "../src/formats/quant/float.js";
import { createRefBackend } from "../src/kernels/ref/index.js";
import type { HostKernelBackend, HostMatrix, Matrix, WeightType } from "../src/kernels/types.js";
import { createWasmBackend } from "../src/kernels/wasm/index.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
};
const quick = args.includes("--quick");
const types = opt("types", "f32,bf16,q8_0,q4_0,q4_k").split(",") as WeightType[];
const threadCounts = opt("threads", "1,2").split(",").map(Number);
const runs = Number(opt("runs", "7"));
const prefillN = Number(opt("n", "64")); // x rows of the prefill GEMM
const matvec = !args.includes("--no-matvec");
const shapes: [number, number][] = quick ? [[3072, 1024]] : [[3072, 1024], [151936, 1024]];
const ROTATE_BYTES = (quick ? 128 : 256) * 2 ** 20;

/** Valid random weights of `type`, made directly in the ggml layout (quantizing 155M values in JS is slow). */
function randomMatrix(type: WeightType, rows: number, cols: number): HostMatrix {
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  for (let o = 0; o < bytes.length; o += 65536) randomFillSync(bytes.subarray(o, Math.min(bytes.length, o + 65536)));
  const dv = new DataView(bytes.buffer);
  const halfScale = 0x2000; // f16 ≈ 2^-7
  if (type === "f32") for (let i = 0; i < bytes.length; i += 4) dv.setFloat32(i, (dv.getUint16(i, true) / 65536 - 0.5) * 0.1, true);
  else if (type === "bf16" || type === "f16") {
    for (let i = 0; i < bytes.length; i += 2) {
      const v = (dv.getUint16(i, true) / 65536 - 0.5) * 0.1;
      dv.setUint16(i, type === "bf16" ? f32ToBf16(v) : (dv.getUint16(i, true) & 0x83ff) | 0x2400, true);
    }
  } else if (type === "q8_0" || type === "q4_0") {
    const bb = type === "q8_0" ? 34 : 18;
    for (let o = 0; o < bytes.length; o += bb) dv.setUint16(o, halfScale, true);
  } else if (type === "q4_k") {
    for (let o = 0; o < bytes.length; o += 144) { dv.setUint16(o, halfScale, true); dv.setUint16(o + 2, halfScale, true); }
  } else if (type === "q6_k") {
    for (let o = 0; o < bytes.length; o += 210) dv.setUint16(o + 208, halfScale, true);
  }
  return { type, rows, cols, bytes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median seconds of `fn(copy)` over `runs` timed calls (after 2 warm-ups), rotating through copies. */
function time(copies: number, fn: (copy: number) => void): number {
  let c = 0;
  for (let i = 0; i < 2; i++) fn(c++ % copies);
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn(c++ % copies);
    ts.push((performance.now() - t0) / 1000);
  }
  return median(ts);
}

function matvecGBs(be: HostKernelBackend, host: HostMatrix): number {
  const bytes = host.bytes.length;
  const copies = Math.max(1, Math.ceil(ROTATE_BYTES / bytes));
  const ms: Matrix[] = [];
  for (let i = 0; i < copies; i++) ms.push(be.loadMatrix(host));
  const x = be.allocF32(host.cols).fill(0.5), y = be.allocF32(host.rows);
  return bytes / time(copies, (i) => be.matmul(ms[i]!, x, 1, y)) / 1e9;
}

function gemmGFlops(be: HostKernelBackend, host: HostMatrix, n: number): number {
  const m = be.loadMatrix(host);
  const x = be.allocF32(n * host.cols).fill(0.25), y = be.allocF32(n * host.rows);
  return (2 * host.rows * host.cols * n) / time(1, () => be.matmul(m, x, n, y)) / 1e9;
}

const rows: string[][] = [["case", "type", "ref (plain TS)", ...threadCounts.map((t) => `wasm ${t}T`)]];
const ref = createRefBackend();
for (const [r, c] of matvec ? shapes : []) {
  for (const type of types) {
    const host = randomMatrix(type, r, c);
    const line = [`matvec ${r}×${c} GB/s`, type];
    line.push(r <= 4096 ? matvecGBs(ref, host).toFixed(2) : "-");
    for (const t of threadCounts) {
      const be = await createWasmBackend({ threads: t });
      line.push(matvecGBs(be, host).toFixed(2));
      be.dispose();
    }
    rows.push(line);
    console.error(line.join("  "));
  }
}
for (const type of types) {
  const host = randomMatrix(type, 3072, 1024);
  const line = [`prefill n=${prefillN} 3072×1024 GFLOP/s`, type, prefillN <= 64 ? gemmGFlops(ref, host, prefillN).toFixed(2) : "-"];
  for (const t of threadCounts) {
    const be = await createWasmBackend({ threads: t });
    line.push(gemmGFlops(be, host, prefillN).toFixed(1));
    be.dispose();
  }
  rows.push(line);
  console.error(line.join("  "));
}
const be = await createWasmBackend({ threads: 1 });
console.log(`\nwasm backend: ${be.name}; median of ${runs} runs; matvec GB/s counts the ggml bytes of the weights.`);
be.dispose();
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((l) => l[i]!.length)));
for (const l of rows) console.log(l.map((v, i) => v.padEnd(widths[i]!)).join(" | "));
