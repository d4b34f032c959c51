/**
 * `qwenrt generate <model> (--prompt TEXT | --ids FILE|-) [...]`: continue a prompt, streaming the
 * text to stdout as it is generated (ending the output with a newline), or printing one JSON object
 * `{"ids","text","finish_reason"}` (ids = generated ids) with `--json`. With `--chat` the prompt is
 * one user message run through the engine's chat-turn pipeline (engine/turn.ts), as `qwenrt chat`
 * and the server run it, and the JSON also carries the rendered prompt's `prompt_ids`. `--stats`
 * adds a line on stderr: tokens, prefill and decode speed, time to first token.
 */
import { readFileSync } from "node:fs";
import { parseChatRequest } from "../../chat/messages.js";
import { promptThinkingEnabled, type ChatTemplate } from "../../chat/template.js";
import { generateAll, type GenerateOptions, type GenerateStep } from "../../engine/generate.js";
import { thinkingBudgetInterceptor } from "../../engine/thinking.js";
import { TurnRunner } from "../../engine/turn.js";
import { openModelForCli } from "../open-model.js";
import { parseSamplingFlags, samplingFlagOptions, samplingFlagUsage } from "../sampling-flags.js";
import { backendFlagOptions, backendFlagUsage, createBackend, loadOptionsOf, parseBackendFlags, withDefaultDtype } from "../backend.js";
import { QwenrtError } from "../../util/errors.js";
import { numberFlag, parseCommandArgs, readStdin, requireModelArg } from "../args.js";
import { modelDisplayName, withLoadingLine } from "../startup.js";
import { parseIds } from "./logits.js";

export const usage = `usage: qwenrt generate <model> (--prompt TEXT | --ids FILE|-) [options]

Continue a prompt and stream the generated text to stdout. Sampling options left unset take the
model's generation_config.json defaults (a .gguf file's: general.sampling.*).

  <model>                   model directory, .gguf file or Hub repo id
  --prompt TEXT             prompt text (tokenized with the model's tokenizer)
  --ids FILE|-              prompt as a JSON array of token ids (stdin with "-")
  --chat                    wrap --prompt as one user message in the chat template
  --no-think                with --chat: render with enable_thinking=false
  --allow-special-in-content
                            with --chat: encode special-token text in the prompt (<|im_start|> …)
                            as control tokens; by default only the template's markup is special
  --thinking-budget N       with --prompt: at most N reasoning tokens inside <think>, then Qwen's
                            early-stop text is inserted and the model answers
  --max-tokens N            most tokens to generate (default 256)
${samplingFlagUsage}
  --stop STR                stop before this text (repeatable)
  --seed S                  RNG seed (same seed, same tokens)
  --ignore-eos              keep generating past end-of-sequence tokens
  --json                    print {"ids", "text", "finish_reason"} instead of streaming text
                            (with --chat also "prompt_ids": the rendered prompt's token ids)
  --stats                   afterwards, on stderr: prompt and generated tokens, prefill and decode
                            tok/s, time to first token
${backendFlagUsage}`;

const DEFAULT_MAX_TOKENS = 256;

