/**
 * Download repo files into the Hugging Face cache: parallel (a small pool), resumable (bytes
 * accumulate in `blobs/{etag}.incomplete`; a restart asks for the rest with `Range`), verified (size,
 * and sha256 for LFS files or the git blob sha1 otherwise) and atomic (renamed into `blobs/` only once
 * verified). UI-free: progress goes to a callback.
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { QwenrtError } from "../util/errors.js";
import { hubGet, resolveUrl, type HubContext, type RemoteFile, type RepoListing } from "./api.js";
import { blobPath, incompletePath, linkSnapshotFile, repoCacheDir, snapshotDir, writeRef } from "./cache.js";

/** Progress of a download, reported through {@link DownloadOptions.onEvent}. */
export type DownloadEvent =
  /** Once, before any transfer: every wanted file and whether the cache already has it. */
  | { readonly kind: "plan"; readonly files: readonly { path: string; size: number; cached: boolean }[] }
  /** A transfer begins; `resumeFrom` bytes were already on disk from an earlier attempt. */
  | { readonly kind: "start"; readonly path: string; readonly size: number; readonly resumeFrom: number }
  /** `received` = bytes of this file on disk so far (including resumed bytes). */
  | { readonly kind: "progress"; readonly path: string; readonly received: number; readonly size: number }
  /** Verified and in the cache; `downloaded` = bytes transferred by this run. */
  | { readonly kind: "done"; readonly path: string; readonly size: number; readonly downloaded: number };

/** Options of {@link downloadFiles}. */
export interface DownloadOptions extends HubContext {
  /** Files transferred at once (default 4). */
  readonly concurrency?: number;
  readonly onEvent?: (event: DownloadEvent) => void;
  /** Abort a transfer that receives nothing for this long (default 60 s). */
  readonly stallTimeoutMs?: number;
}

const PROGRESS_INTERVAL_MS = 100;

function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

