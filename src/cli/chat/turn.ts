/**
 * One chat turn: render the conversation, reuse the KV cache of the previous turns through a
 * `PrefixCache` (only the new part of the prompt is computed), stream the answer split into
 * reasoning and content, and hand the sequence back to the cache for the next turn.
 */
import { setImmediate as nextMacrotask } from "node:timers/promises";
import { ReasoningStream } from "../../chat/reasoning.js";
import { promptThinkingEnabled, type ChatTemplate } from "../../chat/template.js";
import { generate, type GenerateOptions } from "../../engine/generate.js";
import type { PrefixCache } from "../../engine/prefix-cache.js";
import type { SamplingParams } from "../../engine/sampler.js";
import { thinkingBudgetInterceptor } from "../../engine/thinking.js";
import type { Model, Sequence } from "../../models/model.js";
import type { Tokenizer } from "../../tokenizer/index.js";
import type { TurnStats } from "./view.js";

/** What a turn runs on; lives as long as the chat. */
export interface ChatEngine {
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  readonly template: ChatTemplate;
  readonly cache: PrefixCache<Sequence>;
}

/** Per-turn generation options. */
export interface TurnOptions {
  readonly sampling: SamplingParams;
  readonly maxTokens?: number;
  readonly ignoreEos: boolean;
  readonly seed?: number;
  /** Thinking budget in tokens, or null for none. */
  readonly budget: number | null;
  /** Ctrl-C: stops the answer; what was generated is kept. */
  readonly signal: AbortSignal;
}

/** Receives the answer as it streams (an `AnswerPrinter` fits). */
export interface AnswerSink {
  reasoning(text: string): void;
  content(text: string): void;
}

/** A finished (or interrupted) turn. */
export interface TurnResult {
  readonly reasoning: string;
  readonly content: string;
  readonly stats: TurnStats;
}

/**
 * Run one answer for `request` (a chat request body for the template).
 *
 * @example
 * const r = await runTurn(engine, session.request(), { sampling: {}, ignoreEos: false, budget: null, signal }, printer);
 * session.addAssistant(r.content, r.reasoning);
 */
export async function runTurn(engine: ChatEngine, request: unknown, opts: TurnOptions, sink: AnswerSink): Promise<TurnResult> {
  const { model, tokenizer, template, cache } = engine;
  const prompt = template.render(request);
  const promptIds = tokenizer.encode(prompt, { addSpecialTokens: false });
  const thinking = promptThinkingEnabled(prompt);
  const split = new ReasoningStream({ thinkingEnabled: thinking });
  const generated: number[] = [];
  let reasoning = "";
  let content = "";
  const take = (r: { reasoning: string; content: string }): void => {
    reasoning += r.reasoning;
    content += r.content;
    sink.reasoning(r.reasoning);
    sink.content(r.content);
  };

  const genOpts: GenerateOptions = { ...opts.sampling, ignoreEos: opts.ignoreEos, signal: opts.signal };
  if (opts.maxTokens !== undefined) genOpts.maxTokens = opts.maxTokens;
  if (opts.seed !== undefined) genOpts.seed = opts.seed;
  if (opts.budget !== null) genOpts.interceptor = thinkingBudgetInterceptor(tokenizer, { budget: opts.budget, thinkingEnabled: thinking });

  const { seq, cached } = cache.acquire(promptIds);
  const t0 = performance.now();
  let tFirst: number | undefined;
  let finish: TurnStats["finish"] = "length";
  try {
    const gen = generate(model, tokenizer, promptIds, { ...genOpts, sequence: { seq, cached } });
    for (;;) {
      // The reference kernels compute synchronously: give the event loop a turn so Ctrl-C lands.
      await nextMacrotask();
      const r = await gen.next();
      if (r.done === true) {
        finish = r.value.finishReason;
        break;
      }
      tFirst ??= performance.now();
      generated.push(r.value.token);
      take(split.push(r.value.text));
    }
  } catch (e) {
    if (!opts.signal.aborted) throw e;
    finish = "interrupted";
  } finally {
    // The cache now holds the prompt and the generated ids it was fed (all but the last, or fewer
    // when interrupted): hand exactly those back for the next turn.
    const held = [...promptIds, ...generated].slice(0, seq.length);
    cache.release(seq, held);
  }
  take(split.finish());
  const tEnd = performance.now();
  const stats: TurnStats = {
    tokens: generated.length,
    decodeSeconds: tFirst === undefined ? 0 : (tEnd - tFirst) / 1000,
    promptTokens: promptIds.length,
    reusedTokens: cached,
    promptSeconds: ((tFirst ?? tEnd) - t0) / 1000,
    finish,
  };
  return { reasoning, content, stats };
}
