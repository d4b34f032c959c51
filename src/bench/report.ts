/**
 * The benchmark report: one row per engine run (medians over trials), decode bandwidth against the
 * machine's measured read bandwidth, the qwenrt / llama.cpp ratios, as a table or as JSON.
 */
import { formatMachine, type MachineInfo } from "./machine.js";
import type { EngineResult, Trial } from "./method.js";
import { summarize } from "./method.js";
import type { RoundRatios } from "./rounds.js";

export type { EngineResult } from "./method.js";

/** One engine's measured row. */
export interface BenchRow {
  readonly engine: "qwenrt" | "llama.cpp";
  readonly detail: string;
  readonly type: string;
  readonly ppTokensPerSecond: number;
  readonly tgTokensPerSecond: number;
  readonly ttftSeconds: number;
  readonly peakRssBytes: number;
  readonly loadSeconds: number;
  readonly weightBytesPerToken: number;
  /** weightBytesPerToken × decode tok/s. */
  readonly decodeBytesPerSecond: number;
  /** decodeBytesPerSecond / the best measured read bandwidth with up to the same thread count. */
  readonly rooflineFraction: number;
  readonly trials: readonly Trial[];
}

/** The whole report (`--json` prints it as is). */
export interface BenchReport {
  readonly model: string;
  readonly pp: number;
  readonly tg: number;
  readonly trials: number;
  readonly threads: number;
  readonly seed: number;
  /** Where it ran: every figure names its CPU. */
  readonly machine: MachineInfo;
  /** Measured read bandwidth, bytes/s, keyed by thread count ("2"), "2 after" for the probe after the
   * engines ran, or "given" (--roofline-gbs). */
  readonly bandwidth: Readonly<Record<string, number>>;
  readonly rows: readonly BenchRow[];
  /** qwenrt / llama.cpp for each measure (TTFT and RSS: lower is better), when both ran. */
  readonly ratios?: { readonly pp: number; readonly tg: number; readonly ttft: number; readonly peakRss: number; readonly load: number };
  /** Rounds of both engines back to back (rounds.ts), when more than one: each row then holds every
   * round's trials. */
  readonly rounds?: number;
  /** qwenrt / llama.cpp round by round, when both ran in more than one round. */
  readonly roundRatios?: RoundRatios;
}

/** Turn an engine's reply into a row, given the read bandwidth at its thread count. */
export function toRow(r: EngineResult, pp: number, tg: number, bandwidth: number): BenchRow {
  const s = summarize(r.trials, pp, tg);
  const decodeBytesPerSecond = r.weightBytesPerToken * s.tgTokensPerSecond;
  return {
    engine: r.engine,
    detail: r.detail,
    type: r.type,
    ...s,
    peakRssBytes: r.peakRssBytes,
    loadSeconds: r.loadSeconds,
    weightBytesPerToken: r.weightBytesPerToken,
    decodeBytesPerSecond,
    rooflineFraction: decodeBytesPerSecond / bandwidth,
    trials: r.trials,
  };
}

/** Ratios of the first qwenrt row to the first llama.cpp row. */
export function ratios(rows: readonly BenchRow[]): BenchReport["ratios"] {
  const q = rows.find((r) => r.engine === "qwenrt");
  const l = rows.find((r) => r.engine === "llama.cpp");
  if (q === undefined || l === undefined) return undefined;
  return {
    pp: q.ppTokensPerSecond / l.ppTokensPerSecond,
    tg: q.tgTokensPerSecond / l.tgTokensPerSecond,
    ttft: q.ttftSeconds / l.ttftSeconds,
    peakRss: q.peakRssBytes / l.peakRssBytes,
    load: q.loadSeconds / l.loadSeconds,
  };
}

const fmt = (n: number): string => n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
const gb = (n: number): string => `${(n / 1e9).toFixed(2)}`;
const seconds = (s: number): string => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);

/** Lay out rows of cells as aligned columns (text left, numbers right). */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd())
    .join("\n");
}

/**
 * The report as a text table with the ratios and the bandwidth line below it.
 *
 * @example
 * process.stdout.write(formatReport(report));
 */
export function formatReport(r: BenchReport): string {
  const head = ["engine", "type", `pp${r.pp} tok/s`, `tg${r.tg} tok/s`, "TTFT", "load", "peak RSS", "GB/token", "GB/s", "% roofline"];
  const body = r.rows.map((x) => [
    `${x.engine} (${x.detail})`,
    x.type,
    fmt(x.ppTokensPerSecond),
    fmt(x.tgTokensPerSecond),
    seconds(x.ttftSeconds),
    seconds(x.loadSeconds),
    `${(x.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    gb(x.weightBytesPerToken),
    fmt(x.decodeBytesPerSecond / 1e9),
    `${(100 * x.rooflineFraction).toFixed(0)}%`,
  ]);
  const lines = [
    `${r.model}: ${r.rounds !== undefined ? `${r.rounds} rounds × ` : ""}${r.trials} trial${r.trials === 1 ? "" : "s"} (median), ${r.threads} thread${r.threads === 1 ? "" : "s"}, seed ${r.seed}`,
    `machine: ${formatMachine(r.machine)}`,
    columns([head, ...body]),
  ];
  if (r.ratios !== undefined) {
    const x = r.ratios;
    lines.push(`qwenrt / llama.cpp: pp ${x.pp.toFixed(2)}×, tg ${x.tg.toFixed(2)}×, TTFT ${x.ttft.toFixed(2)}×, peak RSS ${x.peakRss.toFixed(2)}×, load ${x.load.toFixed(2)}×`);
  }
  if (r.roundRatios !== undefined) {
    const x = r.roundRatios;
    const list = (v: readonly number[]): string => v.map((n) => `${n.toFixed(2)}×`).join(" ");
    lines.push(`per round (both engines back to back, order alternating): pp ${list(x.pp)} (median ${x.ppMedian.toFixed(2)}×), tg ${list(x.tg)} (median ${x.tgMedian.toFixed(2)}×)`);
  }
  const bw = Object.entries(r.bandwidth)
    .map(([t, b]) => `${gb(b)} GB/s (${bandwidthLabel(t)})`)
    .join(", ");
  lines.push(`memory read bandwidth: ${bw}; % roofline = GB/s ÷ the best of these`);
  return `${lines.join("\n")}\n`;
}

/** "1 thread", "2 threads", "2 threads, after the runs", "given with --roofline-gbs". */
export function bandwidthLabel(key: string): string {
  if (key === "given") return "given with --roofline-gbs";
  const [t, after] = key.split(" ");
  return `${t} thread${t === "1" ? "" : "s"}${after === "after" ? ", after the runs" : ""}`;
}
