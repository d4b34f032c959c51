/**
 * Start the real server on 127.0.0.1 (a free port) for a model directory — used by the server tests
 * and the concurrency benchmark.
 */
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
