/**
/**
 * `qwenrt serve <model> [--host 127.0.0.1] [--port 8000]`: the OpenAI-compatible server. The port
 * opens first (a busy port fails at once); while the model downloads and loads, requests get 503
 * with Retry-After and `/status` reports progress. Each request is logged in one line on stderr
 * (`--log-format json` for machines). SIGINT or SIGTERM stops it: no new connections, running
 * generations cancelled, connections closed after a short grace, backend released, exit 0.
 */
import { join } from "node:path";
import { ChatTemplate } from "../../chat/template.js";
import { openModelForCli } from "../open-model.js";
import { loadGuard } from "../guard-model.js";
import { createApp } from "../../server/app.js";
import { Guardrail } from "../../server/guardrail.js";
import { isLoopbackAddress } from "../../server/guard.js";
import { listen } from "../../server/listen.js";
import { loadingApp, type LoadingState } from "../../server/loading.js";
import { formatRequest, withRequestLog, type LogFormat } from "../../server/request-log.js";
import { Runtime } from "../../server/runtime.js";
import { QwenrtError } from "../../util/errors.js";
import { openKvSnapshots } from "../../server/kv-snapshots.js";
import { defaultDataDir } from "../../server/store/data-dir.js";
import { SqliteResponseStore } from "../../server/store/responses-store.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { backendFlagOptions, backendFlagUsage, createBackend, loadOptionsOf, parseBackendFlags, withDefaultDtype } from "../backend.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";

export const usage = `usage: qwenrt serve <model> [options]

Serve the OpenAI API (/v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings,
/v1/rerank, /v1/moderations, /v1/models, /health, /metrics, /status). A model without a chat
template (e.g. Qwen3-Embedding) serves /v1/embeddings and /v1/rerank; its chat routes answer 400.
The port opens at once; until the model is loaded requests get 503 with Retry-After.

  --host ADDR               address to bind (default 127.0.0.1)
  --port N                  port (default 8000; 0 = any free port)
  --model-id NAME           model name clients use (default: the directory name)
  --max-running N           sequences generating at once (default 16)
  --max-waiting N           queued requests before 429 (default 64)
  --thinking-budget N       default thinking budget for requests that set none
  --prefix-cache-tokens N   tokens kept for prefix reuse across requests (default: 1 GiB of KV cache)
  --prefill-chunk N         prompt tokens per model step (default 256); smaller keeps /health and
                            other streams responsive during long prompts, at some prefill speed
  --guard MODEL             a Qwen3Guard model screening every prompt and answer (Gen: the answer
                            so far every 16 tokens; Stream: every token); it also answers
                            /v1/moderations (without it, the served model does)
  --guard-policy P          block (default): refuse unsafe prompts with a 400 and stop unsafe
                            answers with finish_reason "content_filter"; flag: only count verdicts
  --data-dir DIR            where stored responses live (SQLite; default: ${defaultDataDir()})
  --no-store                keep no responses (previous_response_id then finds none)
  --kv-disk-budget SIZE     disk for KV snapshots of stored responses, in DIR/kv (bytes, or with
                            K/M/G; default 2G; 0 = none)
  --api-key KEY             require "Authorization: Bearer KEY" on /v1/* (default: $QWENRT_API_KEY;
                            /health and /metrics stay open)
  --cors ORIGINS            comma-separated origins (or *) whose web pages may call the API; pages
                            on localhost may always, other origins are refused
  --check-weights           scan every weight for NaN or Infinity before serving (a model that
                            produces non-finite logits is also scanned then, to name the tensor)
  --allow-special-in-content
                            encode special-token text typed in message content (<|im_start|>,
                            <think>, <tool_call>) as control tokens, as before; by default only
                            the chat template's own markup is special
  --log-format text|json    one line per request on stderr: method, path, status, time, prompt and
                            completion tokens, tok/s (default text)
${backendFlagUsage}`;

