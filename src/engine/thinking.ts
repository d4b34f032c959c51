/**
 * The chat layer's thinking budget (`chat/budget.ts`) as a generate-loop interceptor: it watches each
 * sampled token's text and, when the reasoning inside `<think>` reaches the budget, forces Qwen's
 * early-stop text (tokenized) into the output so the model goes on to answer.
 */
import { ThinkingBudget, type BudgetAction } from "../chat/budget.js";
import { StreamDetokenizer, type Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import type { TokenInterceptor } from "./types.js";

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
  const budget = new ThinkingBudget({ budget: opts.budget, thinkingEnabled: opts.thinkingEnabled });
  // Its own detokenizer, special tokens kept: the budget must see `<think>` / `</think>` as text.
  const stream = new StreamDetokenizer(tokenizer, { skipSpecialTokens: false });
  const force = (a: BudgetAction): readonly number[] | undefined =>
    a.kind === "force" ? tokenizer.encode(a.text, { addSpecialTokens: false }) : undefined;
  return {
    start: () => force(budget.start()),
    afterToken: (token) => force(budget.onToken(stream.push(token))),
  };
}
