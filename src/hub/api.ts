/**
 * Hugging Face Hub HTTP calls: the revision listing (commit hash, file sizes, LFS sha256) and file
 * requests with manual redirect handling, so the token never leaves the Hub's origin and errors
 * name the repo, file or URL at fault.
 */
import { QwenrtError, errorMessage } from "../util/errors.js";
import { isObject, parseJson } from "../util/json.js";
import { VERSION } from "../version.js";
import { isCommitHash } from "./cache.js";
import type { HubSettings } from "./env.js";

/** One file of a repo revision as the Hub lists it. */
export interface RemoteFile {
  /** Path inside the repo, `/`-separated (`model-00001-of-00002.safetensors`, `Q8_0/x.gguf`). */
  readonly path: string;
  /** Size in bytes of the real content (the LFS object for LFS files, not the pointer). */
  readonly size: number;
  /** Blob name in the cache: the LFS sha256 for LFS files, the git blob sha1 otherwise. */
  readonly etag: string;
  /** True when stored in LFS (then `etag` is the content's sha256). */
  readonly lfs: boolean;
}

/** A repo at one commit: what `GET /api/models/{repo}/revision/{rev}?blobs=true` says. */
export interface RepoListing {
  readonly repo: string;
  /** The revision asked for (branch, tag or commit). */
  readonly revision: string;
  /** The commit it resolved to (40 hex). */
  readonly commit: string;
  readonly files: readonly RemoteFile[];
}