/** What to continue: one user message through the chat template, or a prompt already in ids. */
type Job =
  | { readonly kind: "chat"; readonly template: ChatTemplate; readonly user: string }
  | { readonly kind: "plain"; readonly ids: ArrayLike<number>; readonly text: string };

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("generate", argv, {
    prompt: { type: "string" },
    ids: { type: "string" },
    chat: { type: "boolean" },
    "no-think": { type: "boolean" },
    "allow-special-in-content": { type: "boolean" },
    "max-tokens": { type: "string" },
    ...samplingFlagOptions,
    stop: { type: "string", multiple: true },
    seed: { type: "string" },
    "ignore-eos": { type: "boolean" },
    json: { type: "boolean" },
    stats: { type: "boolean" },
    "thinking-budget": { type: "string" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("generate", positionals);
  const choice = parseBackendFlags(v);
  if ((v.prompt === undefined) === (v.ids === undefined)) {
    throw new QwenrtError("qwenrt generate", "give exactly one of --prompt TEXT or --ids FILE|-", { code: "invalid_flag" });
  }
  if (v.chat === true && v.prompt === undefined) throw new QwenrtError("--chat", "needs --prompt (--ids are already tokens)");
  if (v["no-think"] === true && v.chat !== true) throw new QwenrtError("--no-think", "only applies with --chat");
  if (v["allow-special-in-content"] === true && v.chat !== true) throw new QwenrtError("--allow-special-in-content", "only applies with --chat");

  const sampling = parseSamplingFlags(v); // fails before the (slow) model load
  const maxTokens = numberFlag("max-tokens", v["max-tokens"], { integer: true, min: 1 }) ?? DEFAULT_MAX_TOKENS;
  const seed = numberFlag("seed", v.seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  const thinkingBudget = numberFlag("thinking-budget", v["thinking-budget"], { integer: true, min: 0 });
  if (thinkingBudget !== undefined && v.prompt === undefined) throw new QwenrtError("--thinking-budget", "needs --prompt");
  const stop = v.stop ?? [];
  if (stop.some((s) => s.length === 0)) throw new QwenrtError("--stop", "must not be empty");

  let idsText: string | undefined;
  if (v.ids !== undefined) {
    idsText = v.ids === "-" ? await readStdin() : readText(v.ids);
    parseIds(idsText, v.ids === "-" ? "stdin" : v.ids);
  }
  const source = await openModelForCli(dir);
  const compute = withDefaultDtype(choice, source.path);
  const tokenizer = source.tokenizer();
  // A chat turn (the template is read now: a model without one fails before the load) or plain ids.
  const job: Job =
    v.chat === true && v.prompt !== undefined
      ? { kind: "chat", template: source.chatTemplate(), user: v.prompt }
      : v.prompt !== undefined
        ? { kind: "plain", ids: tokenizer.encode(v.prompt), text: v.prompt }
        : { kind: "plain", ids: parseIds(idsText!, v.ids === "-" ? "stdin" : v.ids!, tokenizer.vocabSize), text: "" };

  const backend = await createBackend(compute);
  // A progress bar on stderr when it is a terminal; nothing otherwise (stdout carries the text).
  const { value: model } = await withLoadingLine(modelDisplayName(dir), (onProgress) => source.loadModel({ backend, onProgress, ...loadOptionsOf(compute) }));
  const ac = new AbortController();
  const onSigint = (): void => ac.abort(new QwenrtError("qwenrt generate", "interrupted"));
  process.once("SIGINT", onSigint);
  const opts: GenerateOptions = { ...sampling, maxTokens, stop, ignoreEos: v["ignore-eos"] === true, signal: ac.signal };
  if (seed !== undefined) opts.seed = seed;
  const json = v.json === true;
  let firstAt: number | undefined;
  let lastText = "";
  const onStep = (step: GenerateStep): void => {
    firstAt ??= performance.now();
    if (step.text !== "") lastText = step.text;
    if (!json && step.text !== "") process.stdout.write(step.text);
  };
  const startedAt = performance.now();
  let promptTokens = job.kind === "plain" ? job.ids.length : 0;
  let out: { promptIds?: readonly number[]; ids: readonly number[]; text: string; finishReason: string } | undefined;
  try {
    if (job.kind === "chat") {
      // The chat turn pipeline, as `qwenrt chat` and the server run it.
      const runner = new TurnRunner(model, tokenizer, job.template, {
        prefixCacheTokens: model.contextLength,
        allowSpecialInContent: v["allow-special-in-content"] === true,
      });
      const turn = runner.prepare({
        chat: parseChatRequest({ messages: [{ role: "user", content: job.user }], chat_template_kwargs: { enable_thinking: v["no-think"] !== true } }),
        ...(thinkingBudget === undefined ? {} : { thinkingBudget }),
      });
      promptTokens = turn.promptIds.length;
      const o = await runner.run(turn, opts, onStep);
      if (o.finishReason !== "interrupted") out = { promptIds: turn.promptIds, ids: o.ids, text: o.text, finishReason: o.finishReason };
    } else {
      if (thinkingBudget !== undefined) {
        const thinkingEnabled = promptThinkingEnabled(job.text);
        opts.interceptor = thinkingBudgetInterceptor(tokenizer, { budget: thinkingBudget, thinkingEnabled, where: "--thinking-budget" });
      }
      const r = await generateAll(model, tokenizer, job.ids, opts, onStep);
      out = { ids: r.ids, text: r.text, finishReason: r.finishReason };
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    process.off("SIGINT", onSigint);
  }
  if (out === undefined) {
    process.stderr.write("\nqwenrt: generate interrupted\n");
    return 130;
  }
  if (json) {
    const ids = { ...(out.promptIds === undefined ? {} : { prompt_ids: out.promptIds }), ids: out.ids };
    process.stdout.write(`${JSON.stringify({ ...ids, text: out.text, finish_reason: out.finishReason })}\n`);
  } else if (!lastText.endsWith("\n")) process.stdout.write("\n"); // the shell prompt starts on its own line
  if (v.stats === true) {
    const stats = generationStats(promptTokens, out.ids.length, startedAt, firstAt ?? performance.now(), performance.now());
    process.stderr.write(`${stats}\n`);
  }
  return 0;
}

/**
 * The `--stats` line. Prefill speed counts the prompt over the time to the first token; decode
 * speed the tokens after the first over the time after it.
 *
 * @example
 * generationStats(12, 33, 0, 150, 1150); // "prompt 12 tokens, 80.0 tok/s · generated 33 tokens, 32.0 tok/s · first token 0.15s · total 1.15s"
 */
export function generationStats(prompt: number, generated: number, start: number, first: number, end: number): string {
  const rate = (n: number, ms: number): string => (ms > 0 ? `${((n * 1000) / ms).toFixed(1)} tok/s` : "-- tok/s");
  return [
    `prompt ${prompt} tokens, ${rate(prompt, first - start)}`,
    `generated ${generated} tokens, ${rate(Math.max(generated - 1, 0), end - first)}`,
    `first token ${((first - start) / 1000).toFixed(2)}s`,
    `total ${((end - start) / 1000).toFixed(2)}s`,
  ].join(" · ");
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new QwenrtError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { code: "not_found" });
  }
}
