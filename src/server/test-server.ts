/**
 * Start the real server on 127.0.0.1 (a free port) for a model directory — used by the server tests
 * and the concurrency benchmark.
 */
import { spawn } from "node:child_process";
import { loadChatTemplate } from "../chat/template.js";
import type { KernelBackend } from "../kernels/types.js";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { createApp } from "./app.js";
import type { AccessOptions } from "./guard.js";
import { listen, type ListenOptions } from "./listen.js";
import { Runtime, type ServeOptions } from "./runtime.js";
import { SqliteResponseStore } from "./store/responses-store.js";

/** A running server and how to stop it. */
export interface RunningServer {
  readonly url: string; // http://127.0.0.1:PORT/v1
  readonly runtime: Runtime;
  /** The Responses store, when `dataDir` was given and could be opened. */
  readonly store: SqliteResponseStore | undefined;
  close(): Promise<void>;
}

/** What `startServer` takes: server settings, access settings, listener timeouts, a backend, and a
 * data dir where responses are stored (SQLite). */
export type TestServerOptions = Partial<ServeOptions> &
  AccessOptions &
  Omit<Partial<ListenOptions>, "host" | "port"> & { backend?: KernelBackend; dataDir?: string; log?: (line: string) => void };

/** Load `dir` and serve it on loopback (host check on, as `qwenrt serve` does on a loopback address). */
export async function startServer(dir: string, opts: TestServerOptions = {}): Promise<RunningServer> {
  const { backend, apiKey, corsOrigins, loopbackHostsOnly, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, dataDir, log, ...serveOpts } = opts;
  const store = dataDir === undefined ? undefined : SqliteResponseStore.open(dataDir, log ?? ((l) => process.stderr.write(`${l}\n`)));
  const model = await loadModel(dir, backend === undefined ? {} : { backend });
  const rt = new Runtime(model, Tokenizer.fromDir(dir), loadChatTemplate(dir), { modelId: "test-model", ...serveOpts });
  const access: AccessOptions = { loopbackHostsOnly: loopbackHostsOnly ?? true, ...(apiKey === undefined ? {} : { apiKey }), ...(corsOrigins === undefined ? {} : { corsOrigins }) };
  const timeouts = {
    ...(headersTimeoutMs === undefined ? {} : { headersTimeoutMs }),
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
    ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }),
  };
  const listening = await listen(createApp(rt, access, { store }), { host: "127.0.0.1", port: 0, ...timeouts });
  return {
    url: `http://127.0.0.1:${listening.port}/v1`,
    runtime: rt,
    store,
    close: async () => {
      rt.stop();
      await listening.close(0);
      store?.close();
    },
  };
}

/** What `healthWhile` saw: the work's result and the `/health` latencies around it. */
export interface HealthSample<T> {
  readonly result: T;
  /** Slowest `/health` round trip. */
  readonly worstMs: number;
  readonly polls: number;
  /** How long `work` took. */
  readonly ms: number;
}

// The poller: its own process, so that its clock and its requests do not wait on this event loop.
// It says "ready" after a few warm-up polls (a first connection and a cold JIT are not the server's
// latency), then reports every poll as [start (epoch ms), duration (ms)].
const POLLER = `
const polls = [];
let done = false;
process.stdin.on("end", () => (done = true)).resume();
(async () => {
  while (!done) {
    const t0 = performance.now();
    const at = Date.now();
    await (await fetch(process.env.HEALTH_URL)).text();
    polls.push([at, performance.now() - t0]);
    if (polls.length === 3) process.stdout.write("ready\\n");
    await new Promise((r) => setTimeout(r, Number(process.env.HEALTH_EVERY_MS)));
  }
  process.stdout.write(JSON.stringify(polls));
})();`;

/**
 * Poll `${base}/health` every `everyMs` from a child process while `work` runs, as an outside client
 * would (in this process a blocked event loop would hold the poller as long as the server). Only
 * polls sent while `work` runs count.
 */
export async function healthWhile<T>(base: string, work: () => Promise<T>, everyMs = 10): Promise<HealthSample<T>> {
  const child = spawn(process.execPath, ["-e", POLLER], { env: { ...process.env, HEALTH_URL: `${base}/health`, HEALTH_EVERY_MS: String(everyMs) } });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  try {
    for (const deadline = Date.now() + 30_000; !out.includes("ready\n"); ) {
      if (Date.now() > deadline) throw new Error("the /health poller did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
    const from = Date.now();
    const t0 = performance.now();
    const result = await work();
    const ms = performance.now() - t0;
    const to = Date.now();
    child.stdin.end();
    await exited;
    const polls = (JSON.parse(out.slice(out.indexOf("ready\n") + 6)) as [number, number][]).filter(([at]) => at >= from && at <= to);
    return { result, worstMs: Math.max(0, ...polls.map(([, d]) => d)), polls: polls.length, ms };
  } finally {
    child.kill();
  }
}