/** The `fetch` signature the hub code uses (tests may wrap it to count requests). */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/** Context for one Hub operation. */
export interface HubContext {
  readonly settings: HubSettings;
  readonly fetch?: FetchFn;
  readonly signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;
const API_TIMEOUT_MS = 60_000;

/** `{endpoint}/{repo}/resolve/{revision}/{file}` with the same escaping as `huggingface_hub`. */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** What a failed request was for, so the error can name it. */
export interface RequestSubject {
  readonly repo: string;
  readonly revision: string;
  /** Set for file downloads; absent for the repo listing. */
  readonly file?: string;
}

function describeHttpError(res: Response, url: string, subject: RequestSubject, settings: HubSettings): QwenrtError {
  const code = res.headers.get("x-error-code") ?? "";
  const serverMsg = res.headers.get("x-error-message");
  const where = subject.file === undefined ? subject.repo : `${subject.repo}/${subject.file}`;
  const tokenHint =
    settings.token === undefined
      ? "set HF_TOKEN to a Hugging Face access token"
      : "the HF_TOKEN in use does not grant access to it";
  if (code === "GatedRepo" || ((res.status === 401 || res.status === 403) && /gated/i.test(serverMsg ?? ""))) {
    return new QwenrtError(
      subject.repo,
      `repository is gated: accept its terms at ${settings.endpoint}/${subject.repo} and ${tokenHint} (HTTP ${res.status})`,
      { code: "forbidden" },
    );
  }
  if (code === "RevisionNotFound") {
    return new QwenrtError(subject.repo, `revision "${subject.revision}" not found on ${settings.endpoint}`, {
      code: "not_found",
    });
  }
  if (code === "EntryNotFound" || (res.status === 404 && subject.file !== undefined && code !== "RepoNotFound")) {
    return new QwenrtError(where, `file not found in ${subject.repo}@${subject.revision} (${url})`, { code: "not_found" });
  }
  if (code === "RepoNotFound" || res.status === 404) {
    const auth = settings.token === undefined ? "; if it is private or gated, set HF_TOKEN" : "";
    return new QwenrtError(subject.repo, `repository not found on ${settings.endpoint}${auth} (HTTP ${res.status})`, {
      code: "not_found",
    });
  }
  if (res.status === 401 || res.status === 403) {
    return new QwenrtError(where, `access denied by ${settings.endpoint} (HTTP ${res.status}): ${tokenHint}`, {
      code: "forbidden",
    });
  }
  const detail = serverMsg !== null ? `: ${serverMsg}` : "";
  return new QwenrtError(where, `HTTP ${res.status} from ${url}${detail}`, { code: "hub_error" });
}

/**
 * GET a Hub URL following redirects by hand: the bearer token goes only to the endpoint's origin
 * (never to the CDN an LFS file redirects to). Returns the final response: 200, 206 or 416 (a
 * Range past the end); other statuses become errors naming the repo or file.
 */
export async function hubGet(
  ctx: HubContext,
  url: string,
  subject: RequestSubject,
  extraHeaders: Record<string, string> = {},
): Promise<{ response: Response; finalUrl: string }> {
  const { settings } = ctx;
  if (settings.offline) {
    throw new QwenrtError(subject.repo, `HF_HUB_OFFLINE is set; refusing to fetch ${url}`, { code: "offline" });
  }
  const doFetch: FetchFn = ctx.fetch ?? ((u, init) => fetch(u, init));
  const hubOrigin = new URL(settings.endpoint).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { "user-agent": `qwenrt/${VERSION}`, ...extraHeaders };
    if (settings.token !== undefined && new URL(current).origin === hubOrigin) {
      headers.authorization = `Bearer ${settings.token}`;
    }
    let res: Response;
    try {
      res = await doFetch(current, { headers, redirect: "manual", signal: ctx.signal });
    } catch (e) {
      if (ctx.signal?.aborted === true) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? errorMessage(e);
      throw new QwenrtError(current, `network error: ${why}`, { code: "network_error", cause: e });
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location !== null) {
      await res.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    if (!res.ok && res.status !== 206 && res.status !== 416) {
      await res.body?.cancel();
      throw describeHttpError(res, current, subject, settings);
    }
    return { response: res, finalUrl: current };
  }
  throw new QwenrtError(url, `more than ${MAX_REDIRECTS} redirects`, { code: "hub_error" });
}

function badListing(repo: string, url: string, what: string): QwenrtError {
  return new QwenrtError(repo, `unexpected answer from ${url}: ${what}`, { code: "hub_error" });
}

/**
 * A listed file name must be a plain relative path inside the repo: no `..` or `.` segment, no
 * absolute path or drive, no backslash, empty segment or control character. Checked when the listing
 * arrives, before anything is requested (with the token) or written.
 */
export function isSafeRepoPath(path: string): boolean {
  if (path === "" || path.length > 1024 || /[\\\x00-\x1f]/.test(path) || path.startsWith("/") || /^[A-Za-z]:/.test(path)) return false;
  return path.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

function parseSibling(v: unknown, repo: string, url: string): RemoteFile {
  if (!isObject(v) || typeof v.rfilename !== "string") throw badListing(repo, url, "a sibling without rfilename");
  const path = v.rfilename;
  if (!isSafeRepoPath(path)) throw badListing(repo, url, `file name ${JSON.stringify(path)} is not a plain relative path inside the repo`);
  if (isObject(v.lfs)) {
    const { sha256, size } = v.lfs;
    if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256) || typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw badListing(repo, url, `"${path}" has an lfs entry without sha256/size`);
    }
    return { path, size, etag: sha256, lfs: true };
  }
  if (typeof v.blobId !== "string" || typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw badListing(repo, url, `"${path}" has no blobId/size (the endpoint must support ?blobs=true)`);
  }
  return { path, size: v.size, etag: v.blobId, lfs: false };
}

/**
 * List a repo revision: its commit hash and every file with size and blob id.
 *
 * @example
 * const listing = await fetchRepoListing({ settings: hubSettings() }, "Qwen/Qwen3-0.6B", "main");
 * listing.commit; // "c1899de2…"
 */
export async function fetchRepoListing(ctx: HubContext, repo: string, revision: string): Promise<RepoListing> {
  const url = `${ctx.settings.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const signal = ctx.signal ?? AbortSignal.timeout(API_TIMEOUT_MS);
  const { response } = await hubGet({ ...ctx, signal }, url, { repo, revision });
  if (response.status !== 200) throw badListing(repo, url, `HTTP ${response.status}`);
  const body = parseJson(await response.text(), url);
  if (!isObject(body)) throw badListing(repo, url, "not a JSON object");
  if (typeof body.sha !== "string" || !isCommitHash(body.sha)) throw badListing(repo, url, 'no commit hash in "sha"');
  if (!Array.isArray(body.siblings)) throw badListing(repo, url, 'no "siblings" array');
  const files = body.siblings.map((s) => parseSibling(s, repo, url));
  return { repo, revision, commit: body.sha, files };
}
