/**
 * Per-request steering of the generate loop: the thinking budget (force the thought to end) and
 * grammar constraints that start after the thought, so a thinking model may reason freely and
 * then must produce valid JSON / a valid tool call.
 */
import { ThinkingBudget } from "../chat/budget.js";
import type { Constraint } from "../engine/constrain/index.js";
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

/** Counts reasoning tokens and, with a budget, forces Qwen's early-stop text when it runs out. */
export class ThinkingSteer implements TokenInterceptor {
  /** Tokens generated before the thought closed. */
  reasoningTokens = 0;
  private open: boolean;
  private readonly budget: ThinkingBudget | undefined;
  private pendingStart: number[] | undefined;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly endThinkId: number | undefined,
    thinking: boolean,
    budget: number | undefined,
    private readonly onForced?: (ids: readonly number[]) => void,
  ) {
    this.open = thinking;
    this.budget = thinking && budget !== undefined ? new ThinkingBudget({ budget, thinkingEnabled: true }) : undefined;
    const first = this.budget?.start();
    if (first?.kind === "force") this.pendingStart = this.tokenizer.encode(first.text);
  }

  /** Ids to feed before anything is sampled (a budget of 0 closes the thought at once). */
  takeStartIds(): number[] | undefined {
    const ids = this.pendingStart;
    this.pendingStart = undefined;
    if (ids !== undefined) {
      this.open = false;
      this.onForced?.(ids);
    }
    return ids;
  }

  afterToken(token: number): readonly number[] | undefined {
    if (!this.open) return undefined;
    if (token === this.endThinkId) {
      this.open = false;
      return undefined;
    }
    this.reasoningTokens++;
    const action = this.budget?.onToken(this.tokenizer.decode([token]));
    if (action?.kind !== "force") return undefined;
    this.open = false;
    const ids = this.tokenizer.encode(action.text);
    this.onForced?.(ids);
    return ids;
  }
}
