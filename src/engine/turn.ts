/**
 * The one chat-turn pipeline, shared by the server, `qwenrt chat` and `qwenrt generate --chat`:
 * render the conversation with the chat template → encode it → steer the thought (one `Thought`
 * for the budget, the grammar gate and the reasoning count) → constrain the answer (tool calls,
 * JSON) → start from the longest cached prefix → generate → parse reasoning and tool calls →
 * hand the sequence back to the prefix cache. It takes typed, already-validated requests (the
 * server's schemas and the CLI's flags validate where a request enters) and knows nothing of HTTP.
 */
import { renderLiteralContent, renderLiteralContentAsync, type LiteralPrompt } from "../chat/literal-content.js";
import type { ChatRequest } from "../chat/messages.js";
import { promptThinkingEnabled, type ChatTemplate } from "../chat/template.js";
import { toolCallFormatOf, toolParamTypes, type ToolCallFormat, type ToolParamTypes } from "../chat/tools-xml.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { BatchingModel, type StepModel } from "./batcher.js";
import type { CompiledConstraint } from "./constrain/index.js";
import { generate, type GenerateOptions, type GenerateResult, type GenerateStep } from "./generate.js";
import { PrefixCache, type ForkableModel } from "./prefix-cache.js";
import { earlyStopIds } from "./thinking.js";
import { Thought, thoughtMarks, type ThoughtMarks } from "./thought.js";
import { GrammarCache, turnGrammar, type ResponseFormat, type ToolChoice } from "./turn-grammar.js";
import { parseTurnOutput, TurnOutput, type TurnMessage, type TurnPart } from "./turn-output.js";
import { AfterThought, TurnSteer } from "./turn-steer.js";
import type { SequenceLike } from "./types.js";

/** A chat turn as asked for, validated. */
export interface TurnRequest {
  /** The conversation and template options (chat/messages.ts `parseChatRequest`). */
  readonly chat: ChatRequest;
  /** Default "auto" when the request has tools, else "none" (then the template gets no tools). */
  readonly toolChoice?: ToolChoice;
  /** With `toolChoice` "required": allow several calls (default true). */
  readonly parallelToolCalls?: boolean;
  readonly responseFormat?: ResponseFormat;
  /** Most reasoning tokens before the early-stop text closes the thought; none by default. */
  readonly thinkingBudget?: number;
}

/** A turn ready to run: its prompt and how its output is steered and read. Run it n times for n choices. */
export interface PreparedTurn {
  /** The rendered prompt text. */
  readonly prompt: string;
  /** Its ids: `encode(prompt, { addSpecialTokens: false, literal })` (see `encodeRenderedPrompt`):
   * added-token text typed in the request's content stays text unless `allowSpecialInContent`. */
  readonly promptIds: readonly number[];
  /** The output starts inside a thought (the model thinks and the prompt left the thought open). */
  readonly thinking: boolean;
  /** Tool calls are parsed out of the content (tools were shown to the model). */
  readonly tools: boolean;
  /** How the model writes them: the format its chat template renders calls in. */
  readonly toolFormat: ToolCallFormat;
  /** The request's tools' declared parameter types (XML calls carry text values). */
  readonly toolTypes: ToolParamTypes;
  readonly thinkingBudget: number | undefined;
  readonly grammar: { readonly compiled: CompiledConstraint; readonly endsGeneration: boolean } | undefined;
  /** The grammar forces tool calls (tool_choice "required" or a named function). */
  readonly forcedToolCall: boolean;
  /** Where the conversation's history ends and the generation prompt (`<|im_start|>assistant…`)
   * begins: the next turn re-renders the history identically up to here (not always past it: the
   * template may write this turn's thinking differently), so a hybrid model keeps a checkpoint. */
  readonly historyEnd: number | undefined;
}

/** Generation options of one run of a turn (steering and grammar come from the turn). */
export type TurnGenerateOptions = Omit<GenerateOptions, "interceptor" | "constraint" | "prefillChunk">;

