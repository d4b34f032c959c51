/**
 * A thinking budget for a bare `generate` call (outside a chat turn, e.g. `qwenrt generate --prompt`
 * with a hand-written prompt): the turn pipeline's steer (engine/turn-steer.ts) over a fresh
 * `Thought`. When the reasoning inside `<think>` reaches the budget, Qwen's early-stop text
 * (tokenized) is forced into the output so the model goes on to answer.
 */
import { THINKING_EARLY_STOP } from "../chat/budget.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { Thought } from "./thought.js";
import { TurnSteer } from "./turn-steer.js";
import type { TokenInterceptor } from "./types.js";

/** Qwen's early-stop text as ids of `tokenizer`. */
export function earlyStopIds(tokenizer: Tokenizer): number[] {
  return tokenizer.encode(THINKING_EARLY_STOP, { addSpecialTokens: false });
}

/**
 * An interceptor enforcing a thinking budget of `budget` tokens. `thinkingEnabled` says whether the
 * prompt leaves the model thinking (chat/template.ts `promptThinkingEnabled`); when false it never
 * forces anything.
 *
 * @example
 * const interceptor = thinkingBudgetInterceptor(tokenizer, { budget: 512, thinkingEnabled: true });
 * generate(model, tokenizer, ids, { interceptor });
 */
export function thinkingBudgetInterceptor(
  tokenizer: Tokenizer,
  opts: { budget: number; thinkingEnabled: boolean; where?: string },
): TokenInterceptor {
  if (!Number.isInteger(opts.budget) || opts.budget < 0) {
    throw new QwenrtError(opts.where ?? "thinking_budget", `must be an integer >= 0, got ${opts.budget}`, { code: "invalid_request" });
  }
  return new TurnSteer(Thought.of(tokenizer, opts.thinkingEnabled), opts.budget, earlyStopIds(tokenizer));
}
