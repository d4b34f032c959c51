/**
 * Steering of one turn's generate loop around its `Thought`: the thinking budget (force Qwen's
 * early-stop text when the reasoning reaches the budget) and a grammar gate (the constraint starts
 * once the thought is closed, so a thinking model reasons freely and then must produce valid JSON
 * or a valid tool call). Both read the same `Thought`, which the steer feeds with every token.
 */
import { budgetExhausted } from "../chat/budget.js";
import type { Constraint } from "./constrain/index.js";
import type { Thought } from "./thought.js";
import type { LogitsConstraint, TokenInterceptor } from "./types.js";

/**
 * The interceptor of a turn: records every generated token in `thought` and, with a budget, forces
 * `earlyStop` (the tokenized early-stop text, which closes the thought) once the thought has used
 * `budget` reasoning tokens. A budget of 0 forces before the first sampled token.
 *
 * @example
 * const thought = Thought.of(tokenizer, true);
 * generate(model, tokenizer, ids, { interceptor: new TurnSteer(thought, 512, earlyStopIds) });
 */
export class TurnSteer implements TokenInterceptor {
  private forced = false;

  constructor(
    readonly thought: Thought,
    private readonly budget: number | undefined,
    private readonly earlyStop: readonly number[],
  ) {}

  start(): readonly number[] | undefined {
    return this.check();
  }

  observe(token: number, forced: boolean): void {
    this.thought.accept(token, forced);
  }

  afterToken(): readonly number[] | undefined {
    return this.check();
  }

  private check(): readonly number[] | undefined {
    if (this.budget === undefined || this.forced || !this.thought.open) return undefined;
    if (!budgetExhausted(this.thought.reasoningTokens, this.budget)) return undefined;
    this.forced = true;
    return this.earlyStop;
  }
}

/**
 * A grammar that applies only after the thought: while `thought` is open nothing is masked and the
 * tokens are not the grammar's; from the first step after it closes, `inner` constrains the output.
 *
 * @example
 * const thought = Thought.of(tokenizer, true);
 * const constraint = new AfterThought(compiled.start(), thought, true);
 * generate(model, tokenizer, ids, { interceptor: new TurnSteer(thought, 256, earlyStopIds), constraint });
 */
export class AfterThought implements LogitsConstraint {
  // Whether this step's token belongs to the grammar: decided when the step's logits are masked,
  // before the token that may close the thought is recorded.
  private active: boolean;

  constructor(
    private readonly inner: Constraint,
    private readonly thought: Thought,
    readonly endsGeneration: boolean,
  ) {
    this.active = !thought.open;
  }

  mask(logits: Float32Array): void {
    this.active = !this.thought.open;
    if (this.active) this.inner.mask(logits);
  }

  accept(token: number): void {
    if (this.active) this.inner.accept(token);
  }

  isComplete(): boolean {
    return !this.thought.open && this.inner.isComplete();
  }
}
