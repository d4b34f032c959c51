/**
 * `qwenrt rm <model>... [--dtype D]`: remove models from the Hugging Face cache — a repo
 * (`Qwen/Qwen3-0.6B`, with what `--dtype` quantized from it) or one GGUF quant of a repo
 * (`Qwen/Qwen3-8B-GGUF:Q4_K_M`, keeping its other quants) — or, with `--dtype`, only a model's
 * entry in the quantized-weights cache. Local directories and files are never touched.
 */
import { existsSync, realpathSync } from "node:fs";
import { sep } from "node:path";
import { repoCacheDir } from "../../hub/cache.js";
import { hubSettings } from "../../hub/env.js";
import { parseModelRef } from "../../hub/ref.js";
import { removeCached, scanCache } from "../../hub/scan.js";
import { listQuantCache, removeQuantCached, type QuantCachedModel } from "../../tools/quant_cache.js";
import { QwenrtError } from "../../util/errors.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes } from "../progress.js";

export const usage = `usage: qwenrt rm <model>... [--dtype D]

Remove models from the Hugging Face cache (see qwenrt list): Qwen/Qwen3-0.6B removes the repo and
what --dtype quantized from it, Qwen/Qwen3-8B-GGUF:Q4_K_M only that quant's files.

  --dtype D   remove only the quantized-weights cache entry of each <model> (a Hub id or a local
              directory) made by --dtype D, as qwenrt list shows it: "<model> --dtype D"

environment: HF_HOME, HF_HUB_CACHE, QWENRT_CACHE_DIR`;

/** Entries of the quantized cache made from `dir` or a directory inside it. */
function quantFrom(entries: readonly QuantCachedModel[], dir: string): QuantCachedModel[] {
  if (!existsSync(dir)) return [];
  const real = realpathSync(dir);
  return entries.filter((e) => e.source === real || e.source.startsWith(real + sep));
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("rm", argv, { dtype: { type: "string" } });
  if (positionals.length === 0) throw new QwenrtError("qwenrt rm", "expected one or more <model> arguments", { code: "invalid_flag" });
  const { cacheDir } = hubSettings();
  const quantized = listQuantCache();
  const dtype = values.dtype;
  if (dtype !== undefined) {
    // Check every name first: nothing is removed when one of them is wrong.
    const found = positionals.map((name) => {
      const ref = parseModelRef(name);
      const dir = ref.kind === "local" ? name : repoCacheDir(cacheDir, ref.repo);
      const entries = quantFrom(quantized, dir).filter((e) => e.dtype === dtype);
      if (entries.length === 0) throw new QwenrtError(name, `has no --dtype ${dtype} entry in the quantized-weights cache (qwenrt list shows what is)`, { code: "not_found" });
      return { name, entries };
    });
    for (const { name, entries } of found) {
      for (const e of entries) removeQuantCached(e);
      process.stdout.write(`deleted ${name} --dtype ${dtype} (${formatBytes(entries.reduce((a, e) => a + e.bytes, 0))})\n`);
    }
    return 0;
  }
  // Check every name first: nothing is removed when one of them is wrong.
  const cached = scanCache(cacheDir);
  const refs = positionals.map((name) => {
    const ref = parseModelRef(name);
    if (ref.kind === "local") throw new QwenrtError(name, "is a local path; qwenrt rm only removes models from the Hugging Face cache (or, with --dtype, a quantized-cache entry)");
    if (ref.revision !== "main") throw new QwenrtError(name, "names a revision; qwenrt rm removes a model with all its revisions");
    const quant = ref.quant?.toUpperCase();
    if (!cached.some((m) => m.repo === ref.repo && (quant === undefined || (m.format === "gguf" && m.type === quant)))) {
      throw new QwenrtError(name, `not in the Hugging Face cache at ${cacheDir} (qwenrt list shows what is)`, { code: "not_found" });
    }
    return { name, ref };
  });
  for (const { name, ref } of refs) {
    // A whole repo takes its quantized entries with it (they are found by its path, so first).
    const derived = ref.quant === undefined ? quantFrom(quantized, repoCacheDir(cacheDir, ref.repo)) : [];
    let bytes = removeCached(cacheDir, ref.repo, ref.quant);
    for (const e of derived) removeQuantCached(e);
    bytes += derived.reduce((a, e) => a + e.bytes, 0);
    const also = derived.length === 0 ? "" : `, with its ${derived.map((e) => `--dtype ${e.dtype}`).join(", ")} entr${derived.length === 1 ? "y" : "ies"}`;
    process.stdout.write(`deleted ${name} (${formatBytes(bytes)}${also})\n`);
  }
  return 0;
}
