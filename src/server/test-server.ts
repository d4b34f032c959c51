/**
 * Start the real server on 127.0.0.1 (a free port) for a model directory — used by the server tests
 * and the concurrency benchmark.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { loadChatTemplate } from "../chat/template.js";
import type { KernelBackend } from "../kernels/types.js";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { createApp } from "./app.js";
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

/** Load `dir` and serve it on loopback; with `dataDir`, responses are stored there (SQLite). */
export async function startServer(
  dir: string,
  opts: Partial<ServeOptions> & { backend?: KernelBackend; dataDir?: string; log?: (line: string) => void } = {},
): Promise<RunningServer> {
  const { backend, dataDir, log, ...serveOpts } = opts;
  const store = dataDir === undefined ? undefined : SqliteResponseStore.open(dataDir, log ?? ((l) => process.stderr.write(`${l}\n`)));
  const model = await loadModel(dir, backend === undefined ? {} : { backend });
  const rt = new Runtime(model, Tokenizer.fromDir(dir), loadChatTemplate(dir), { modelId: "test-model", ...serveOpts });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: createApp(rt, { store }).fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    runtime: rt,
    store,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          store?.close();
          resolve();
        });
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
