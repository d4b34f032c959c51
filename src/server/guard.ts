/**
 * Who may talk to the server: Bearer auth on `/v1/*` (`--api-key`), browser protection (the `Host`
 * of a loopback-bound server must be a loopback name, against DNS rebinding; a cross-origin page is
 * refused unless `--cors` lists its origin; bodies must be JSON, so a page cannot POST a "simple"
 * `text/plain` request), and CORS preflight for the origins allowed.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { ApiError, toErrorResponse } from "./errors.js";

/** Access settings (CLI flags `--api-key`, `--cors`; the host check follows the bind address). */
export interface AccessOptions {
  /** Key clients must send as `Authorization: Bearer KEY` on `/v1/*`; none: open. */
  readonly apiKey?: string;
  /** Origins (`https://app.example:8443`, or `*`) allowed cross-origin, beside the local ones. */
  readonly corsOrigins?: readonly string[];
  /** Accept only loopback names in `Host` (a server bound to a loopback address). */
  readonly loopbackHostsOnly?: boolean;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Whether an address to bind is loopback (then requests must name a loopback host). */
export function isLoopbackAddress(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a `Host` header value (`[::1]:8000` → `[::1]`, `localhost:8000` → `localhost`). */
function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.indexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/** A page served from this machine: `http(s)://localhost|127.x.x.x|[::1][:port]`. */
function isLocalOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && isLoopbackAddress(u.hostname);
  } catch {
    return false;
  }
}

function fail(c: Context, e: ApiError, extra: Record<string, string> = {}): Response {
  const r = toErrorResponse(e);
  return c.json(r.body, r.status as 400, { ...r.headers, ...extra });
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * The access middleware for every route: host check, origin check with CORS (preflight answered
 * here), then Bearer auth on `/v1/*`. `/health` and `/metrics` need no key.
 *
 * @example
 * app.use(accessGuard({ apiKey: "sk-local", corsOrigins: ["https://app.example"], loopbackHostsOnly: true }));
 */
export function accessGuard(opts: AccessOptions): MiddlewareHandler {
  const allowed = new Set(opts.corsOrigins ?? []);
  const key = opts.apiKey === undefined || opts.apiKey === "" ? undefined : digest(opts.apiKey);
  return async (c, next) => {
    if (opts.loopbackHostsOnly === true) {
      const host = c.req.header("host") ?? "";
      if (!LOOPBACK_NAMES.has(hostName(host)) && !/^127\.\d+\.\d+\.\d+$/.test(hostName(host))) {
        return fail(c, new ApiError(403, `Host ${JSON.stringify(host)} is not a loopback name; this server listens on loopback only`, "invalid_request_error", null, "forbidden_host"));
      }
    }
    const origin = c.req.header("origin");
    const cors: Record<string, string> = {};
    if (origin !== undefined) {
      if (!isLocalOrigin(origin) && !allowed.has(origin) && !allowed.has("*")) {
        return fail(c, new ApiError(403, `origin ${origin} is not allowed; start the server with --cors ${origin} to allow it`, "invalid_request_error", null, "forbidden_origin"));
      }
      cors["access-control-allow-origin"] = origin;
      cors.vary = "Origin";
      if (c.req.method === "OPTIONS") {
        const headers = c.req.header("access-control-request-headers") ?? "authorization, content-type";
        return c.body(null, 204, {
          ...cors,
          "access-control-allow-methods": "GET, POST, OPTIONS",
          "access-control-allow-headers": headers,
          "access-control-max-age": "600",
        });
      }
    }
    if (key !== undefined && new URL(c.req.url).pathname.startsWith("/v1/")) {
      const auth = c.req.header("authorization");
      const m = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (m === null) {
        return fail(
          c,
          new ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", null, "invalid_api_key"),
          { ...cors, "www-authenticate": "Bearer" },
        );
      }
      if (!timingSafeEqual(digest(m[1]!), key)) {
        return fail(c, new ApiError(401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key"), { ...cors, "www-authenticate": "Bearer" });
      }
    }
    for (const [k, v] of Object.entries(cors)) c.header(k, v);
    await next();
    return undefined;
  };
}

/** A POST body must be declared JSON: a 415 otherwise (a browser's "simple" `text/plain` request included). */
export function requireJson(c: Context): void {
  const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") {
    throw new ApiError(415, `Content-Type must be application/json, got ${type === "" ? "none" : JSON.stringify(type)}`, "invalid_request_error", null, "unsupported_media_type");
  }
}
