/**
 * `qwenrt pull <repo[@revision][:quant]> [--revision R]`: download a model from the Hugging Face
 * Hub into the shared cache (reusing what Python's `huggingface_hub` already fetched) and print
 * where it is. Progress goes to stderr, the path to stdout.
 */
import { parseCommandArgs, requireModelArg } from "../args.js";
import { pullModel } from "../../hub/ref.js";
import type { DownloadEvent } from "../../hub/download.js";
import { Progress, formatBytes, formatDuration, type ProgressStream } from "../progress.js";

/** Help text. */
export const usage = `usage: qwenrt pull <repo[@revision][:quant]> [--revision R]

Download a model from the Hugging Face Hub into the Hugging Face cache and print its local path
(a directory, or the .gguf file for a quant tag).

  <repo>           Qwen/Qwen3-0.6B, Qwen/Qwen3-8B-GGUF:Q4_K_M, Qwen/Qwen3-0.6B@<branch|tag|commit>
  --revision R     branch, tag or commit (default main)

environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE`;

/** Turns download events into progress output (one aggregate line on a TTY, plain lines otherwise). */
export function progressReporter(label: string, stream: ProgressStream = process.stderr): {
  onEvent: (e: DownloadEvent) => void;
  finish: (line: string) => void;
} {
  let bar: Progress | undefined;
  const received = new Map<string, number>();
  const started = Date.now();
  const onEvent = (e: DownloadEvent): void => {
    switch (e.kind) {
      case "plan": {
        const todo = e.files.filter((f) => !f.cached);
        bar = new Progress(label, todo.reduce((s, f) => s + f.size, 0), { stream });
        const cached = e.files.length - todo.length;
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
    }
  };
  const finish = (line: string): void => {
    const elapsed = formatDuration((Date.now() - started) / 1000);
    if (bar === undefined) stream.write(`${line}\n`);
    else bar.finish(`${line} in ${elapsed}`);
  };
  return { onEvent, finish };
}

/** Run `qwenrt pull`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("pull", argv, { revision: { type: "string" } });
  const ref = requireModelArg("pull", positionals);
  const report = progressReporter(ref);
  const model = await pullModel(ref, { revision: values.revision, onEvent: report.onEvent });
  if (model.source === "local") {
    report.finish(`${ref} is a local ${model.format === "gguf" ? "file" : "directory"}; nothing to pull`);
  } else {
    const n = model.files.length;
    const from = model.source === "cache" ? " (offline, from the cache)" : "";
    report.finish(`${model.repo}@${model.commit}: ${n} file${n === 1 ? "" : "s"} ready${from}`);
  }
  process.stdout.write(`${model.path}\n`);
  return 0;
}
