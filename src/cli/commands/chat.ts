/**
 * `qwenrt chat <model> [...]`: an interactive chat in the terminal. Answers stream as they are
 * generated, reasoning dim under a "thinking…" header (plain `[thinking]` markers when stdout is not
 * a terminal), with a stats line after each; the KV cache of earlier turns is reused. The loop lives
 * in `cli/chat/`.
 */
import { TurnRunner } from "../../engine/turn.js";
import { openModelForCli } from "../open-model.js";
import { parseSamplingFlags, samplingFlagOptions, samplingFlagUsage } from "../sampling-flags.js";
import { backendFlagOptions, backendFlagUsage, createBackend, parseBackendFlags } from "../backend.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { runChatRepl } from "../chat/repl.js";
import { ChatSession } from "../chat/session.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";

export const usage = `usage: qwenrt chat <model> [options]

Chat with a model in the terminal. Type /help inside for commands (/think, /no_think, /budget N,
/system TEXT, /reset, /save FILE, /load FILE, /exit). Sampling options left unset take the model's
generation_config.json defaults.

  --system TEXT             system prompt
  --no-think                start with thinking off (/think turns it back on)
  --budget N                cap thinking at N tokens per answer
  --max-tokens N            most tokens per answer (default: until the model stops or the context is full)
  --ctx N                   context window in tokens: the conversation and the answer stay within it
                            (default: the model's max_position_embeddings); bounds the KV cache too
${samplingFlagUsage}
  --seed S                  RNG seed (turn i uses S + i)
  --ignore-eos              keep generating past end-of-sequence tokens (testing, benchmarks)
  --show-ids                after each answer, print {"prompt_ids", "ids"}: the token ids of the
                            rendered prompt and of the answer (checking templates and caching)

Input: end a line with \\ to continue it, or wrap lines in """ ... """. Ctrl-C stops an answer;
Ctrl-C twice at an empty prompt, /exit or Ctrl-D quits.

${backendFlagUsage}`;

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("chat", argv, {
    system: { type: "string" },
    "no-think": { type: "boolean" },
    budget: { type: "string" },
    "max-tokens": { type: "string" },
    ctx: { type: "string" },
    ...samplingFlagOptions,
    seed: { type: "string" },
    "ignore-eos": { type: "boolean" },
    "show-ids": { type: "boolean" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("chat", positionals);
  const choice = parseBackendFlags(v);
  const sampling = parseSamplingFlags(v); // fails before the (slow) model load
  const maxTokens = numberFlag("max-tokens", v["max-tokens"], { integer: true, min: 1 });
  const budget = numberFlag("budget", v.budget, { integer: true, min: 0 });
  const seed = numberFlag("seed", v.seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  const ctxFlag = numberFlag("ctx", v.ctx, { integer: true, min: 16 });

  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const { value: engine, seconds } = await withLoadingLine(modelDisplayName(source.path), async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.chatTemplate();
    const model = await source.loadModel({ backend: await createBackend(choice), onProgress });
    const ctx = Math.min(ctxFlag ?? Infinity, model.config.maxPositionEmbeddings);
    // One conversation at a time: the cache holds at most a context's worth of tokens.
    const runner = new TurnRunner(model, tokenizer, template, { prefixCacheTokens: ctx });
    return { model, runner, ctx, path: source.path };
  });
  // no-color.org: NO_COLOR set to a non-empty value turns colour off.
  const color = process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "";
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const summary = { ...summarizeModel(engine.path, engine.model), contextLength: engine.ctx };
  process.stderr.write(`${formatModelSummary(summary)} · loaded in ${seconds.toFixed(1)}s\n`);
  if (terminal) process.stderr.write("Type /help for commands; Ctrl-C stops an answer; Ctrl-D or /exit quits.\n");

  const session = new ChatSession({ system: v.system ?? null, enableThinking: v["no-think"] !== true, budget: budget ?? null });
  try {
    return await runChatRepl(
      engine.runner,
      session,
      {
        sampling,
        ignoreEos: v["ignore-eos"] === true,
        ...(maxTokens === undefined ? {} : { maxTokens }),
        ...(seed === undefined ? {} : { seed }),
        ...(ctxFlag === undefined ? {} : { contextLength: engine.ctx }),
      },
      { input: process.stdin, output: process.stdout, errors: process.stderr, terminal, color, showIds: v["show-ids"] === true },
    );
  } finally {
    engine.model.backend.dispose();
  }
}
