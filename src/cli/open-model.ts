/**
 * Opening a `<model>` argument from the command line: like `openModelSource`, but a Hub reference
 * that is not in the cache yet downloads with a progress bar on stderr (plain lines when stderr is
 * not a terminal), so `qwenrt chat Qwen/Qwen3-0.6B` on a fresh machine shows what it is doing.
 */
import type { DownloadEvent } from "../hub/download.js";
import { openModelSource, type ModelSource } from "../open.js";
import { Progress, formatBytes, formatDuration, type ProgressStream } from "./progress.js";

/** Turns download events into progress output (one aggregate line on a TTY, plain lines otherwise). */
export function progressReporter(label: string, stream: ProgressStream = process.stderr): {
  onEvent: (e: DownloadEvent) => void;
  finish: (line: string) => void;
  /** The download failed: clear the bar so the error that follows starts on a line of its own. */
  abort: () => void;
} {
  let bar: Progress | undefined;
  const received = new Map<string, number>();
  const started = Date.now();
  const onEvent = (e: DownloadEvent): void => {
    switch (e.kind) {
      case "plan": {
        const toFetch = e.files.filter((f) => !f.cached);
        bar = new Progress(label, toFetch.reduce((s, f) => s + f.size, 0), { stream });
        const cached = e.files.length - toFetch.length;
        if (cached > 0) bar.log(`${cached} of ${e.files.length} files already in the cache`);
        break;
      }
      case "start": {
        bar?.add(e.resumeFrom - (received.get(e.path) ?? 0), false);
        received.set(e.path, e.resumeFrom);
        if (bar?.interactive === false) {
          const resume = e.resumeFrom > 0 ? `, resuming at ${formatBytes(e.resumeFrom)}` : "";
          bar.log(`downloading ${e.path} (${formatBytes(e.size)}${resume})`);
        }
        break;
      }
      case "progress":
        bar?.add(e.received - (received.get(e.path) ?? 0));
        received.set(e.path, e.received);
        break;
      case "done":
        bar?.log(`done ${e.path} (${formatBytes(e.size)})`);
        break;
      case "retry": {
        const line = `${e.path}: ${e.reason}; retrying in ${formatDuration(e.delayMs / 1000)} (${e.attempt} of ${e.retries})`;
        if (bar === undefined) stream.write(`${line}\n`);
        else bar.log(line);
        break;
      }
    }
  };
  const finish = (line: string): void => {
    const elapsed = formatDuration((Date.now() - started) / 1000);
    if (bar === undefined) stream.write(`${line}\n`);
    else bar.finish(`${line} in ${elapsed}`);
  };
  const abort = (): void => {
    bar?.finish();
    bar = undefined;
  };
  return { onEvent, finish, abort };
}

/**
 * Resolve and open `ref` for a command, showing download progress when files must be fetched.
 *
 * @example
 * const source = await openModelForCli("Qwen/Qwen3-0.6B"); // downloads on first use
 */
export async function openModelForCli(ref: string, stream: ProgressStream = process.stderr): Promise<ModelSource> {
  const report = progressReporter(`Downloading ${ref}`, stream);
  let fetched = 0;
  let source: ModelSource;
  try {
    source = await openModelSource(ref, {
      resolve: {
        onEvent: (e) => {
          if (e.kind === "plan") fetched = e.files.filter((f) => !f.cached).length;
          report.onEvent(e);
        },
      },
    });
  } catch (e) {
    report.abort();
    throw e;
  }
  if (fetched > 0) report.finish(`${ref}: ${fetched} file${fetched === 1 ? "" : "s"} downloaded`);
  return source;
}
