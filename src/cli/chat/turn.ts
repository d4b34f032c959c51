/**
 * One `qwenrt chat` turn on the engine's turn pipeline (engine/turn.ts): the conversation is
 * rendered and encoded there, the KV cache of the previous turns is reused through its prefix
 * cache (only the new part of the prompt is computed), and the answer streams to the sink split
 * into reasoning and content. This file adds what the terminal shows: the stats line's numbers.
 */
import { parseChatRequest } from "../../chat/messages.js";
import type { SamplingParams } from "../../engine/sampler.js";
import type { TurnGenerateOptions, TurnRunner } from "../../engine/turn.js";
import type { TurnPart } from "../../engine/turn-output.js";
import type { Sequence } from "../../models/model.js";
import { QwenrtError } from "../../util/errors.js";
import type { TurnStats } from "./view.js";

/** What a turn runs on; lives as long as the chat. */
export type ChatEngine = TurnRunner<Sequence>;

/** Per-turn generation options. */
export interface TurnOptions {
  readonly sampling: SamplingParams;
  readonly maxTokens?: number;
  /** Context window (`--ctx`): prompt and answer together stay within it. Default: the model's. */
  readonly contextLength?: number;
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
  /** The rendered prompt's ids and the answer's (forced ones included). */
  readonly promptIds: readonly number[];
  readonly ids: readonly number[];
}

/**
 * Run one answer for `request` (a chat request body for the template, validated here).
 *
 * @example
 * const r = await runTurn(engine, session.request(), { sampling: {}, ignoreEos: false, budget: null, signal }, printer);
 * session.addAssistant(r.content, r.reasoning);
 */
export async function runTurn(engine: ChatEngine, request: unknown, opts: TurnOptions, sink: AnswerSink): Promise<TurnResult> {
  const turn = engine.prepare({ chat: parseChatRequest(request), ...(opts.budget === null ? {} : { thinkingBudget: opts.budget }) });
  const gen: TurnGenerateOptions = { ...opts.sampling, ignoreEos: opts.ignoreEos, signal: opts.signal };
  if (opts.maxTokens !== undefined) gen.maxTokens = opts.maxTokens;
  if (opts.contextLength !== undefined) {
    const room = opts.contextLength - turn.promptIds.length;
    if (room <= 0) {
      throw new QwenrtError("--ctx", `the conversation (${turn.promptIds.length} tokens) fills the ${opts.contextLength}-token context; /reset starts over`);
    }
    gen.maxTokens = Math.min(gen.maxTokens ?? Infinity, room);
  }
  if (opts.seed !== undefined) gen.seed = opts.seed;
  let reasoning = "";
  let content = "";
  const take = (parts: readonly TurnPart[]): void => {
    for (const p of parts) {
      if (p.type === "reasoning") {
        reasoning += p.text;
        sink.reasoning(p.text);
      } else if (p.type === "content") {
        content += p.text;
        sink.content(p.text);
      }
    }
  };
  const t0 = performance.now();
  let tFirst: number | undefined;
  const out = await engine.run(turn, gen, (step) => {
    tFirst ??= performance.now();
    take(step.parts);
  });
  take(out.tail);
  const tEnd = performance.now();
  const stats: TurnStats = {
    tokens: out.ids.length,
    decodeSeconds: tFirst === undefined ? 0 : (tEnd - tFirst) / 1000,
    promptTokens: out.promptTokens,
    reusedTokens: out.cachedTokens,
    promptSeconds: ((tFirst ?? tEnd) - t0) / 1000,
    finish: out.finishReason,
  };
  return { reasoning, content, stats, promptIds: turn.promptIds, ids: out.ids };
}
