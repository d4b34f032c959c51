/**
 * The machine a benchmark ran on: CPU model and the SIMD features that decide which code paths the
 * engines take (llama.cpp picks its CPU variant from them; V8 maps wasm relaxed SIMD onto them).
 * Speed figures without this line cannot be compared across the workplace's AMD and Intel machines.
 */
import { readFileSync } from "node:fs";
import { arch, cpus } from "node:os";

/** CPU model and its benchmark-relevant SIMD features. */
export interface MachineInfo {
  readonly cpu: string;
  readonly arch: string;
  /** Logical CPUs the OS reports. */
  readonly logicalCpus: number;
  /** Relevant SIMD features in a fixed order (empty when unknown). */
  readonly simd: readonly string[];
}

/** /proc/cpuinfo flag names worth printing, in the order printed (x86 `flags`, then arm64 `Features`). */
const FEATURES = [
  "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_int8", "amx_bf16",
  "asimd", "asimddp", "asimdhp", "i8mm", "bf16", "sve", "sve2",
] as const;

/**
 * Parse the text of /proc/cpuinfo: the first processor's model name and its relevant features.
 *
 * @example
 * parseCpuinfo("model name\t: AMD EPYC 7B13\nflags\t\t: sse4_2 avx avx2 fma\n").simd; // ["sse4_2", "avx", "avx2", "fma"]
 */
export function parseCpuinfo(text: string): { cpu?: string; simd: string[] } {
  let cpu: string | undefined;
  let flags: Set<string> | undefined;
  for (const line of text.split("\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase(), value = line.slice(i + 1).trim();
    if (cpu === undefined && (key === "model name" || key === "cpu model")) cpu = value;
    if (flags === undefined && (key === "flags" || key === "features")) flags = new Set(value.split(/\s+/));
  }
  return { ...(cpu !== undefined ? { cpu } : {}), simd: flags === undefined ? [] : FEATURES.filter((f) => flags.has(f)) };
}

/** What this process runs on (Linux reads /proc/cpuinfo; elsewhere the model from `os.cpus()` only). */
export function describeMachine(): MachineInfo {
  let parsed: { cpu?: string; simd: string[] } = { simd: [] };
  try {
    parsed = parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    // not Linux: no feature list
  }
  const list = cpus();
  return { cpu: parsed.cpu ?? list[0]?.model ?? "unknown CPU", arch: arch(), logicalCpus: list.length, simd: parsed.simd };
}

/** One line for a report: `Intel(R) Xeon(R) Processor (x64, 2 logical CPUs; SIMD: avx2 fma avx512f …)`. */
export function formatMachine(m: MachineInfo): string {
  return `${m.cpu} (${m.arch}, ${m.logicalCpus} logical CPU${m.logicalCpus === 1 ? "" : "s"}; SIMD: ${m.simd.length > 0 ? m.simd.join(" ") : "unknown"})`;
}