/** One generated token of a turn, with what the output parsers made of its text. */
export interface TurnStep extends GenerateStep {
  readonly parts: readonly TurnPart[];
}

/** How a run of a turn ended, with its counts and the parsed answer. */
export interface TurnOutcome {
  /** `interrupted`: the signal fired; what was generated until then is kept here. */
  readonly finishReason: GenerateResult["finishReason"] | "interrupted";
  /** The EOS id, stop string or "grammar" that ended it (see `GenerateResult`). */
  readonly stoppedBy?: number | string;
  readonly promptTokens: number;
  /** Prompt tokens served from the prefix cache. */
  readonly cachedTokens: number;
  /** Generated ids, forced ones included. */
  readonly ids: readonly number[];
  readonly text: string;
  /** Sampled tokens of the thought (the same count the budget used). */
  readonly reasoningTokens: number;
  /** Parts the streaming parsers held back until the end: emit them after the last step's. */
  readonly tail: readonly TurnPart[];
  /** The whole output parsed at once (what a non-streaming response returns). */
  readonly message: TurnMessage;
}

/** A model the runner can batch and cache (models/ `Model`, or a test fake). */
export type TurnModel<S extends SequenceLike> = StepModel<S> & ForkableModel<S>;

/** Sizes of the runner's engine loop and cache. */
export interface TurnRunnerOptions {
  /** Tokens the prefix cache may hold. */
  readonly prefixCacheTokens: number;
  /** Largest model step in tokens (prefill chunks of concurrent runs share it). Default 512. */
  readonly maxBatchTokens?: number;
  /** Prompt tokens per forward call. Default 256. */
  readonly prefillChunk?: number;
  /**
   * Encode added-token text inside message content (`<|im_start|>`, `<think>`, `<tool_call>` …) as
   * the control tokens it spells, as before issue 16. Off by default: only the template's own markup
   * is special, so a user cannot forge a system turn or a tool call.
   */
  readonly allowSpecialInContent?: boolean;
}

/** `prepareAsync` stopped encoding once the prompt passed `maxPromptTokens`. */
export class PromptTooLongError extends QwenrtError {
  constructor(
    readonly limit: number,
    /** Ids encoded when it stopped: the prompt has at least this many. */
    readonly atLeast: number,
  ) {
    super("messages", `the prompt needs more than ${limit} tokens (at least ${atLeast}), the most this request leaves room for`, { code: "context_length_exceeded" });
  }
}

/** Options of `TurnRunner.prepareAsync`. */
export interface PrepareOptions {
  /** Stops the preparation (checked between slices of work). */
  readonly signal?: AbortSignal;
  /** Fail with `context_length_exceeded` as soon as the prompt is known to need more ids (before
   * encoding all of it). */
  readonly maxPromptTokens?: number;
}

/**
 * The encoding rule for a rendered chat prompt: no special tokens added. The template already wrote
 * every special token the model expects (`<|im_start|>`, …), and transformers' `apply_chat_template`
 * tokenizes the same way; for Qwen, whose tokenizer adds no BOS, it equals the default encoding.
 *
 * @example
 * encodeRenderedPrompt(tokenizer, template.render({ messages })); // [151644, 872, 198, …]
 */
export function encodeRenderedPrompt(tokenizer: Tokenizer, prompt: string, literal?: LiteralPrompt["literal"]): number[] {
  return tokenizer.encode(prompt, { addSpecialTokens: false, ...(literal === undefined ? {} : { literal }) });
}

/**
 * One model's turn pipeline: its batching engine loop, prefix cache and grammar cache.
 *
 * @example
 * const runner = new TurnRunner(model, tokenizer, template, { prefixCacheTokens: 8192 });
 * const turn = runner.prepare({ chat: parseChatRequest({ messages: [{ role: "user", content: "Hi" }] }) });
 * const out = await runner.run(turn, { temperature: 0, maxTokens: 64 }, (s) => process.stdout.write(s.text));
 * out.message.content;
 */
