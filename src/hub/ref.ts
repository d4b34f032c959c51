/**
 * Model references: a local directory, a `.gguf` file, or a Hugging Face repo id with an optional
 * `@revision` and `:quant` tag, resolved to a local path through the shared Hugging Face cache.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { QwenrtError } from "../util/errors.js";
import { readJsonFile } from "../util/json.js";
import { fetchRepoListing } from "./api.js";
import { listSnapshotFiles, readRef, repoCacheDir, snapshotDir } from "./cache.js";
import { downloadFiles, type DownloadOptions } from "./download.js";
import { hubSettings, type Env, type HubSettings } from "./env.js";
import { indexShards, selectModelFiles, type ModelFiles } from "./select.js";

/** A parsed model reference. */
export type ModelRef =
  | { readonly kind: "local"; readonly path: string; readonly format: "dir" | "gguf" }
  | { readonly kind: "hub"; readonly repo: string; readonly revision: string; readonly quant: string | undefined };

const HUB_REF = /^([A-Za-z0-9][\w.-]*\/[\w.-]+?)(?:@([^\s:@]+))?(?::([\w.-]+))?$/;
const HUB_PREFIX = /^(?:https?:\/\/)?(?:hf\.co|huggingface\.co)\//;

function looksLikePath(ref: string): boolean {
  return /^(\.{1,2}([\\/]|$)|[\\/~])/.test(ref) || /^[A-Za-z]:[\\/]/.test(ref) || ref.includes("\\") || /\.gguf$/i.test(ref);
}

function validRepoName(repo: string): boolean {
  return repo.length <= 96 + 1 + 96 && repo.split("/").every((p) => !p.includes("--") && !p.includes("..") && !/^[.-]|[.-]$/.test(p));
}

/**
 * Parse a model reference. An existing local path always wins; otherwise `org/name[@revision][:quant]`
 * (optionally prefixed `hf.co/`) names a Hub repo, revision `main` by default.
 *
 * @example
 * parseModelRef("Qwen/Qwen3-8B-GGUF:Q4_K_M");
 * // { kind: "hub", repo: "Qwen/Qwen3-8B-GGUF", revision: "main", quant: "Q4_K_M" }
 */
export function parseModelRef(ref: string): ModelRef {
  if (ref.trim() === "") throw new QwenrtError("<model>", "empty model reference");
  if (existsSync(ref)) {
    const st = statSync(ref);
    if (st.isDirectory()) return { kind: "local", path: ref, format: "dir" };
    if (st.isFile() && /\.gguf$/i.test(ref)) return { kind: "local", path: ref, format: "gguf" };
    throw new QwenrtError(ref, "not a model directory or a .gguf file");
  }
  if (looksLikePath(ref)) throw new QwenrtError(ref, "no such file or directory", { code: "not_found" });
  const m = HUB_REF.exec(ref.replace(HUB_PREFIX, ""));
  if (m === null || !validRepoName(m[1])) {
    throw new QwenrtError(ref, "not a local path and not a Hub repo id (expected org/name[@revision][:quant])", {
      code: "not_found",
    });
  }
  return { kind: "hub", repo: m[1], revision: m[2] ?? "main", quant: m[3] };
}

/** Where a model came from and where it is now. */
export type ResolvedModel =
  | {
      /** A local directory or `.gguf` file, used as it is. */
      readonly source: "local";
      readonly path: string;
      readonly format: "safetensors" | "gguf";
    }
  | {
      /** `cache`: found complete in the cache without asking the Hub; `hub`: checked against the Hub. */
      readonly source: "cache" | "hub";
      /** The snapshot directory, or the `.gguf` file to open (part 1 of a split model). */
      readonly path: string;
      readonly format: "safetensors" | "gguf";
      readonly repo: string;
      /** The commit the revision resolved to. */
      readonly commit: string;
      /** The repo files this model consists of. */
      readonly files: readonly string[];
    };

/** Options of {@link resolveModel} and {@link pullModel}. */
export interface ResolveOptions extends Omit<DownloadOptions, "settings"> {
  /** Environment to read `HF_*` settings from (default `process.env`). */
  readonly env?: Env;
  /** Settings to use instead of reading the environment. */
  readonly settings?: HubSettings;
  /** Revision to use; conflicts with a different `@revision` in the reference. */
  readonly revision?: string;
}

type HubRef = Extract<ModelRef, { kind: "hub" }>;

function withRevision(ref: HubRef, revision: string | undefined, text: string): HubRef {
  if (revision === undefined) return ref;
  if (text.includes("@") && ref.revision !== revision) {
    throw new QwenrtError("--revision", `"${revision}" conflicts with "@${ref.revision}" in ${text}`, { code: "invalid_flag" });
  }
  return { ...ref, revision };
}

