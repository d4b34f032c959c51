/**
 * Thinking budget: cap how many tokens a Qwen3 model spends reasoning. When the budget runs out while
 * the model is still inside `<think>`, the generate loop appends Qwen's documented early-stop text
 * (which closes the thought) to the sequence and carries on generating the answer.
 */

/** The text Qwen documents for ending a thought early; it closes the `<think>` block. */
export const THINKING_EARLY_STOP =
  "\n\nConsidering the limited time by the user, I have to give the solution based on the thinking directly now.\n</think>\n\n";

/**
 * True when `reasoningTokens` thinking tokens have used up `budget` (a budget of 0 allows none).
 *
 * @example
 * budgetExhausted(1024, 1024); // true
 */
export function budgetExhausted(reasoningTokens: number, budget: number): boolean {
  return reasoningTokens >= budget;
}

/** What the generate loop should do after a step. */
export type BudgetAction = { kind: "continue" } | { kind: "force"; text: string };

/** Phase of the thought: thinking, closed by the model, or closed by us. */
export type BudgetPhase = "thinking" | "done" | "forced";

const CONTINUE: BudgetAction = { kind: "continue" };
const OPEN = "<think>";
const CLOSE = "</think>";

/**
 * Whether a thought is still open, judged from generated text alone: for vocabularies without a
 * `</think>` token (the engine's `Thought` uses the token id where there is one). Feed each
 * generated token's text, special tokens included; `</think>` split across tokens is seen.
 *
 * @example
 * const t = new ThoughtText(true);
 * t.push("<think>"); // false: a leading <think> is not a thinking token
 * t.push("Hmm");     // true
 * t.push("</thi");   // true
 * t.push("nk>");     // false, and t.open is now false
 */
export class ThoughtText {
  private openNow: boolean;
  private first = true;
  private tail = ""; // last few characters, to see "</think>" split across tokens

  constructor(open: boolean) {
    this.openNow = open;
  }

  /** True until `</think>` has been seen (false from the start when the prompt closed the thought). */
  get open(): boolean {
    return this.openNow;
  }

  /**
   * Record one token's text; returns whether it is a thinking token: inside the thought, not a
   * leading `<think>`, and not the one completing `</think>`.
   */
  push(text: string): boolean {
    const first = this.first;
    this.first = false;
    if (!this.openNow) return false;
    const seen = this.tail + text;
    if (seen.includes(CLOSE)) {
      this.openNow = false;
      return false;
    }
    this.tail = seen.slice(-(CLOSE.length - 1));
    return !(first && text === OPEN);
  }
}

/**
 * Drives the budget from generated text: call `start()` before the first token (a budget of 0
 * forces at once), then `onToken(text)` with each generated token's text. When an action is
 * `force`, tokenize `text`, append those tokens to the sequence (they count as generated output and
 * should also be fed to the output parsers), and keep going; the budget then stays quiet.
 * A leading `<think>` token is not counted; `</think>` from the model ends the thought.
 * (The engine's turn pipeline applies the same rule by token id: engine/turn-steer.ts.)
 *
 * @example
 * const b = new ThinkingBudget({ budget: 2, thinkingEnabled: true });
 * b.start();            // { kind: "continue" }
 * b.onToken("<think>"); // { kind: "continue" }
 * b.onToken("Hmm");     // { kind: "continue" }
 * b.onToken(",");       // { kind: "force", text: THINKING_EARLY_STOP }
 */
export class ThinkingBudget {
  private phaseNow: BudgetPhase;
  private count = 0;
  private readonly thought: ThoughtText;
  private readonly budget: number;

  constructor(opts: { budget: number; thinkingEnabled: boolean }) {
    if (!Number.isInteger(opts.budget) || opts.budget < 0) {
      throw new RangeError(`thinking budget must be a non-negative integer, got ${opts.budget}`);
    }
    this.budget = opts.budget;
    this.thought = new ThoughtText(opts.thinkingEnabled);
    this.phaseNow = opts.thinkingEnabled ? "thinking" : "done";
  }

  /** Current phase. */
  get phase(): BudgetPhase {
    return this.phaseNow;
  }

  /** Thinking tokens counted so far. */
  get reasoningTokens(): number {
    return this.count;
  }

  /** Call once before generating: forces immediately when the budget is 0. */
  start(): BudgetAction {
    return this.check();
  }

  /** Record one generated token's text; says whether to force the thought to end now. */
  onToken(text: string): BudgetAction {
    if (this.phaseNow !== "thinking") return CONTINUE;
    if (this.thought.push(text)) this.count++;
    if (!this.thought.open) {
      this.phaseNow = "done";
      return CONTINUE;
    }
    return this.check();
  }

  private check(): BudgetAction {
    if (this.phaseNow !== "thinking" || !budgetExhausted(this.count, this.budget)) return CONTINUE;
    this.phaseNow = "forced";
    return { kind: "force", text: THINKING_EARLY_STOP };
  }
}