function newHash(file: RemoteFile): Hash {
  if (file.lfs) return createHash("sha256");
  // The git blob id: sha1 over a "blob <size>\0" header and the content.
  return createHash("sha1").update(`blob ${file.size}\0`);
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Fetch one blob into `blobs/{etag}` (resuming a `.incomplete` file) and verify it. */
async function fetchBlob(
  ctx: DownloadOptions,
  listing: RepoListing,
  file: RemoteFile,
  repoDir: string,
  signal: AbortSignal,
): Promise<void> {
  const emit = ctx.onEvent ?? (() => undefined);
  const where = `${listing.repo}/${file.path}`;
  const part = incompletePath(repoDir, file.etag);
  const url = resolveUrl(ctx.settings.endpoint, listing.repo, listing.commit, file.path);
  const stallMs = ctx.stallTimeoutMs ?? 60_000;
  let offset = fileSize(part) ?? 0;
  if (offset > file.size) {
    rmSync(part, { force: true });
    offset = 0;
  }
  let downloaded = 0;
  for (let attempt = 0; ; attempt++) {
    const stall = new AbortController();
    let timer = setTimeout(() => stall.abort(), stallMs);
    const kick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => stall.abort(), stallMs);
    };
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    try {
      const sub = { ...ctx, signal: AbortSignal.any([signal, stall.signal]) };
      const { response } = await hubGet(sub, url, { repo: listing.repo, revision: listing.commit, file: file.path }, headers);
      if (response.status === 416) {
        await response.body?.cancel();
        if (offset === file.size) break; // already complete: just verify
        if (attempt > 0) throw new QwenrtError(where, `server refused range bytes=${offset}- (${url})`);
        rmSync(part, { force: true });
        offset = 0;
        continue;
      }
      if (response.status === 206) {
        const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
        if (start === undefined || Number(start) !== offset) {
          await response.body?.cancel();
          throw new QwenrtError(where, `server answered a range request with the wrong range (${url})`);
        }
      } else {
        offset = 0; // a plain 200 ignores our Range: start over
      }
      if (response.body === null) throw new QwenrtError(where, `empty response from ${url}`);
      emit({ kind: "start", path: file.path, size: file.size, resumeFrom: offset });
      // Read by hand rather than through stream.pipeline: an abort that lands after the last chunk
      // can leave a fetch body neither closed nor errored, and the pipeline would wait forever.
      const reader = response.body.getReader();
      const aborted = new Promise<never>((_, reject) => {
        const fail = (): void => reject(sub.signal.reason ?? new Error("aborted"));
        if (sub.signal.aborted) fail();
        else sub.signal.addEventListener("abort", fail, { once: true });
      });
      aborted.catch(() => undefined);
      const out = await open(part, offset > 0 ? "a" : "w");
      let received = offset;
      let last = 0;
      try {
        for (;;) {
          const { done, value } = await Promise.race([reader.read(), aborted]);
          if (done) break;
          if (received + value.length > file.size) {
            // Stop at the listed size: a server that sends more (or forever) fills no disk.
            await out.truncate(0);
            throw new QwenrtError(where, `the server sent more than the ${file.size} bytes the listing gives (${url}); the download was deleted`, { code: "hub_error" });
          }
          kick();
          await out.write(value);
          received += value.length;
          downloaded += value.length;
          const now = Date.now();
          if (now - last >= PROGRESS_INTERVAL_MS) {
            last = now;
            emit({ kind: "progress", path: file.path, received, size: file.size });
          }
        }
      } finally {
        await out.close();
        reader.cancel().catch(() => undefined);
      }
      emit({ kind: "progress", path: file.path, received, size: file.size });
      break;
    } catch (e) {
      if (stall.signal.aborted && !signal.aborted) {
        throw new QwenrtError(url, `no data for ${Math.round(stallMs / 1000)} s; run again to resume`, { code: "network_error" });
      }
      if (e instanceof QwenrtError && e.code === "hub_error") rmSync(part, { force: true });
      if (e instanceof QwenrtError || signal.aborted) throw e;
      throw new QwenrtError(url, `download interrupted (${(e as Error).message}); run again to resume`, {
        code: "network_error",
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
  }
  const got = fileSize(part) ?? 0;
  if (got !== file.size) {
    if (got > file.size) rmSync(part, { force: true });
    throw new QwenrtError(where, `size mismatch: expected ${file.size} bytes, got ${got}${got < file.size ? "; run again to resume" : ""}`);
  }
  const hash = newHash(file);
  await hashFile(part, hash);
  const digest = hash.digest("hex");
  if (digest !== file.etag) {
    rmSync(part, { force: true });
    throw new QwenrtError(
      where,
      `${file.lfs ? "sha256" : "git blob sha1"} mismatch: expected ${file.etag}, got ${digest}; the download was deleted`,
      { code: "checksum_mismatch" },
    );
  }
  renameSync(part, blobPath(repoDir, file.etag));
  emit({ kind: "done", path: file.path, size: file.size, downloaded });
}

/** Run `fn` over `items` with at most `limit` at once; the first failure aborts the rest and is thrown. */
async function runPool<T>(
  items: readonly T[],
  limit: number,
  parent: AbortSignal | undefined,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  const signal = parent === undefined ? abort.signal : AbortSignal.any([parent, abort.signal]);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined && !signal.aborted) {
      const item = items[next++];
      try {
        await fn(item, signal);
      } catch (e) {
        failure ??= { error: e };
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
  if (parent?.aborted === true) throw parent.reason;
}

/**
 * Make `snapshots/{commit}/{file}` exist for every wanted file, downloading only what the cache lacks,
 * and record `refs/{revision}`. Returns the snapshot folder.
 *
 * @example
 * const listing = await fetchRepoListing(ctx, "Qwen/Qwen3-0.6B", "main");
 * const dir = await downloadFiles(listing, listing.files.filter((f) => f.path.endsWith(".json")), ctx);
 */
export async function downloadFiles(
  listing: RepoListing,
  files: readonly RemoteFile[],
  opts: DownloadOptions,
): Promise<string> {
  const repoDir = repoCacheDir(opts.settings.cacheDir, listing.repo);
  mkdirSync(`${repoDir}/blobs`, { recursive: true });
  mkdirSync(snapshotDir(repoDir, listing.commit), { recursive: true });
  writeRef(repoDir, listing.revision, listing.commit);

  const plan = files.map((f) => ({ file: f, cached: fileSize(blobPath(repoDir, f.etag)) === f.size }));
  opts.onEvent?.({
    kind: "plan",
    files: plan.map((p) => ({ path: p.file.path, size: p.file.size, cached: p.cached })),
  });
  // One transfer per distinct blob, even when two paths share content.
  const todo = new Map<string, RemoteFile>();
  for (const p of plan) if (!p.cached && !todo.has(p.file.etag)) todo.set(p.file.etag, p.file);
  await runPool([...todo.values()], Math.max(1, opts.concurrency ?? 4), opts.signal, (f, signal) =>
    fetchBlob(opts, listing, f, repoDir, signal),
  );
  for (const f of files) linkSnapshotFile(repoDir, listing.commit, f.path, f.etag);
  return snapshotDir(repoDir, listing.commit);
}
