/**
 * `qwenrt chat <model> [...]`: an interactive chat in the terminal. Answers stream as they are
 * generated, reasoning dim under a "thinking…" header (plain `[thinking]` markers when stdout is not
 * a terminal), with a stats line after each; the KV cache of earlier turns is reused. The loop lives
 * in `cli/chat/`.
 */
import { TurnRunner } from "../../engine/turn.js";
import { openModelForCli } from "../open-model.js";
import { parseSamplingFlags, samplingFlagOptions, samplingFlagUsage } from "../sampling-flags.js";
import { backendFlagOptions, backendFlagUsage, createBackend, loadOptionsOf, parseBackendFlags, withDefaultDtype } from "../backend.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { runChatRepl } from "../chat/repl.js";
import { ChatSession, parseSavedChat } from "../chat/session.js";
import type { NamedSession } from "../chat/repl.js";
import { defaultDataDir } from "../../server/store/data-dir.js";
import { SessionStore } from "../../server/store/sessions-store.js";
import { errorMessage, QwenrtError } from "../../util/errors.js";
import { formatModelSummary, modelDisplayName, summarizeModel, withLoadingLine } from "../startup.js";

export const usage = `usage: qwenrt chat <model> [options]

Chat with a model in the terminal. Type /help inside for commands (/think, /no_think, /budget N,
/system TEXT, /reset, /save FILE, /load FILE, /sessions, /exit). Sampling options left unset take the model's
generation_config.json defaults.

  --system TEXT             system prompt
  --no-think                start with thinking off (/think turns it back on)
  --budget N                cap thinking at N tokens per answer
  --max-tokens N            most tokens per answer (default: until the model stops or the context is full)
${samplingFlagUsage}
  --seed S                  RNG seed (turn i uses S + i)
  --ignore-eos              keep generating past end-of-sequence tokens (testing, benchmarks)
  --session NAME            keep this chat as session NAME (resumed when it exists; /sessions lists them)
  --data-dir DIR            where sessions live (the server's store; default: ${defaultDataDir()})
  --show-ids                after each answer, print {"prompt_ids", "ids"}: the token ids of the
                            rendered prompt and of the answer (checking templates and caching)
  --allow-special-in-content
                            encode special-token text you type (<|im_start|>, <think>, <tool_call>)
                            as control tokens; by default it is text and only the chat template's
                            own markup is special

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
    ...samplingFlagOptions,
    seed: { type: "string" },
    "ignore-eos": { type: "boolean" },
    "show-ids": { type: "boolean" },
    session: { type: "string" },
    "data-dir": { type: "string" },
    "allow-special-in-content": { type: "boolean" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("chat", positionals);
  const choice = parseBackendFlags(v);
  const sampling = parseSamplingFlags(v); // fails before the (slow) model load
  const maxTokens = numberFlag("max-tokens", v["max-tokens"], { integer: true, min: 1 });
  const budget = numberFlag("budget", v.budget, { integer: true, min: 0 });
  const seed = numberFlag("seed", v.seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  const ctxFlag = choice.ctx; // --ctx (a compute flag): the conversation and the answer stay within it
  if (v.session !== undefined && !/^[\w.-]{1,64}$/.test(v.session)) throw new QwenrtError("--session", `names are 1 to 64 letters, digits, "_", "." or "-", got "${v.session}"`);
  if (v["data-dir"] !== undefined && v.session === undefined) throw new QwenrtError("--data-dir", "needs --session NAME");

  const source = await openModelForCli(dir); // downloads first (with its own bar) for a Hub id
  const compute = withDefaultDtype(choice, source.path);
  const { value: engine, seconds } = await withLoadingLine(modelDisplayName(source.path), async (onProgress) => {
    const tokenizer = source.tokenizer();
    const template = source.chatTemplate();
    const model = await source.loadModel({ backend: await createBackend(compute), onProgress, ...loadOptionsOf(compute) });
    const ctx = Math.min(ctxFlag ?? Infinity, model.contextLength);
    // One conversation at a time: the cache holds at most a context's worth of tokens.
    const runner = new TurnRunner(model, tokenizer, template, {
      prefixCacheTokens: ctx,
      allowSpecialInContent: v["allow-special-in-content"] === true,
    });
    return { model, runner, ctx, path: source.path };
  });
  // no-color.org: NO_COLOR set to a non-empty value turns colour off.
  const color = process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === "";
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const summary = { ...summarizeModel(engine.path, engine.model), contextLength: engine.ctx };
  process.stderr.write(`${formatModelSummary(summary)} · loaded in ${seconds.toFixed(1)}s\n`);
  if (terminal) process.stderr.write("Type /help for commands; Ctrl-C stops an answer; Ctrl-D or /exit quits.\n");

  const session = new ChatSession({ system: v.system ?? null, enableThinking: v["no-think"] !== true, budget: budget ?? null });
  const store = v.session === undefined ? undefined : SessionStore.open(v["data-dir"] ?? defaultDataDir(), (l) => void process.stderr.write(`${l}\n`));
  let named: NamedSession | undefined;
  if (store !== undefined && v.session !== undefined) {
    const name = v.session;
    const stored = store.get(name);
    if (stored !== undefined) {
      session.restore(parseSavedChat(stored, `session ${name} (${store.path})`));
      process.stderr.write(`resumed session ${name}: ${session.messages.length} messages\n`);
    } else process.stderr.write(`new session ${name} (kept in ${store.path})\n`);
    let failed = false;
    const save = (chat: { messages: readonly unknown[] }): void => {
      try {
        store.put(name, chat);
        failed = false;
      } catch (e) {
        if (!failed) process.stderr.write(`qwenrt: ${store.path}: could not save session ${name} (${errorMessage(e)}); the chat goes on unsaved\n`);
        failed = true;
      }
    };
    named = { name, save, list: () => store.list() };
  }
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
      { input: process.stdin, output: process.stdout, errors: process.stderr, terminal, color, showIds: v["show-ids"] === true, ...(named === undefined ? {} : { named }) },
    );
  } finally {
    store?.close();
    engine.model.backend.dispose();
  }
}
