/**
 * `qwenrt list [--json]`: the models in the Hugging Face cache (shared with Python's
 * `huggingface_hub`), one per line: the name to pass as `<model>`, the weight type, the size on disk
 * and when it was last used. A GGUF repo shows one line per quant. Then the quantized-weights cache
 * (`--dtype`): one line per checkpoint and dtype, named `<model> --dtype <dtype>`.
 */
import { existsSync, realpathSync } from "node:fs";
import { relative, sep } from "node:path";
import { hubSettings } from "../../hub/env.js";
import { scanCache, type CachedModel } from "../../hub/scan.js";
import { listQuantCache, quantCacheDir, type QuantCachedModel } from "../../tools/quant_cache.js";
import { QwenrtError } from "../../util/errors.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes } from "../progress.js";

export const usage = `usage: qwenrt list [--json]

List the models in the Hugging Face cache: name (what chat, serve and generate take), type
(checkpoint dtype or GGUF quant), size on disk, last use. Then what --dtype has quantized into the
quantized-weights cache, as "<model> --dtype <dtype>" (qwenrt rm <model> --dtype <dtype> removes it).

  --json    one JSON array: [{"name", "repo", "format", "type", "bytes", "last_used", "path",
            "cache"}]; cache is "hub" or "quantized" (those also have "source", the checkpoint)

environment: HF_HOME, HF_HUB_CACHE, QWENRT_CACHE_DIR`;

/** The repo id of a directory inside the Hugging Face cache (`…/models--Qwen--Qwen3-0.6B/snapshots/…`), if it is one. */
export function cachedRepoOf(path: string, cacheDir: string): string | undefined {
  const rel = relative(cacheDir, path);
  const m = /^models--([^/\\]+?)--([^/\\]+)$/.exec(rel.split(sep)[0] ?? "");
  return rel.startsWith("..") || m === null ? undefined : `${m[1]}/${m[2]}`;
}

/** A quantized-cache entry as a list row: named `<model> --dtype <dtype>`. */
export function quantRow(e: QuantCachedModel, cacheDir: string): CachedModel & { readonly source: string } {
  const repo = cachedRepoOf(e.source, cacheDir);
  return { name: `${repo ?? e.source} --dtype ${e.dtype}`, repo: repo ?? "", format: "gguf", type: `${e.dtype} (quantized)`, bytes: e.bytes, lastUsed: e.lastUsed, path: e.path, source: e.source };
}

/**
 * How long ago, in words.
 *
 * @example
 * ago(Date.now() - 3 * 3600e3); // "3 hours ago"
 */
export function ago(then: number, now = Date.now()): string {
  const s = Math.max(0, (now - then) / 1000);
  const unit = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"} ago`;
  if (s < 60) return "just now";
  if (s < 3600) return unit(Math.floor(s / 60), "minute");
  if (s < 86400) return unit(Math.floor(s / 3600), "hour");
  if (s < 86400 * 60) return unit(Math.floor(s / 86400), "day");
  return unit(Math.floor(s / (86400 * 30)), "month");
}

/** The models as an aligned table with a header row. */
export function formatList(models: readonly CachedModel[], now = Date.now()): string {
  const rows = [["NAME", "TYPE", "SIZE", "LAST USED"], ...models.map((m) => [m.name, m.type, formatBytes(m.bytes), ago(m.lastUsed.getTime(), now)])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("   ")).join("\n") + "\n";
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("list", argv, { json: { type: "boolean" } });
  if (positionals.length > 0) throw new QwenrtError("qwenrt list", `unexpected argument "${positionals[0]}"`, { code: "invalid_flag" });
  const { cacheDir } = hubSettings();
  const models = scanCache(cacheDir);
  const realCache = existsSync(cacheDir) ? realpathSync(cacheDir) : cacheDir;
  const quantized = listQuantCache()
    .map((e) => quantRow(e, realCache))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (values.json === true) {
    const row = (m: CachedModel) => ({ name: m.name, repo: m.repo, format: m.format, type: m.type, bytes: m.bytes, last_used: m.lastUsed.toISOString(), path: m.path });
    const rows = [...models.map((m) => ({ ...row(m), cache: "hub" })), ...quantized.map((m) => ({ ...row(m), repo: m.repo === "" ? null : m.repo, type: m.type.replace(/ \(quantized\)$/, ""), cache: "quantized", source: m.source }))];
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } else if (models.length + quantized.length === 0) {
    process.stderr.write(`no models in the Hugging Face cache at ${cacheDir} (qwenrt pull <repo> downloads one) or in ${quantCacheDir()}\n`);
  } else process.stdout.write(formatList([...models, ...quantized]));
  return 0;
}
