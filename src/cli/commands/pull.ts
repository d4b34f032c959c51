/**
 * `qwenrt pull <repo[@revision][:quant]> [--revision R]`: download a model from the Hugging Face
 * Hub into the shared cache (reusing what Python's `huggingface_hub` already fetched) and print
 * where it is. Progress goes to stderr, the path to stdout. A dropped or stalled transfer resumes
 * after a growing pause (1 s, 2 s, 4 s, …) before the pull gives up.
 */
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { pullModel } from "../../hub/ref.js";
import { progressReporter } from "../open-model.js";

/** Help text. */
export const usage = `usage: qwenrt pull <repo[@revision][:quant]> [--revision R]

Download a model from the Hugging Face Hub into the Hugging Face cache and print its local path
(a directory, or the .gguf file for a quant tag).

  <repo>           Qwen/Qwen3-0.6B, Qwen/Qwen3-8B-GGUF:Q4_K_M, Qwen/Qwen3-0.6B@<branch|tag|commit>
  --revision R     branch, tag or commit (default main)
  --retries N      resume a dropped transfer up to N times, waiting 1 s, 2 s, 4 s, … (default 5)

environment: HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE`;

/** Run `qwenrt pull`. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("pull", argv, { revision: { type: "string" }, retries: { type: "string" } });
  const ref = requireModelArg("pull", positionals);
  const retries = numberFlag("retries", values.retries, { integer: true, min: 0, max: 100 });
  const report = progressReporter(ref);
  let model: Awaited<ReturnType<typeof pullModel>>;
  try {
    model = await pullModel(ref, { revision: values.revision, onEvent: report.onEvent, ...(retries === undefined ? {} : { retries }) });
  } catch (e) {
    report.abort();
    throw e;
  }
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
