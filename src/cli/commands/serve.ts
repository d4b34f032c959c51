/**
 * `qwenrt serve <model> [--host 127.0.0.1] [--port 8000]`: the OpenAI-compatible server. SIGINT or
 * SIGTERM stops it: no new connections, running generations cancelled, connections closed after a
 * short grace, backend released, exit 0.
 */
import { openModelForCli } from "../open-model.js";
import { createApp } from "../../server/app.js";
import { isLoopbackAddress } from "../../server/guard.js";
import { listen } from "../../server/listen.js";
import { Runtime } from "../../server/runtime.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { backendFlagOptions, backendFlagUsage, createBackend, parseBackendFlags } from "../backend.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";
import { QwenrtError } from "../../util/errors.js";

export const usage = `usage: qwenrt serve <model> [options]

Serve the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics).

  --host ADDR               address to bind (default 127.0.0.1)
  --port N                  port (default 8000; 0 = any free port)
  --model-id NAME           model name clients use (default: the directory name)
  --ctx N                   context window (default: the model's max_position_embeddings)
  --max-running N           sequences generating at once (default 16)
  --max-waiting N           queued requests before 429 (default 64)
  --thinking-budget N       default thinking budget for requests that set none
  --prefix-cache-tokens N   tokens kept for prefix reuse across requests (default: 1 GiB of KV cache)
  --prefill-chunk N         prompt tokens per model step (default 256); smaller keeps /health and
                            other streams responsive during long prompts, at some prefill speed
  --api-key KEY             require "Authorization: Bearer KEY" on /v1/* (default: $QWENRT_API_KEY;
                            /health and /metrics stay open)
  --cors ORIGINS            comma-separated origins (or *) whose web pages may call the API; pages
                            on localhost may always, other origins are refused
  --allow-special-in-content
                            encode special-token text typed in message content (<|im_start|>,
                            <think>, <tool_call>) as control tokens, as before; by default only
                            the chat template's own markup is special
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
    "prefill-chunk": { type: "string" },
    "api-key": { type: "string" },
    cors: { type: "string" },
    "allow-special-in-content": { type: "boolean" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("serve", positionals);
  const host = v.host ?? "127.0.0.1";
  const port = numberFlag("port", v.port, { integer: true, min: 0, max: 65535 }) ?? 8000;
  const choice = parseBackendFlags(v);
  const opt = (flag: string, value: string | undefined, min: number) => numberFlag(flag, value, { integer: true, min });
  const apiKey = v["api-key"] ?? process.env.QWENRT_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === "") throw new QwenrtError(v["api-key"] === undefined ? "QWENRT_API_KEY" : "--api-key", "must not be empty");
  const corsOrigins = v.cors === undefined ? undefined : parseOrigins(v.cors);
  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const name = modelDisplayName(source.path); // "Qwen/Qwen3-0.6B" for a Hub snapshot, else the file or dir name
  const { value: loaded, seconds } = await withLoadingLine(name, async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.chatTemplate();
    const model = await source.loadModel({ backend: await createBackend(choice), onProgress });
    return { tokenizer, template, model, path: source.path };
  });
  const { model, tokenizer, template } = loaded;
  const rt = new Runtime(model, tokenizer, template, {
    modelId: v["model-id"] ?? name,
    ...(v.ctx === undefined ? {} : { contextLength: opt("ctx", v.ctx, 16) }),
    ...(v["max-running"] === undefined ? {} : { maxRunning: opt("max-running", v["max-running"], 1) }),
    ...(v["max-waiting"] === undefined ? {} : { maxWaiting: opt("max-waiting", v["max-waiting"], 0) }),
    ...(v["thinking-budget"] === undefined ? {} : { thinkingBudget: opt("thinking-budget", v["thinking-budget"], 0) }),
    ...(v["prefix-cache-tokens"] === undefined ? {} : { prefixCacheTokens: opt("prefix-cache-tokens", v["prefix-cache-tokens"], 0) }),
    ...(v["prefill-chunk"] === undefined ? {} : { prefillChunk: opt("prefill-chunk", v["prefill-chunk"], 1) }),
    allowSpecialInContent: v["allow-special-in-content"] === true,
  });
  process.stderr.write(`${formatModelSummary(summarizeModel(loaded.path, model))} · loaded in ${seconds.toFixed(1)}s\n`);
  const loopback = isLoopbackAddress(host);
  const app = createApp(rt, { loopbackHostsOnly: loopback, ...(apiKey === undefined ? {} : { apiKey }), ...(corsOrigins === undefined ? {} : { corsOrigins }) });
  if (!loopback && apiKey === undefined) {
    process.stderr.write(`warning: serving on ${host}, reachable beyond this machine, without an API key; anyone who can connect can use it (set --api-key or QWENRT_API_KEY)\n`);
  }
  const listening = await listen(app, { host, port });
  process.stderr.write(`qwenrt serving "${rt.opts.modelId}" on http://${host}:${listening.port}/v1 (Ctrl-C to stop)\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stderr.write(`qwenrt: ${signal}, stopping\n`);
  rt.stop();
  await listening.close();
  model.backend.dispose();
  return 0;
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
