/**
 * What the Hugging Face cache holds, model by model (`qwenrt list`), and removing one (`qwenrt rm`).
 * A safetensors repo is one model; a GGUF repo is one model per quant (`Qwen/Qwen3-8B-GGUF:Q4_K_M`,
 * what `qwenrt chat` takes). Sizes are the blobs' bytes; "last used" is the latest access time of
 * a model's blobs, as `huggingface_hub`'s scan-cache reports it.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { QwenrtError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import { listSnapshotFiles, repoCacheDir } from "./cache.js";
import { groupGguf, isProjector, matchesTag } from "./select.js";

/** One model in the cache. */
export interface CachedModel {
  /** What to pass as `<model>`: `Qwen/Qwen3-0.6B`, or `Qwen/Qwen3-8B-GGUF:Q4_K_M` for one GGUF. */
  readonly name: string;
  readonly repo: string;
  readonly format: "safetensors" | "gguf" | "other";
  /** Checkpoint dtype (`bf16`) or GGUF quant (`Q4_K_M`); `-` when unknown. */
  readonly type: string;
  /** Bytes of the blobs it uses. */
  readonly bytes: number;
  /** Latest access (or change) time of its blobs. */
  readonly lastUsed: Date;
  /** The snapshot directory, or the (first) .gguf file. */
  readonly path: string;
}

const QUANT = /(?:^|[-._/])((?:I?Q\d[A-Z0-9_]*)|BF16|F16|F32)$/i;

/** A GGUF stem's quant tag (`Qwen3-8B-Q4_K_M` → `Q4_K_M`), or the stem's last part. */
export function quantOf(stem: string): string {
  const m = QUANT.exec(stem);
  return (m?.[1] ?? stem.split(/[-/]/).pop() ?? stem).toUpperCase();
}

interface BlobUse {
  readonly bytes: number;
  readonly lastUsed: number;
}

/** Sizes and times of the distinct blobs behind some snapshot files. */
function blobUse(snapshot: string, files: readonly string[]): BlobUse {
  const seen = new Set<string>();
  let bytes = 0;
  let last = 0;
  for (const f of files) {
    const target = realpathSync(join(snapshot, ...f.split("/")));
    if (seen.has(target)) continue;
    seen.add(target);
    const st = statSync(target);
    bytes += st.size;
    last = Math.max(last, st.atimeMs, st.mtimeMs);
  }
  return { bytes, lastUsed: last };
}

function checkpointType(snapshot: string): string {
  try {
    const raw: unknown = JSON.parse(readFileSync(join(snapshot, "config.json"), "utf8"));
    const d = isObject(raw) ? (raw.torch_dtype ?? raw.dtype) : undefined;
    return typeof d === "string" ? d.replace(/^bfloat16$/, "bf16").replace(/^float16$/, "f16").replace(/^float32$/, "f32") : "-";
  } catch {
    return "-";
  }
}

/** Snapshots of a repo folder, newest first. */
function snapshots(repoDir: string): string[] {
  const dir = join(repoDir, "snapshots");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((c) => join(dir, c))
    .filter((p) => statSync(p).isDirectory())
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/** The models of one repo folder (`models--org--name`). */
function repoModels(cacheDir: string, folder: string): CachedModel[] {
  const repo = folder.slice("models--".length).split("--").join("/");
  const repoDir = join(cacheDir, folder);
  const out = new Map<string, CachedModel>();
  for (const snap of snapshots(repoDir)) {
    const files = listSnapshotFiles(snap);
    const ggufs = groupGguf(files).filter((g) => !isProjector(g));
    for (const g of ggufs) {
      const name = `${repo}:${quantOf(g.stem)}`;
      if (out.has(name)) continue;
      const use = blobUse(snap, g.parts);
      out.set(name, { name, repo, format: "gguf", type: quantOf(g.stem), ...use, lastUsed: new Date(use.lastUsed), path: join(snap, ...g.parts[0].split("/")) });
    }
    if (ggufs.length === 0 && !out.has(repo)) {
      const weights = files.some((f) => f.endsWith(".safetensors"));
      const use = blobUse(snap, files);
      out.set(repo, { name: repo, repo, format: weights ? "safetensors" : "other", type: weights ? checkpointType(snap) : "-", ...use, lastUsed: new Date(use.lastUsed), path: snap });
    }
  }
  return [...out.values()];
}

/**
 * Every model in the cache at `cacheDir`, by name.
 *
 * @example
 * scanCache(hubSettings().cacheDir).map((m) => m.name); // ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-8B-GGUF:Q4_K_M"]
 */
export function scanCache(cacheDir: string): CachedModel[] {
  if (!existsSync(cacheDir)) return [];
  return readdirSync(cacheDir)
    .filter((f) => f.startsWith("models--") && statSync(join(cacheDir, f)).isDirectory())
    .flatMap((f) => repoModels(cacheDir, f))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Remove a model from the cache: a whole repo, or with `quant` one GGUF model's files (and the
 * blobs no other snapshot file uses; the repo folder goes when nothing is left). Returns the bytes
 * freed. Throws naming the model when the cache does not have it.
 *
 * @example
 * removeCached(cacheDir, "Qwen/Qwen3-8B-GGUF", "Q4_K_M"); // 5027783488
 */
export function removeCached(cacheDir: string, repo: string, quant?: string): number {
  const repoDir = repoCacheDir(cacheDir, repo);
  const label = quant === undefined ? repo : `${repo}:${quant}`;
  if (!existsSync(repoDir)) throw new QwenrtError(label, `not in the Hugging Face cache at ${cacheDir}`, { code: "not_found" });
  if (quant === undefined) {
    const bytes = blobBytes(join(repoDir, "blobs"));
    rmSync(repoDir, { recursive: true, force: true });
    return bytes;
  }
  const doomed: string[] = [];
  for (const snap of snapshots(repoDir)) {
    for (const g of groupGguf(listSnapshotFiles(snap))) if (matchesTag(g.stem, quant)) doomed.push(...g.parts.map((p) => join(snap, ...p.split("/"))));
  }
  if (doomed.length === 0) throw new QwenrtError(label, `no .gguf file of quant "${quant}" in the cache at ${cacheDir}`, { code: "not_found" });
  const blobs = new Map(doomed.map((p) => [realpathSync(p), statSync(p).size]));
  for (const p of doomed) rmSync(p, { force: true });
  // Blobs still linked from another snapshot file stay.
  for (const snap of snapshots(repoDir)) for (const f of listSnapshotFiles(snap)) blobs.delete(realpathSync(join(snap, ...f.split("/"))));
  let bytes = 0;
  for (const [b, size] of blobs) {
    if (relative(repoDir, b).startsWith("..")) continue; // never outside the repo folder
    bytes += size;
    rmSync(b, { force: true });
  }
  if (snapshots(repoDir).every((s) => listSnapshotFiles(s).length === 0)) rmSync(repoDir, { recursive: true, force: true });
  return bytes;
}

function blobBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((n, f) => {
    const st = lstatSync(join(dir, f));
    return st.isFile() ? n + st.size : n;
  }, 0);
}
