/**
 * The HTTP listener under the app, with the timeouts a server exposed to slow or idle clients needs:
 * a connection must send its headers within `headersTimeoutMs` and its whole request within
 * `requestTimeoutMs`, and an idle kept-alive connection closes after `keepAliveTimeoutMs`. Responses
 * (a long generation, a stream) are not limited. `close` stops accepting, lets running requests end
 * for a grace period, then closes what is left.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Hono } from "hono";

/** Where and how to listen. */
export interface ListenOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** Time for a connection to send its request headers (default 10 s). */
  readonly headersTimeoutMs?: number;
  /** Time for a connection to send its whole request, body included (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** Time an idle kept-alive connection stays open between requests (default 5 s). */
  readonly keepAliveTimeoutMs?: number;
}

/** A listening server. */
export interface Listening {
  readonly server: ServerType;
  /** The port bound (the free one chosen for port 0). */
  readonly port: number;
  /** Stop accepting; after `graceMs` (default 2 s) close the connections still open. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Listen with `app`; rejects with a message naming `--host`/`--port` when the address cannot be bound.
 *
 * @example
 * const { port, close } = await listen(createApp(rt), { host: "127.0.0.1", port: 0 });
 */
export async function listen(app: Hono, opts: ListenOptions): Promise<Listening> {
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const serverOptions = {
    headersTimeout,
    requestTimeout: Math.max(opts.requestTimeoutMs ?? 60_000, headersTimeout),
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5_000,
    // How often Node checks the two timeouts above (its default, 30 s, would let them run late).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))),
  };
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: opts.host, port: opts.port, serverOptions }, () => resolve(s));
    s.once("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "EADDRINUSE" ? `--port: ${opts.host}:${opts.port} is already in use` : `--host/--port: cannot listen (${e.message})`)),
    );
  });
  const port = (server.address() as AddressInfo).port;
  const http = server as ServerType & { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  return {
    server,
    port,
    close: (graceMs = 2_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => http.closeAllConnections?.(), graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        http.closeIdleConnections?.();
      }),
  };
}
