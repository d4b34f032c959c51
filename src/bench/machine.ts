/**
 * What machine a benchmark ran on: the CPU model and the SIMD features that decide which kernels
 * win (AVX2, AVX-512 and its VNNI / BF16 extensions, ARM's dot-product and i8mm), for every figure.
 */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

/** The machine line of a report. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  /** The features below that the CPU reports (Linux /proc/cpuinfo; empty elsewhere). */
  readonly simd: readonly string[];
  /** The JavaScript runtime (its V8 decides which relaxed SIMD instructions are exact and fast). */
  readonly runtime?: string;
}

const FEATURES = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "asimd", "asimddp", "i8mm", "sve"];

/** Flags of the first processor in `/proc/cpuinfo` text ("flags" on x86, "Features" on ARM). */
export function cpuFlags(cpuinfo: string): Set<string> {
  const line = cpuinfo.split("\n").find((l) => /^(flags|Features)\s*:/.test(l));
  return new Set(line === undefined ? [] : line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
}

/** The CPU model, core count, memory and the SIMD features that matter here. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  let flags = new Set<string>();
  try {
    flags = cpuFlags(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    // not Linux: the model name alone
  }
  return {
    cpu: list[0]?.model.trim() ?? "unknown CPU",
    cores: list.length,
    memoryBytes: totalmem(),
    simd: FEATURES.filter((f) => flags.has(f)),
    runtime: `Node ${process.version} (V8 ${process.versions.v8})`,
  };
}

/** One line: `Intel(R) Xeon(R) Processor, 2 cores, 23 GiB; SIMD: avx2 fma avx512f … avx512_vnni; Node v24.11.0 (V8 13.6…)`. */
export function formatMachine(m: MachineInfo): string {
  const runtime = m.runtime === undefined ? "" : `; ${m.runtime}`;
  return `${m.cpu}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB; SIMD: ${m.simd.length > 0 ? m.simd.join(" ") : "(not reported)"}${runtime}`;
}
