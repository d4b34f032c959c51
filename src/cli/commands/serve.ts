/**
 * `qwenrt serve <model> [--host 127.0.0.1] [--port 8000]`: the OpenAI-compatible server.
 */
import { serve as serveHttp } from "@hono/node-server";
import { ChatTemplate } from "../../chat/template.js";
import { openModelForCli } from "../open-model.js";
import { createApp } from "../../server/app.js";
import { Guardrail } from "../../server/guardrail.js";
import { Runtime } from "../../server/runtime.js";
import { QwenrtError } from "../../util/errors.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { backendFlagOptions, backendFlagUsage, createBackend, parseBackendFlags, quantizeOptions } from "../backend.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";

export const usage = `usage: qwenrt serve <model> [options]

Serve the OpenAI API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/rerank,
/v1/moderations, /v1/models, /health, /metrics). A model without a chat template (e.g. Qwen3-Embedding) serves
/v1/embeddings and /v1/rerank; its chat routes answer 400.

  --host ADDR               address to bind (default 127.0.0.1)
  --port N                  port (default 8000; 0 = any free port)
  --model-id NAME           model name clients use (default: the directory name)
  --ctx N                   context window (default: the model's max_position_embeddings)
  --max-running N           sequences generating at once (default 16)
  --max-waiting N           queued requests before 429 (default 64)
  --thinking-budget N       default thinking budget for requests that set none
  --prefix-cache-tokens N   tokens kept for prefix reuse across requests (default: 1 GiB of KV cache)
  --guard MODEL             a Qwen3Guard-Gen model screening every prompt and answer; it also
                            answers /v1/moderations (without it, the served model does)
  --guard-policy P          block (default): refuse unsafe prompts with a 400 and stop unsafe
                            answers with finish_reason "content_filter"; flag: only count verdicts
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
    ctx: { type: "string" },
    "max-running": { type: "string" },
    "max-waiting": { type: "string" },
    "thinking-budget": { type: "string" },
    "prefix-cache-tokens": { type: "string" },
    guard: { type: "string" },
    "guard-policy": { type: "string" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("serve", positionals);
  const host = v.host ?? "127.0.0.1";
  const port = numberFlag("port", v.port, { integer: true, min: 0, max: 65535 }) ?? 8000;
  const choice = parseBackendFlags(v);
  const opt = (flag: string, value: string | undefined, min: number) => numberFlag(flag, value, { integer: true, min });
  const policy = v["guard-policy"] ?? "block";
  if (policy !== "block" && policy !== "flag") throw new QwenrtError("--guard-policy", `must be "block" or "flag", got ${JSON.stringify(policy)}`);
  if (v["guard-policy"] !== undefined && v.guard === undefined) throw new QwenrtError("--guard-policy", "needs --guard");
  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const name = modelDisplayName(source.path); // "Qwen/Qwen3-0.6B" for a Hub snapshot, else the file or dir name
  const { value: loaded, seconds } = await withLoadingLine(name, async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.hasChatTemplate() ? source.chatTemplate() : noChatTemplate(source.path);
    const model = await source.loadModel({ backend: await createBackend(choice), onProgress, ...quantizeOptions(choice) });
    return { tokenizer, template, model, path: source.path };
  });
  const { model, tokenizer, template } = loaded;
  let guard: Guardrail | undefined;
  if (v.guard !== undefined) {
    const guardSource = await openModelForCli(v.guard);
    const guardName = modelDisplayName(guardSource.path);
    const g = await withLoadingLine(guardName, async (onProgress) => guardSource.loadModel({ backend: await createBackend(choice), onProgress, ...quantizeOptions(choice) }));
    guard = new Guardrail(g.value, guardSource.tokenizer(), policy);
    process.stderr.write(`guard ${guardName} (${policy}) · loaded in ${g.seconds.toFixed(1)}s\n`);
  }
  const rt = new Runtime(model, tokenizer, template, {
    modelId: v["model-id"] ?? name,
    ...(v.ctx === undefined ? {} : { contextLength: opt("ctx", v.ctx, 16) }),
    ...(v["max-running"] === undefined ? {} : { maxRunning: opt("max-running", v["max-running"], 1) }),
    ...(v["max-waiting"] === undefined ? {} : { maxWaiting: opt("max-waiting", v["max-waiting"], 0) }),
    ...(v["thinking-budget"] === undefined ? {} : { thinkingBudget: opt("thinking-budget", v["thinking-budget"], 0) }),
    ...(v["prefix-cache-tokens"] === undefined ? {} : { prefixCacheTokens: opt("prefix-cache-tokens", v["prefix-cache-tokens"], 0) }),
    ...(guard === undefined ? {} : { guard }),
  });
  process.stderr.write(`${formatModelSummary(summarizeModel(loaded.path, model))} · loaded in ${seconds.toFixed(1)}s\n`);
  const app = createApp(rt);
  await new Promise<void>((resolve, reject) => {
    const server = serveHttp({ fetch: app.fetch, hostname: host, port }, (info) => {
      process.stderr.write(`qwenrt serving "${rt.opts.modelId}" on http://${host}:${info.port}/v1 (Ctrl-C to stop)\n`);
    });
    server.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "EADDRINUSE" ? `--port: ${host}:${port} is already in use` : `--host/--port: cannot listen (${e.message})`)),
    );
    const stop = (): void => {
      server.close();
      model.backend.dispose();
      guard?.model.backend.dispose();
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
