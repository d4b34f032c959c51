/**
 * The Hugging Face cache layout, exactly as Python's `huggingface_hub` writes it, so downloads are
 * shared both ways:
 * ```
 * {cacheDir}/models--{org}--{name}/
 *   blobs/{etag}                 file bytes; etag = sha256 for LFS files, git blob sha1 otherwise
 *   blobs/{etag}.incomplete      a download in progress (resumed with a Range request)
 *   refs/{revision}              the commit hash a branch or tag pointed to (no trailing newline)
 *   snapshots/{commit}/{path}    relative symlink to ../../blobs/{etag} (more ../ when nested)
 * ```
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { QwenrtError } from "../util/errors.js";

const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** True for a full 40-hex git commit hash (a revision that needs no `refs/` lookup). */
export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/**
 * The cache folder name of a model repo: `/` becomes `--` under a `models` prefix.
 *
 * @example
 * repoFolderName("Qwen/Qwen3-0.6B"); // "models--Qwen--Qwen3-0.6B"
 */
export function repoFolderName(repo: string): string {
  return ["models", ...repo.split("/")].join("--");
}

/** Absolute path of a repo's cache folder. */
export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repoFolderName(repo));
}

function checkInside(root: string, path: string, what: string): string {
  const rel = relative(root, path);
  if (rel === "" || rel.startsWith("..") || resolve(root, rel) !== resolve(path)) {
    throw new QwenrtError(what, `refusing a path outside the cache folder ${root}`);
  }
  return path;
}

/** `blobs/{etag}` of a repo cache folder. */
export function blobPath(repoDir: string, etag: string): string {
  if (!/^[0-9A-Za-z._-]+$/.test(etag) || etag.startsWith(".")) {
    throw new QwenrtError(repoDir, `invalid blob id ${JSON.stringify(etag)} from the Hub`);
  }
  return join(repoDir, "blobs", etag);
}

/** `blobs/{etag}.incomplete`: where a download accumulates until it is verified. */
export function incompletePath(repoDir: string, etag: string): string {
  return `${blobPath(repoDir, etag)}.incomplete`;
}

/** `snapshots/{commit}` of a repo cache folder. */
export function snapshotDir(repoDir: string, commit: string): string {
  if (!isCommitHash(commit)) throw new QwenrtError(repoDir, `invalid commit hash ${JSON.stringify(commit)}`);
  return join(repoDir, "snapshots", commit);
}

/** `snapshots/{commit}/{file}` (file uses `/` separators as on the Hub). */
export function pointerPath(repoDir: string, commit: string, file: string): string {
  const snap = snapshotDir(repoDir, commit);
  return checkInside(snap, join(snap, ...file.split("/")), file);
}

function refPath(repoDir: string, revision: string): string {
  const refs = join(repoDir, "refs");
  return checkInside(refs, join(refs, ...revision.split("/")), `revision ${revision}`);
}

/**
 * The commit a revision resolves to in the cache: itself when it is a commit hash, else the content
 * of `refs/{revision}`; undefined when never cached.
 */
export function readRef(repoDir: string, revision: string): string | undefined {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = readFileSync(refPath(repoDir, revision), "utf8").trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Record `refs/{revision}` → commit (atomically, and only when it changed), as `huggingface_hub`
 * does; nothing to record when the revision is the commit itself.
 */
export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const path = refPath(repoDir, revision);
  try {
    if (readFileSync(path, "utf8") === commit) return; // unchanged: leave a read-only cache alone
  } catch {
    // no ref yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, commit);
  renameSync(tmp, path);
}

/**
 * Point `snapshots/{commit}/{file}` at `blobs/{etag}` with a relative symlink (so the cache can be
 * moved); where symlinks are not allowed (Windows without developer mode) copy the blob instead.
 */
export function linkSnapshotFile(repoDir: string, commit: string, file: string, etag: string): string {
  const blob = blobPath(repoDir, etag);
  const pointer = pointerPath(repoDir, commit, file);
  mkdirSync(dirname(pointer), { recursive: true });
  rmSync(pointer, { force: true });
  try {
    symlinkSync(relative(dirname(pointer), blob), pointer);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EACCES" && code !== "ENOTSUP") throw e;
    copyFileSync(blob, pointer);
  }
  return pointer;
}

/** True when a snapshot file exists and resolves to a readable file (a dangling link does not count). */
export function snapshotFileExists(repoDir: string, commit: string, file: string): boolean {
  try {
    return statSync(pointerPath(repoDir, commit, file)).isFile();
  } catch {
    return false;
  }
}

/** Every file (not dangling link) under a snapshot, as Hub-style `/`-separated relative paths, sorted. */
export function listSnapshotFiles(snapshot: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(full, rel);
      else if (existsSync(full) && statSync(full).isFile()) out.push(rel);
    }
  };
  if (existsSync(snapshot)) walk(snapshot, "");
  return out.sort();
}
