/**
 * `qwenrt serve <model> [--host 127.0.0.1] [--port 8000]`: the OpenAI-compatible server. The port
 * opens first (a busy port fails at once); while the model downloads and loads, requests get 503
 * with Retry-After and `/status` reports progress. Each request is logged in one line on stderr
 * (`--log-format json` for machines).
 */
import { serve as serveHttp, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { openModelForCli } from "../open-model.js";
import { createApp } from "../../server/app.js";
import { loadingApp, type LoadingState } from "../../server/loading.js";
import { formatRequest, withRequestLog, type LogFormat } from "../../server/request-log.js";
import { Runtime } from "../../server/runtime.js";
import { QwenrtError } from "../../util/errors.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { backendFlagOptions, backendFlagUsage, createBackend, parseBackendFlags } from "../backend.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";

export const usage = `usage: qwenrt serve <model> [options]

Serve the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics,
/status). The port opens at once; until the model is loaded requests get 503 with Retry-After.

  --host ADDR               address to bind (default 127.0.0.1)
  --port N                  port (default 8000; 0 = any free port)
  --model-id NAME           model name clients use (default: the directory name)
  --ctx N                   context window (default: the model's max_position_embeddings)
  --max-running N           sequences generating at once (default 16)
  --max-waiting N           queued requests before 429 (default 64)
  --thinking-budget N       default thinking budget for requests that set none
  --prefix-cache-tokens N   tokens kept for prefix reuse across requests (default: 1 GiB of KV cache)
  --log-format text|json    one line per request on stderr: method, path, status, time, prompt and
                            completion tokens, tok/s (default text)
${backendFlagUsage}`;

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("serve", argv, {
    host: { type: "string" },
    port: { type: "string" },
    "model-id": { type: "string" },
    ctx: { type: "string" },
    "max-running": { type: "string" },
    "max-waiting": { type: "string" },
    "thinking-budget": { type: "string" },
    "prefix-cache-tokens": { type: "string" },
    "log-format": { type: "string" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("serve", positionals);
  const host = v.host ?? "127.0.0.1";
  const port = numberFlag("port", v.port, { integer: true, min: 0, max: 65535 }) ?? 8000;
  const choice = parseBackendFlags(v);
  const opt = (flag: string, value: string | undefined, min: number) => numberFlag(flag, value, { integer: true, min });
  const format = v["log-format"] ?? "text";
  if (format !== "text" && format !== "json") throw new QwenrtError("--log-format", `must be text or json, got "${format}"`);
  const logFormat: LogFormat = format;

  // The port first: requests get 503 until the model is ready.
  const state: LoadingState = { model: v["model-id"] ?? dir, progress: undefined, startedAt: Date.now() };
  let handler: (req: Request) => Response | Promise<Response> = loadingApp(state).fetch;
  const logged = withRequestLog((req) => handler(req), (r) => process.stderr.write(`${formatRequest(r, logFormat)}\n`));
  const server = await listen(logged, host, port);
  const url = `http://${host}:${(server.address() as AddressInfo).port}/v1`;
  process.stderr.write(`qwenrt listening on ${url}; loading ${dir} (requests get 503 until it is ready)\n`);
  const stopped = new AbortController();
  const stopEarly = (): void => stopped.abort();
  process.once("SIGINT", stopEarly);
  process.once("SIGTERM", stopEarly);
  let done: Awaited<ReturnType<typeof loadServed>>;
  try {
    done = await loadServed(dir, choice, state);
  } catch (e) {
    await close(server);
    throw e;
  } finally {
    process.off("SIGINT", stopEarly);
    process.off("SIGTERM", stopEarly);
  }
  const { value: loaded, seconds } = done;
  const { model, tokenizer, template } = loaded;
  if (stopped.signal.aborted) {
    model.backend.dispose();
    await close(server);
    return 0;
  }
  const name = modelDisplayName(loaded.path);
  const rt = new Runtime(model, tokenizer, template, {
    modelId: v["model-id"] ?? name,
    ...(v.ctx === undefined ? {} : { contextLength: opt("ctx", v.ctx, 16) }),
    ...(v["max-running"] === undefined ? {} : { maxRunning: opt("max-running", v["max-running"], 1) }),
    ...(v["max-waiting"] === undefined ? {} : { maxWaiting: opt("max-waiting", v["max-waiting"], 0) }),
    ...(v["thinking-budget"] === undefined ? {} : { thinkingBudget: opt("thinking-budget", v["thinking-budget"], 0) }),
    ...(v["prefix-cache-tokens"] === undefined ? {} : { prefixCacheTokens: opt("prefix-cache-tokens", v["prefix-cache-tokens"], 0) }),
  });
  process.stderr.write(`${formatModelSummary(summarizeModel(loaded.path, model))} · loaded in ${seconds.toFixed(1)}s\n`);
  handler = createApp(rt).fetch;
  process.stderr.write(`qwenrt serving "${rt.opts.modelId}" on ${url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void close(server).then(() => {
        model.backend.dispose();
        resolve();
      });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

/** Download (for a Hub id) and load the model, reporting progress to `state` and the terminal. */
async function loadServed(dir: string, choice: ReturnType<typeof parseBackendFlags>, state: LoadingState) {
  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const name = modelDisplayName(source.path); // "Qwen/Qwen3-0.6B" for a Hub snapshot, else the file or dir name
  return withLoadingLine(name, async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.chatTemplate();
    const model = await source.loadModel({
      backend: await createBackend(choice),
      onProgress: (e) => {
        state.progress = e.total > 0 ? e.done / e.total : undefined;
        onProgress(e);
      },
    });
    return { tokenizer, template, model, path: source.path };
  });
}

/** Listen on host:port; a busy port or a bad address is an error naming the flag. */
function listen(fetch: (req: Request) => Promise<Response>, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serveHttp({ fetch, hostname: host, port }, () => resolve(server));
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new QwenrtError(e.code === "EADDRINUSE" ? "--port" : "--host/--port", e.code === "EADDRINUSE" ? `${host}:${port} is already in use` : `cannot listen (${e.message})`)),
    );
  });
}

function close(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
