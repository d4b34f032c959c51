/**
 * Rounds of a comparison (`--rounds N`): each round runs both engines back to back, the order
 * alternating (qwenrt first in even rounds), so a shared host that speeds up or slows down over
 * minutes weighs on both engines alike. The per-round ratios pair runs made minutes apart at most;
 * their median is the figure to read on a noisy machine.
 */
import { type EngineResult, median, summarize } from "./method.js";

export type EngineName = EngineResult["engine"];

/** qwenrt / llama.cpp of each round's medians, and the median of those. */
export interface RoundRatios {
  readonly pp: readonly number[];
  readonly tg: readonly number[];
  readonly ppMedian: number;
  readonly tgMedian: number;
}

/** The engines of round `round` (0-based) in the order they run. */
export function roundOrder(round: number): readonly EngineName[] {
  return round % 2 === 0 ? ["qwenrt", "llama.cpp"] : ["llama.cpp", "qwenrt"];
}

/**
 * One engine's replies from several rounds as one: every trial, the median load time, the highest
 * peak RSS (each round is a fresh process, so its peak is its own).
 *
 * @example
 * mergeRounds([a, b, c]).trials.length; // a.trials.length + b.trials.length + c.trials.length
 */
export function mergeRounds(rs: readonly EngineResult[]): EngineResult {
  const first = rs[0];
  if (first === undefined) throw new Error("internal: no rounds to merge");
  if (rs.some((r) => r.engine !== first.engine)) throw new Error("internal: rounds of different engines");
  return {
    ...first,
    loadSeconds: median(rs.map((r) => r.loadSeconds)),
    peakRssBytes: Math.max(...rs.map((r) => r.peakRssBytes)),
    trials: rs.flatMap((r) => r.trials),
  };
}

/** Per-round ratios of qwenrt's to llama.cpp's median prefill and decode rates (round i of each). */
export function roundRatios(q: readonly EngineResult[], l: readonly EngineResult[], pp: number, tg: number): RoundRatios {
  if (q.length !== l.length || q.length === 0) throw new Error(`internal: ${q.length} qwenrt rounds against ${l.length} llama.cpp rounds`);
  const ratio = (i: number, key: "ppTokensPerSecond" | "tgTokensPerSecond"): number =>
    summarize(q[i]!.trials, pp, tg)[key] / summarize(l[i]!.trials, pp, tg)[key];
  const ppR = q.map((_, i) => ratio(i, "ppTokensPerSecond"));
  const tgR = q.map((_, i) => ratio(i, "tgTokensPerSecond"));
  return { pp: ppR, tg: tgR, ppMedian: median(ppR), tgMedian: median(tgR) };
}
