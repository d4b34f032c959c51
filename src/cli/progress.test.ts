import assert from "node:assert/strict";
import { test } from "node:test";
import { progressReporter } from "./open-model.js";
import { Progress, formatBytes, formatDuration } from "./progress.js";

function sink(isTTY: boolean): { out: string[]; stream: { isTTY: boolean; columns: number; write(s: string): boolean } } {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 120, write: (s: string) => out.push(s) > 0 } };
}

test("formatBytes and formatDuration print compact human units", () => {
  assert.equal(formatBytes(999), "999 B");
  assert.equal(formatBytes(1_234_567), "1.23 MB");
  assert.equal(formatBytes(15_600_000_000), "15.6 GB");
  assert.equal(formatDuration(45), "45s");
  assert.equal(formatDuration(187), "3m07s");
  assert.equal(formatDuration(7500), "2h05m");
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), "--");
});

test("the progress line shows fraction, amounts, speed over real transfer, and ETA", () => {
  let t = 0;
  const { stream } = sink(true);
  const p = new Progress("model", 10_000_000, { stream, now: () => t });
  p.add(2_000_000, false); // resumed bytes: counted as done, not as speed
  t = 1000;
  p.add(1_000_000);
  t = 2000;
  p.add(1_000_000);
  assert.equal(p.render(120), "model [############------------------]  40% 4.00 MB/10.0 MB 1.00 MB/s ETA 6s");
});

test("no speed or ETA is claimed from under half a second of data", () => {
  let t = 0;
  const { stream } = sink(true);
  const p = new Progress("m", 1000, { stream, now: () => t, unit: "count" });
  t = 100;
  p.add(10);
  assert.match(p.render(), /ETA --$/);
  t = 600;
  assert.match(p.render(), /16\.7\/s ETA 59s$/);
});

test("on a TTY the line is redrawn in place and logs appear above it", () => {
  let t = 0;
  const { out, stream } = sink(true);
  const p = new Progress("x", 100, { stream, now: () => t, unit: "count" });
  t = 500;
  p.add(50);
  p.log("file a done");
  p.finish("all done");
  const text = out.join("");
  assert.match(text, /^\r\x1b\[2Kx \[.*\]  50% 50\/100/);
  assert.ok(text.includes("\r\x1b[2Kfile a done\n"));
  assert.ok(text.endsWith("\r\x1b[2Kall done\n"));
});

test("without a TTY only log lines and the final line are written", () => {
  const { out, stream } = sink(false);
  const p = new Progress("x", 100, { stream });
  p.add(10);
  p.log("downloading a");
  p.add(90);
  p.finish("done");
  assert.deepEqual(out, ["downloading a\n", "done\n"]);
  assert.equal(p.interactive, false);
});

test("download progress: a retry is a line of its own, and a failed download clears the bar for the error", () => {
  const { out, stream } = sink(true);
  const report = progressReporter("Downloading m", stream);
  report.onEvent({ kind: "plan", files: [{ path: "w.safetensors", size: 1000, cached: false }] });
  report.onEvent({ kind: "start", path: "w.safetensors", size: 1000, resumeFrom: 0 });
  report.onEvent({ kind: "progress", path: "w.safetensors", received: 400, size: 1000 });
  report.onEvent({ kind: "retry", path: "w.safetensors", attempt: 1, retries: 5, delayMs: 2000, reason: "download interrupted (socket hang up)" });
  assert.ok(out.includes("w.safetensors: download interrupted (socket hang up); retrying in 2s (1 of 5)\n"), JSON.stringify(out));
  report.abort();
  // The last write leaves the cursor at the start of an empty line: "qwenrt: …" prints on its own line.
  assert.equal(out[out.length - 1], "\r\x1b[2K");
});