export class TurnRunner<S extends SequenceLike> {
  /** What generation runs on: concurrent runs share forward steps. */
  readonly engine: BatchingModel<S>;
  readonly prefixCache: PrefixCache<S>;
  readonly grammars: GrammarCache;
  /** Whether the model writes `<think>` blocks: `</think>` is one token, or the template writes it. */
  readonly thinks: boolean;
  private readonly marks: ThoughtMarks;
  private readonly earlyStop: readonly number[];
  private readonly prefillChunk: number;
  private readonly allowSpecialInContent: boolean;

  constructor(
    readonly model: TurnModel<S>,
    readonly tokenizer: Tokenizer,
    readonly template: ChatTemplate,
    opts: TurnRunnerOptions,
  ) {
    this.engine = new BatchingModel(model, { maxBatchTokens: opts.maxBatchTokens ?? 512 });
    this.prefixCache = new PrefixCache(model, { maxTokens: opts.prefixCacheTokens });
    this.grammars = new GrammarCache(tokenizer, model);
    this.marks = thoughtMarks(tokenizer);
    this.thinks = this.marks.closeId !== undefined || template.mentions("</think>");
    this.earlyStop = earlyStopIds(tokenizer);
    this.prefillChunk = opts.prefillChunk ?? 256;
    this.allowSpecialInContent = opts.allowSpecialInContent === true;
  }

  /** Render, encode and compile what `req` needs. Errors (template, grammar) name the field at fault. */
  prepare(req: TurnRequest): PreparedTurn {
    const chat = this.shownChat(req);
    const { prompt, literal } = this.allowSpecialInContent
      ? { prompt: this.template.renderRequest(chat), literal: [] }
      : renderLiteralContent(this.template, chat, (s) => this.tokenizer.addedTokenRanges(s));
    return this.finish(req, prompt, encodeRenderedPrompt(this.tokenizer, prompt, literal));
  }

