/**
 * Per-request steering of the generate loop: the thinking budget (force the thought to end) and
 * grammar constraints that start after the thought, so a thinking model may reason freely and
 * then must produce valid JSON / a valid tool call.
 */
import type { Constraint } from "../engine/constrain/index.js";
import { thinkingBudgetInterceptor } from "../engine/thinking.js";
import type { LogitsConstraint, TokenInterceptor } from "../engine/types.js";
import type { Tokenizer } from "../tokenizer/index.js";

/** A grammar that waits for `</think>` (when the model is thinking) before it constrains anything. */
export class AfterThinking implements LogitsConstraint {
  private active: boolean;

  constructor(
    private readonly inner: Constraint,
    private readonly endThinkId: number | undefined,
    thinking: boolean,
    readonly endsGeneration: boolean,
  ) {
    this.active = !thinking || endThinkId === undefined;
  }

  mask(logits: Float32Array): void {
    if (this.active) this.inner.mask(logits);
  }

  accept(token: number): void {
    if (this.active) this.inner.accept(token);
    else if (token === this.endThinkId) this.active = true;
  }

  /** Tokens forced in by the budget: `</think>` among them starts the grammar after them. */
  noteForced(tokens: readonly number[]): void {
    if (!this.active && this.endThinkId !== undefined && tokens.includes(this.endThinkId)) this.active = true;
  }

  isComplete(): boolean {
    return this.active && this.inner.isComplete();
  }
}

/**
 * Counts reasoning tokens (for usage) and applies the thinking budget (engine/thinking.ts), telling
 * the grammar about forced ids so it starts after a forced `</think>`.
 */
export class ThinkingSteer implements TokenInterceptor {
  /** Tokens generated before the thought closed. */
  reasoningTokens = 0;
  private open: boolean;
  private readonly budget: TokenInterceptor | undefined;

  constructor(
    tokenizer: Tokenizer,
    private readonly endThinkId: number | undefined,
    thinking: boolean,
    budget: number | undefined,
    private readonly onForced?: (ids: readonly number[]) => void,
  ) {
    this.open = thinking;
    this.budget = thinking && budget !== undefined ? thinkingBudgetInterceptor(tokenizer, { budget, thinkingEnabled: true }) : undefined;
  }

  start(): readonly number[] | undefined {
    return this.forced(this.budget?.start?.());
  }

  observe(token: number, forced: boolean): void {
    this.budget?.observe?.(token, forced);
  }

  afterToken(token: number): readonly number[] | undefined {
    if (this.open) {
      if (token === this.endThinkId) this.open = false;
      else this.reasoningTokens++;
    }
    return this.forced(this.budget?.afterToken(token));
  }

  private forced(ids: readonly number[] | undefined): readonly number[] | undefined {
    if (ids === undefined || ids.length === 0) return undefined;
    if (this.endThinkId !== undefined && ids.includes(this.endThinkId)) this.open = false;
    this.onForced?.(ids);
    return ids;
  }
}