/** A stand-in template for a model that has none: chat requests fail with a message naming the model. */
function noChatTemplate(path: string): ChatTemplate {
  const message = `${path} has no chat template: this model serves /v1/embeddings and /v1/rerank`;
  return new ChatTemplate({ template: `{{ raise_exception(${JSON.stringify(message)}) }}`, where: path });
}

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("serve", argv, {
    host: { type: "string" },
    port: { type: "string" },
    "model-id": { type: "string" },
    "max-running": { type: "string" },
    "max-waiting": { type: "string" },
    "thinking-budget": { type: "string" },
    "prefix-cache-tokens": { type: "string" },
    "prefill-chunk": { type: "string" },
    guard: { type: "string" },
    "guard-policy": { type: "string" },
    "data-dir": { type: "string" },
    "no-store": { type: "boolean" },
    "kv-disk-budget": { type: "string" },
    "api-key": { type: "string" },
    cors: { type: "string" },
    "allow-special-in-content": { type: "boolean" },
    "check-weights": { type: "boolean" },
    "log-format": { type: "string" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("serve", positionals);
  if (v["no-store"] === true && v["data-dir"] !== undefined) throw new QwenrtError("--no-store", "conflicts with --data-dir");
  const kvBudget = sizeFlag("kv-disk-budget", v["kv-disk-budget"]) ?? 2 * 2 ** 30;
  const host = v.host ?? "127.0.0.1";
  const port = numberFlag("port", v.port, { integer: true, min: 0, max: 65535 }) ?? 8000;
  const choice = parseBackendFlags(v);
  const opt = (flag: string, value: string | undefined, min: number) => numberFlag(flag, value, { integer: true, min });
  const policy = v["guard-policy"] ?? "block";
  if (policy !== "block" && policy !== "flag") throw new QwenrtError("--guard-policy", `must be "block" or "flag", got ${JSON.stringify(policy)}`);
  if (v["guard-policy"] !== undefined && v.guard === undefined) throw new QwenrtError("--guard-policy", "needs --guard");
  const apiKey = v["api-key"] ?? process.env.QWENRT_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === "") throw new QwenrtError(v["api-key"] === undefined ? "QWENRT_API_KEY" : "--api-key", "must not be empty");
  const corsOrigins = v.cors === undefined ? undefined : parseOrigins(v.cors);
  const format = v["log-format"] ?? "text";
  if (format !== "text" && format !== "json") throw new QwenrtError("--log-format", `must be text or json, got "${format}"`);
  const logFormat: LogFormat = format;

  // The port first: requests get 503 until the model is ready.
  const state: LoadingState = { model: v["model-id"] ?? dir, progress: undefined, startedAt: Date.now() };
  let handler: (req: Request) => Response | Promise<Response> = loadingApp(state).fetch;
  const logged = withRequestLog((req) => handler(req), (r) => process.stderr.write(`${formatRequest(r, logFormat)}\n`));
  const listening = await listen({ fetch: logged }, { host, port });
  const url = `http://${host}:${listening.port}/v1`;
  process.stderr.write(`qwenrt listening on ${url}; loading ${dir} (requests get 503 until it is ready)\n`);
  const stopped = new AbortController();
  const stopEarly = (): void => stopped.abort();
  process.once("SIGINT", stopEarly);
  process.once("SIGTERM", stopEarly);
  let served: Awaited<ReturnType<typeof loadServed>>;
  try {
    served = await loadServed(dir, choice, state, v["check-weights"] === true, v.guard, policy, () => stopped.signal.aborted);
  } catch (e) {
    await listening.close(0);
    throw e;
  } finally {
    process.off("SIGINT", stopEarly);
    process.off("SIGTERM", stopEarly);
  }
  const { loaded, seconds, source, name, guard } = served;
  const { model, tokenizer, template } = loaded;
  if (stopped.signal.aborted) {
    model.backend.dispose();
    guard?.model.backend.dispose();
    await listening.close(0);
    return 0;
  }
  const rt = new Runtime(model, tokenizer, template, {
    modelId: v["model-id"] ?? name,
    ...(v["max-running"] === undefined ? {} : { maxRunning: opt("max-running", v["max-running"], 1) }),
    ...(v["max-waiting"] === undefined ? {} : { maxWaiting: opt("max-waiting", v["max-waiting"], 0) }),
    ...(v["thinking-budget"] === undefined ? {} : { thinkingBudget: opt("thinking-budget", v["thinking-budget"], 0) }),
    ...(v["prefix-cache-tokens"] === undefined ? {} : { prefixCacheTokens: opt("prefix-cache-tokens", v["prefix-cache-tokens"], 0) }),
    ...(v["prefill-chunk"] === undefined ? {} : { prefillChunk: opt("prefill-chunk", v["prefill-chunk"], 1) }),
    ...(guard === undefined ? {} : { guard }),
    allowSpecialInContent: v["allow-special-in-content"] === true,
    findNonFinite: () => source.findNonFinite(),
  });
  process.stderr.write(`${formatModelSummary(summarizeModel(loaded.path, model))} · loaded in ${seconds.toFixed(1)}s\n`);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const dataDir = v["data-dir"] ?? defaultDataDir();
  const store = v["no-store"] === true ? undefined : SqliteResponseStore.open(dataDir, log);
  if (store !== undefined) log(`qwenrt: storing responses in ${store.path}`);
  const kv = store === undefined || kvBudget === 0 ? undefined : await openKvSnapshots(rt, loaded.path, join(dataDir, "kv"), kvBudget, log);
  const loopback = isLoopbackAddress(host);
  const access = { loopbackHostsOnly: loopback, ...(apiKey === undefined ? {} : { apiKey }), ...(corsOrigins === undefined ? {} : { corsOrigins }) };
  handler = createApp(rt, access, { store, ...kv?.hooks }).fetch;
  if (!loopback && apiKey === undefined) {
    process.stderr.write(`warning: serving on ${host}, reachable beyond this machine, without an API key; anyone who can connect can use it (set --api-key or QWENRT_API_KEY)\n`);
  }
  process.stderr.write(`qwenrt serving "${rt.opts.modelId}" on ${url} (Ctrl-C to stop)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stderr.write(`qwenrt: ${signal}, stopping\n`);
  rt.stop();
  await listening.close();
  store?.close();
  model.backend.dispose();
  guard?.model.backend.dispose();
  return 0;
}

/**
 * Download (for a Hub id), check and load the model and the guard, reporting progress to `state`
 * and the terminal; `stopped()` true skips what is left after a signal.
 */
async function loadServed(
  dir: string,
  choice: ReturnType<typeof parseBackendFlags>,
  state: LoadingState,
  checkWeights: boolean,
  guardArg: string | undefined,
  policy: "block" | "flag",
  stopped: () => boolean,
) {
  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const compute = withDefaultDtype(choice, source.path);
  const name = modelDisplayName(source.path); // "Qwen/Qwen3-0.6B" for a Hub snapshot, else the file or dir name
  if (checkWeights) {
    const bad = await source.findNonFinite();
    if (bad !== undefined) throw new QwenrtError(bad.tensor, `holds ${bad.value} (value ${bad.index}): the checkpoint is corrupt (--check-weights)`);
    process.stderr.write(`${name}: every weight is finite (--check-weights)\n`);
  }
  const { value: loaded, seconds } = await withLoadingLine(name, async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.hasChatTemplate() ? source.chatTemplate() : noChatTemplate(source.path);
    const model = await source.loadModel({
      backend: await createBackend(compute),
      onProgress: (e) => {
        state.progress = e.total > 0 ? e.done / e.total : undefined;
        onProgress(e);
      },
      ...loadOptionsOf(compute),
    });
    return { tokenizer, template, model, path: source.path };
  });
  let guard: Guardrail | undefined;
  if (guardArg !== undefined && !stopped()) {
    const guardSource = await openModelForCli(guardArg);
    const guardName = modelDisplayName(guardSource.path);
    const g = await withLoadingLine(guardName, async (onProgress) => loadGuard(guardSource, { backend: await createBackend(choice), onProgress, ...loadOptionsOf(choice) }));
    guard = new Guardrail(g.value.model, g.value.tokenizer, policy, g.value.stream);
    process.stderr.write(`guard ${guardName} (${g.value.stream === undefined ? "" : "Stream, "}${policy}) · loaded in ${g.seconds.toFixed(1)}s\n`);
  }
  return { loaded, seconds, source, name, guard };
}

/** A byte size flag: an integer with an optional K, M or G (powers of 1024). */
export function sizeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(value.trim());
  if (m === null) throw new QwenrtError(`--${flag}`, `expected a size like 512M or 2G, got "${value}"`);
  const u = m[2]!.toUpperCase();
  const unit = u === "G" ? 2 ** 30 : u === "M" ? 2 ** 20 : u === "K" ? 2 ** 10 : 1;
  return Number(m[1]) * unit;
}

/** `--cors a,b`: each an origin (`scheme://host[:port]`, no path) or `*`. */
function parseOrigins(list: string): string[] {
  return list
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "")
    .map((o) => {
      if (o === "*") return o;
      let u: URL;
      try {
        u = new URL(o);
      } catch {
        throw new QwenrtError("--cors", `${JSON.stringify(o)} is not an origin like https://app.example`);
      }
      if (u.origin !== o) throw new QwenrtError("--cors", `${JSON.stringify(o)} is not an origin (scheme://host[:port], no path); did you mean ${u.origin}?`);
      return o;
    });
}