  /**
   * `prepare` for a server: the same turn, with the event loop free between renderings and between
   * slices of encoding, and a prompt longer than `maxPromptTokens` rejected without encoding all of it.
   */
  async prepareAsync(req: TurnRequest, opts: PrepareOptions = {}): Promise<PreparedTurn> {
    const chat = this.shownChat(req);
    const { prompt, literal } = this.allowSpecialInContent
      ? { prompt: this.template.renderRequest(chat), literal: [] }
      : await renderLiteralContentAsync(this.template, chat, (s) => this.tokenizer.addedTokenRanges(s), async () => {
          await yieldToEventLoop();
          opts.signal?.throwIfAborted();
        });
    const limit = opts.maxPromptTokens;
    const promptIds = await this.tokenizer.encodeAsync(prompt, {
      addSpecialTokens: false,
      literal,
      ...(limit === undefined ? {} : { limit }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (limit !== undefined && promptIds.length > limit) throw new PromptTooLongError(limit, promptIds.length);
    return this.finish(req, prompt, promptIds);
  }

  // tool_choice "none": the model is not shown the tools, so it does not try to call them.
  private shownChat(req: TurnRequest): ChatRequest {
    const toolChoice = req.toolChoice ?? (req.chat.tools?.length ? "auto" : "none");
    return toolChoice === "none" ? { ...req.chat, tools: undefined } : req.chat;
  }

  private finish(req: TurnRequest, prompt: string, promptIds: readonly number[]): PreparedTurn {
    const toolChoice = req.toolChoice ?? (req.chat.tools?.length ? "auto" : "none");
    const toolFormat = toolCallFormatOf(this.template);
    const grammar = turnGrammar(req.chat.tools, toolChoice, req.parallelToolCalls ?? true, req.responseFormat, toolFormat);
    return {
      prompt,
      promptIds,
      thinking: this.thinks && promptThinkingEnabled(prompt),
      tools: toolChoice !== "none",
      toolFormat,
      toolTypes: toolParamTypes(req.chat.tools),
      thinkingBudget: req.thinkingBudget,
      grammar: grammar === undefined ? undefined : { compiled: this.grammars.compile(grammar.spec), endsGeneration: grammar.endsGeneration },
      forcedToolCall: grammar?.spec.kind === "tool_call",
      historyEnd: this.historyEnd(promptIds),
    };
  }

  /** The position of the last `<|im_start|>` in a prompt (ChatML's turn header), if any. */
  private historyEnd(promptIds: readonly number[]): number | undefined {
    const start = this.tokenizer.tokenToId("<|im_start|>");
    const at = start === undefined ? -1 : promptIds.lastIndexOf(start);
    return at > 0 ? at : undefined;
  }

  /**
   * Run `turn` once, calling `onStep` with each token. Ends `interrupted` (not with an error) when
   * `opts.signal` fires; other errors are thrown. The sequence goes back to the prefix cache either way.
   */
  async run(turn: PreparedTurn, opts: TurnGenerateOptions = {}, onStep?: (step: TurnStep) => void): Promise<TurnOutcome> {
    const thought = Thought.of(this.tokenizer, turn.thinking, this.marks);
    const gen: GenerateOptions & { checkpointAt?: readonly number[] } = {
      ...opts,
      interceptor: new TurnSteer(thought, turn.thinkingBudget, this.earlyStop),
      ...(turn.historyEnd === undefined ? {} : { checkpointAt: [turn.historyEnd] }),
    };
    if (turn.grammar !== undefined) gen.constraint = new AfterThought(turn.grammar.compiled.start(), thought, turn.grammar.endsGeneration);
    const shape = { thinking: turn.thinking, tools: turn.tools, forcedToolCall: turn.forcedToolCall, toolFormat: turn.toolFormat, toolTypes: turn.toolTypes };
    const output = new TurnOutput(shape);
    const ids: number[] = [];
    let text = "";
    let run: { result: GenerateResult; cachedTokens: number } | undefined;
    let cachedTokens = 0;
    try {
      run = await this.generate(turn.promptIds, gen, (step) => {
        ids.push(step.token);
        text += step.text;
        onStep?.({ ...step, parts: output.push(step.text) });
      }, (cached) => (cachedTokens = cached));
    } catch (e) {
      if (opts.signal?.aborted !== true) throw e;
    }
    const r = run?.result;
    return {
      finishReason: r?.finishReason ?? "interrupted",
      ...(r?.stoppedBy === undefined ? {} : { stoppedBy: r.stoppedBy }),
      promptTokens: turn.promptIds.length,
      cachedTokens,
      ids,
      text,
      reasoningTokens: thought.reasoningTokens,
      tail: output.finish(),
      message: parseTurnOutput(text, shape),
    };
  }

  /**
   * Generate a continuation of `promptIds` (no template: text completions) from the longest cached
   * prefix, returning the sequence to the cache afterwards, also when generation fails or is aborted.
   * `onCached` hears how many prompt tokens came from the cache before generation starts.
   */
  async generate(
    promptIds: readonly number[],
    opts: GenerateOptions & { readonly checkpointAt?: readonly number[] },
    onStep?: (step: GenerateStep) => void,
    onCached?: (cached: number) => void,
  ): Promise<{ result: GenerateResult; cachedTokens: number }> {
    const { seq, cached } = this.prefixCache.acquire(promptIds);
    onCached?.(cached);
    const held = [...promptIds];
    try {
      const gen = generate(this.engine, this.tokenizer, promptIds, { prefillChunk: this.prefillChunk, ...opts, sequence: { seq, cached } });
      for (;;) {
        const r = await gen.next();
        if (r.done === true) return { result: r.value, cachedTokens: cached };
        held.push(r.value.token);
        onStep?.(r.value);
      }
    } finally {
      // The cache holds every fed token: the prompt and the generated ones but the last (fewer when
      // stopped early). A sequence holding more than `held` names is freed by `release` instead.
      this.prefixCache.release(seq, held.slice(0, seq.length));
    }
  }
}
