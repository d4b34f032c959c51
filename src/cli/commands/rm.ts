/**
 * `qwenrt rm <model>...`: remove models from the Hugging Face cache — a repo (`Qwen/Qwen3-0.6B`) or
 * one GGUF quant of a repo (`Qwen/Qwen3-8B-GGUF:Q4_K_M`, keeping its other quants). Local
 * directories and files are never touched.
 */
import { hubSettings } from "../../hub/env.js";
import { parseModelRef } from "../../hub/ref.js";
import { removeCached, scanCache } from "../../hub/scan.js";
import { QwenrtError } from "../../util/errors.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes } from "../progress.js";

export const usage = `usage: qwenrt rm <model>...

Remove models from the Hugging Face cache (see qwenrt list): Qwen/Qwen3-0.6B removes the repo,
Qwen/Qwen3-8B-GGUF:Q4_K_M only that quant's files.

environment: HF_HOME, HF_HUB_CACHE`;

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs("rm", argv, {});
  if (positionals.length === 0) throw new QwenrtError("qwenrt rm", "expected one or more <model> arguments", { code: "invalid_flag" });
  const { cacheDir } = hubSettings();
  // Check every name first: nothing is removed when one of them is wrong.
  const cached = scanCache(cacheDir);
  const refs = positionals.map((name) => {
    const ref = parseModelRef(name);
    if (ref.kind === "local") throw new QwenrtError(name, "is a local path; qwenrt rm only removes models from the Hugging Face cache");
    if (ref.revision !== "main") throw new QwenrtError(name, "names a revision; qwenrt rm removes a model with all its revisions");
    const quant = ref.quant?.toUpperCase();
    if (!cached.some((m) => m.repo === ref.repo && (quant === undefined || (m.format === "gguf" && m.type === quant)))) {
      throw new QwenrtError(name, `not in the Hugging Face cache at ${cacheDir} (qwenrt list shows what is)`, { code: "not_found" });
    }
    return { name, ref };
  });
  for (const { name, ref } of refs) {
    const bytes = removeCached(cacheDir, ref.repo, ref.quant);
    process.stdout.write(`deleted ${name} (${formatBytes(bytes)})\n`);
  }
  return 0;
}
