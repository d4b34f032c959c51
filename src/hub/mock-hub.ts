/**
 * A small stand-in for the Hugging Face Hub, for tests: the revision API (`?blobs=true`), `resolve`
 * URLs with the Hub's headers (`X-Repo-Commit`, quoted `ETag`, and for LFS files a 302 to a separate
 * "CDN" origin carrying `X-Linked-Etag` / `X-Linked-Size`), Range requests, gated repos, and faults
 * (cut a transfer short, serve corrupt bytes). It records every request.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A file of a mock repo; `lfs` files are served through the CDN redirect and listed with sha256. */
export interface MockFile {
  readonly path: string;
  readonly content: Buffer;
  readonly lfs?: boolean;
}

/** A mock repo at one commit (reachable as `main` and as the commit hash). */
export interface MockRepo {
  readonly repo: string;
  readonly commit: string;
  readonly files: readonly MockFile[];
  /** Files need `Authorization: Bearer <token>` (the Hub's gated-repo behaviour). */
  readonly gatedToken?: string;
}

/** One request the mock saw. */
export interface RecordedRequest {
  readonly server: "hub" | "cdn";
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
}

/** Git's blob id: sha1 over `blob <size>\0` + content (the Hub's ETag for non-LFS files). */
export function gitBlobSha1(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** Hex sha256 of a buffer (the Hub's ETag for LFS files). */
export function sha256Hex(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

function etagOf(f: MockFile): string {
  return f.lfs === true ? sha256Hex(f.content) : gitBlobSha1(f.content);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

/**
 * The mock Hub: `endpoint` goes into `HF_ENDPOINT`.
 *
 * @example
 * const hub = await MockHub.start([{ repo: "t/m", commit: "a".repeat(40), files }]);
 * try { ... hub.requests ... } finally { await hub.close(); }
 */
export class MockHub {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Paths (`org/name/file`) whose next CDN transfer stops after this many bytes (then the socket drops). */
  readonly cutOnce = new Map<string, number>();
  /** Paths (`org/name/file`) whose Range header is ignored (a plain 200 with the whole file). */
  readonly ignoreRange = new Set<string>();
  /** Paths (`org/name/file`) served with one byte flipped. */
  readonly corrupt = new Set<string>();
  /** `repo/path` → bytes sent beyond the file (a server that sends more than it listed). */
  readonly oversize = new Map<string, number>();
  endpoint = "";
  private cdnBase = "";
  private readonly repos = new Map<string, MockRepo>();
  private readonly hub: Server;
  private readonly cdn: Server;

  private constructor(repos: readonly MockRepo[]) {
    for (const r of repos) this.repos.set(r.repo, r);
    this.hub = createServer((req, res) => this.handleHub(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
  }

  /** Start both servers on 127.0.0.1, ports chosen by the OS. */
  static async start(repos: readonly MockRepo[]): Promise<MockHub> {
    const hub = new MockHub(repos);
    hub.endpoint = await listen(hub.hub);
    hub.cdnBase = await listen(hub.cdn);
    return hub;
  }

  /** Requests to `resolve/` or the CDN, i.e. file transfers (not API listings). */
  fileRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.server === "cdn" || r.path.includes("/resolve/"));
  }

  /** Stop both servers. */
  async close(): Promise<void> {
    this.hub.closeAllConnections();
    this.cdn.closeAllConnections();
    await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
  }

  private record(server: "hub" | "cdn", req: IncomingMessage): string {
    const path = decodeURI((req.url ?? "/").split("?")[0]);
    this.requests.push({ server, path, range: req.headers.range, authorization: req.headers.authorization });
    return path;
  }

  private findRepo(parts: string[]): { repo: MockRepo; rest: string[] } | undefined {
    const repo = this.repos.get(`${parts[0]}/${parts[1]}`);
    return repo === undefined ? undefined : { repo, rest: parts.slice(2) };
  }

  private handleHub(req: IncomingMessage, res: ServerResponse): void {
    const path = this.record("hub", req);
    const api = /^\/api\/models\/([^/]+)\/([^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api !== null) {
      const found = this.findRepo([api[1], api[2]]);
      if (found === undefined) return error(res, 401, "RepoNotFound", "Repository not found");
      const { repo } = found;
      if (api[3] !== "main" && api[3] !== repo.commit) return error(res, 404, "RevisionNotFound", "Invalid rev id");
      const siblings = repo.files.map((f) =>
        f.lfs === true
          ? { rfilename: f.path, blobId: gitBlobSha1(Buffer.from("pointer")), size: f.content.length, lfs: { sha256: etagOf(f), size: f.content.length, pointerSize: 134 } }
          : { rfilename: f.path, blobId: etagOf(f), size: f.content.length },
      );
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: repo.repo, sha: repo.commit, siblings }));
      return;
    }
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const found = m === null ? undefined : this.findRepo([m[1], m[2]]);
    if (m === null || found === undefined) return error(res, 401, "RepoNotFound", "Repository not found");
    const { repo } = found;
    if (m[3] !== "main" && m[3] !== repo.commit) return error(res, 404, "RevisionNotFound", "Invalid rev id");
    const headers = { "x-repo-commit": repo.commit };
    if (repo.gatedToken !== undefined && req.headers.authorization !== `Bearer ${repo.gatedToken}`) {
      return error(res, 401, "GatedRepo", "Access to model is restricted", headers);
    }
    const file = repo.files.find((f) => f.path === m[4]);
    if (file === undefined) return error(res, 404, "EntryNotFound", "Entry not found", headers);
    const etag = etagOf(file);
    if (file.lfs === true) {
      res.writeHead(302, {
        ...headers,
        location: `${this.cdnBase}/cdn/${repo.repo}/${file.path}`,
        etag: `"${gitBlobSha1(Buffer.from("pointer"))}"`,
        "x-linked-etag": `"${etag}"`,
        "x-linked-size": String(file.content.length),
      });
      res.end();
      return;
    }
    this.sendBytes(req, res, `${repo.repo}/${file.path}`, file.content, { ...headers, etag: `"${etag}"` });
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse): void {
    const path = this.record("cdn", req);
    const m = /^\/cdn\/([^/]+)\/([^/]+)\/(.+)$/.exec(path);
    const found = m === null ? undefined : this.findRepo([m[1], m[2]]);
    const file = m === null ? undefined : found?.repo.files.find((f) => f.path === m[3]);
    if (m === null || found === undefined || file === undefined) return error(res, 404, "", "no such object");
    this.sendBytes(req, res, `${found.repo.repo}/${file.path}`, file.content, {});
  }

  private sendBytes(req: IncomingMessage, res: ServerResponse, key: string, content: Buffer, headers: Record<string, string>): void {
    let body = content;
    if (this.corrupt.has(key)) {
      body = Buffer.from(content);
      body[body.length >> 1] ^= 0xff;
    }
    const extra = this.oversize.get(key);
    if (extra !== undefined) body = Buffer.concat([body, Buffer.alloc(extra)]);
    let status = 200;
    const range = this.ignoreRange.has(key) ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range !== null) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { "content-range": `bytes */${body.length}` });
        res.end();
        return;
      }
      headers = { ...headers, "content-range": `bytes ${start}-${body.length - 1}/${body.length}` };
      body = body.subarray(start);
      status = 206;
    }
    res.writeHead(status, { ...headers, "content-length": String(body.length), "accept-ranges": "bytes" });
    const cut = this.cutOnce.get(key);
    if (cut !== undefined && cut < body.length) {
      this.cutOnce.delete(key);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(body);
  }
}

function error(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const h: Record<string, string> = { ...headers, "content-type": "application/json", "x-error-message": message };
  if (code !== "") h["x-error-code"] = code;
  res.writeHead(status, h);
  res.end(JSON.stringify({ error: message }));
}
