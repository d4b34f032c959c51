/**
 * Terminal progress for long operations (downloads, model loading). On a TTY: one line redrawn in
 * place with amount, speed and ETA, and log lines printed above it. Elsewhere (pipes, CI logs): only
 * the log lines and the final line, so logs stay readable.
 */

/** The part of a writable stream progress needs (`process.stderr` fits). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Where to draw (default `process.stderr`). */
  readonly stream?: ProgressStream;
  /** How amounts print: `bytes` as `1.2 GB`, `count` as plain numbers (default `bytes`). */
  readonly unit?: "bytes" | "count";
  /** Redraw in place; default: the stream is a TTY. */
  readonly interactive?: boolean;
  /** Clock in ms (tests pass a fake one). */
  readonly now?: () => number;
  /** Bar drawing: `[####----]` (default) or Unicode blocks `▕███▌  ▏` in eighths. */
  readonly bar?: "ascii" | "blocks";
}

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** A bar of `width` cells filled to `frac` (0..1). */
function drawBar(frac: number, width: number, style: "ascii" | "blocks"): string {
  if (style === "ascii") {
    const filled = Math.round(frac * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
  }
  const eighths = Math.round(frac * width * 8);
  const full = Math.floor(eighths / 8);
  const part = EIGHTHS[eighths % 8]!;
  return `▕${"█".repeat(full)}${part}${" ".repeat(width - full - (part === "" ? 0 : 1))}▏`;
}

const REDRAW_MS = 100;
const SPEED_WINDOW_MS = 5_000;

/**
 * Format a byte count with decimal units, as download tools do.
 *
 * @example
 * formatBytes(1_234_567); // "1.23 MB"
 */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

/**
 * Format seconds as `45s`, `3m07s` or `2h05m`.
 *
 * @example
 * formatDuration(187); // "3m07s"
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * One progress line: `label [#####-----] 1.20/3.00 GB 45.1 MB/s ETA 40s`.
 *
 * @example
 * const p = new Progress("Qwen/Qwen3-0.6B", 1_500_000_000);
 * p.log("downloading model.safetensors");
 * p.add(65536);           // call as bytes arrive
 * p.finish("done in 12s");
 */
export class Progress {
  /** True when the line is redrawn in place (a TTY); false for plain logs. */
  readonly interactive: boolean;
  private readonly stream: ProgressStream;
  private readonly unit: "bytes" | "count";
  private readonly now: () => number;
  private readonly label: string;
  private readonly barStyle: "ascii" | "blocks";
  private total: number | undefined;
  private done = 0;
  /** Amount that really moved (speed), unlike `done` which also counts resumed/skipped work. */
  private moved = 0;
  private samples: { t: number; moved: number }[] = [];
  private lastDraw = -Infinity;
  private drawn = false;
  private finished = false;

  constructor(label: string, total: number | undefined, opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.interactive = opts.interactive ?? this.stream.isTTY === true;
    this.unit = opts.unit ?? "bytes";
    this.now = opts.now ?? Date.now;
    this.label = label;
    this.barStyle = opts.bar ?? "ascii";
    this.total = total;
    this.samples.push({ t: this.now(), moved: 0 });
  }

  /** Change the total (e.g. once it is known). */
  setTotal(total: number | undefined): void {
    this.total = total;
    this.redraw(false);
  }

  /** Advance by `delta`; pass `transfer = false` for work skipped rather than done (resumed bytes). */
  add(delta: number, transfer = true): void {
    this.done += delta;
    if (transfer) this.moved += delta;
    this.redraw(false);
  }

  /** Set the absolute amount done (counts as transferred). */
  update(done: number): void {
    this.add(done - this.done);
  }

  /** Print a line; on a TTY it appears above the progress line. */
  log(line: string): void {
    if (this.finished) {
      this.stream.write(`${line}\n`);
      return;
    }
    this.clear();
    this.stream.write(`${line}\n`);
    this.redraw(true);
  }

  /** Remove the progress line and print a final line (if given). Later calls only log. */
  finish(line?: string): void {
    this.clear();
    this.finished = true;
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  /** Units per second over the last few seconds of transfer (0 until half a second has passed). */
  speed(): number {
    const t = this.now();
    this.samples.push({ t, moved: this.moved });
    while (this.samples.length > 2 && t - this.samples[1].t > SPEED_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    // Under half a second of history the rate is noise (and the ETA absurd): report none yet.
    return dt >= 0.5 ? (this.moved - first.moved) / dt : 0;
  }

  /** The progress line as text, without terminal control codes. */
  render(width = 100): string {
    const fmt = (n: number): string => (this.unit === "bytes" ? formatBytes(n) : String(n));
    const rate = this.speed();
    const speed = this.unit === "bytes" ? `${formatBytes(rate)}/s` : `${rate.toFixed(1)}/s`;
    const total = this.total;
    if (total === undefined || total <= 0) return `${this.label} ${fmt(this.done)} ${speed}`.slice(0, width);
    const frac = Math.min(1, Math.max(0, this.done / total));
    const eta = rate > 0 ? formatDuration((total - this.done) / rate) : "--";
    const tail = ` ${(frac * 100).toFixed(0).padStart(3)}% ${fmt(this.done)}/${fmt(total)} ${speed} ETA ${eta}`;
    const barWidth = Math.max(0, Math.min(30, width - this.label.length - tail.length - 3));
    const bar = barWidth > 0 ? ` ${drawBar(frac, barWidth, this.barStyle)}` : "";
    return `${this.label}${bar}${tail}`.slice(0, width);
  }

  private clear(): void {
    if (this.interactive && this.drawn) {
      this.stream.write("\r\x1b[2K");
      this.drawn = false;
    }
  }

  private redraw(force: boolean): void {
    if (!this.interactive || this.finished) return;
    const t = this.now();
    if (!force && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    const width = Math.max(40, (this.stream.columns ?? 100) - 1);
    this.stream.write(`\r\x1b[2K${this.render(width)}`);
    this.drawn = true;
  }
}