function entryPath(dir: string, sel: ModelFiles): string {
  return sel.format === "gguf" ? join(dir, ...sel.entry.split("/")) : dir;
}

function describe(ref: HubRef): string {
  return `${ref.repo}${ref.revision === "main" ? "" : `@${ref.revision}`}${ref.quant === undefined ? "" : `:${ref.quant}`}`;
}

/**
 * Look a Hub model up in the cache without touching the network: the snapshot `refs/{revision}`
 * points at must hold every file the model needs. Returns why not when it does not.
 */
export function findCachedModel(settings: HubSettings, ref: HubRef): ResolvedModel | { missing: string } {
  const repoDir = repoCacheDir(settings.cacheDir, ref.repo);
  const commit = readRef(repoDir, ref.revision);
  if (commit === undefined) return { missing: `revision "${ref.revision}" was never downloaded` };
  const dir = snapshotDir(repoDir, commit);
  const present = listSnapshotFiles(dir);
  if (present.length === 0) return { missing: `snapshot ${commit} is empty` };
  let sel: ModelFiles;
  try {
    sel = selectModelFiles(present, ref.repo, ref.quant);
  } catch (e) {
    if (e instanceof QwenrtError) return { missing: e.message };
    throw e;
  }
  if (sel.format === "safetensors" && sel.files.includes("model.safetensors.index.json")) {
    const have = new Set(present);
    const lacking = indexShards(readJsonFile(join(dir, "model.safetensors.index.json")), "model.safetensors.index.json").filter(
      (s) => !have.has(s),
    );
    if (lacking.length > 0) return { missing: `snapshot ${commit} lacks ${lacking.join(", ")}` };
  }
  return { path: entryPath(dir, sel), format: sel.format, source: "cache", repo: ref.repo, commit, files: sel.files };
}

function offlineError(settings: HubSettings, ref: HubRef, missing: string): QwenrtError {
  return new QwenrtError(
    describe(ref),
    `not in the Hugging Face cache at ${settings.cacheDir} (${missing}) and HF_HUB_OFFLINE is set; ` +
      `run \`qwenrt pull ${describe(ref)}\` while online`,
    { code: "offline" },
  );
}

/**
 * Bring a Hub model up to date in the cache: ask the Hub which commit the revision is at and
 * download whatever files of it the cache lacks. With `HF_HUB_OFFLINE` set, use the cache only.
 * Local references are returned as they are.
 *
 * @example
 * const m = await pullModel("Qwen/Qwen3-0.6B", { onEvent: (e) => console.log(e.kind) });
 * m.path; // ~/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/<commit>
 */
export async function pullModel(text: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const parsed = parseModelRef(text);
  if (parsed.kind === "local") return { path: parsed.path, format: parsed.format === "gguf" ? "gguf" : "safetensors", source: "local" };
  const ref = withRevision(parsed, opts.revision, text);
  const settings = opts.settings ?? hubSettings(opts.env);
  if (settings.offline) {
    const cached = findCachedModel(settings, ref);
    if ("missing" in cached) throw offlineError(settings, ref, cached.missing);
    return cached;
  }
  const ctx = { ...opts, settings };
  const listing = await fetchRepoListing(ctx, ref.repo, ref.revision);
  const sel = selectModelFiles(
    listing.files.map((f) => f.path),
    ref.repo,
    ref.quant,
  );
  const wanted = new Set(sel.files);
  const dir = await downloadFiles(
    listing,
    listing.files.filter((f) => wanted.has(f.path)),
    ctx,
  );
  return { path: entryPath(dir, sel), format: sel.format, source: "hub", repo: ref.repo, commit: listing.commit, files: sel.files };
}

/**
 * Turn a model reference into a local path: a local directory or `.gguf` as is; a Hub model from the
 * cache when a complete snapshot is there (no network), else downloaded (unless `HF_HUB_OFFLINE`).
 *
 * @example
 * const dir = await resolveModel("Qwen/Qwen3-0.6B");
 * const gguf = await resolveModel("Qwen/Qwen3-8B-GGUF:Q4_K_M");
 */
export async function resolveModel(text: string, opts: ResolveOptions = {}): Promise<string> {
  const parsed = parseModelRef(text);
  if (parsed.kind === "local") return parsed.path;
  const ref = withRevision(parsed, opts.revision, text);
  const settings = opts.settings ?? hubSettings(opts.env);
  const cached = findCachedModel(settings, ref);
  if (!("missing" in cached)) return cached.path;
  if (settings.offline) throw offlineError(settings, ref, cached.missing);
  return (await pullModel(text, { ...opts, settings })).path;
}
