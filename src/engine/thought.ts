/**
 * The one record of whether a turn's thought (`<think>…</think>`) is still open. The thinking
 * budget, the grammar gate (a constraint starts after the thought) and the reasoning-token count of
 * a turn all read the same `Thought`, which sees every generated token once, sampled or forced.
 * By token id where the vocabulary has `</think>` as one token (Qwen3, QwQ); by text otherwise.
 */
import { ThoughtText } from "../chat/budget.js";
import { StreamDetokenizer, type Tokenizer } from "../tokenizer/index.js";
import type { TextStream } from "./types.js";

/** How a vocabulary marks a thought: the tag ids, or none (then the text is watched). */
export interface ThoughtMarks {
  /** `<think>` as one token, if it is one. */
  readonly openId: number | undefined;
  /** `</think>` as one token, if it is one. */
  readonly closeId: number | undefined;
}

/** The thought tags of `tokenizer`'s vocabulary. */
export function thoughtMarks(tokenizer: Tokenizer): ThoughtMarks {
  return { openId: tokenizer.tokenToId("<think>"), closeId: tokenizer.tokenToId("</think>") };
}

/**
 * Open/closed state and reasoning-token count of one generation. A reasoning token is a sampled
 * token generated while the thought is open, other than a leading `<think>` and the `</think>`
 * that closes it; tokens forced in (the budget's early-stop text) are not counted.
 *
 * @example
 * const t = Thought.of(tokenizer, true);
 * t.accept(id, false); // after each generated token, in order
 * if (!t.open) { ... } // the answer has started
 */
export class Thought {
  private openNow: boolean;
  private count = 0;
  private seen = 0;
  private readonly text: { readonly stream: TextStream; readonly thought: ThoughtText } | undefined;

  /**
   * @param open whether the output starts inside the thought (the prompt left it open)
   * @param marks the vocabulary's tag ids; without a `</think>` id, `newTextStream` must give a
   *   detokenizer that keeps special tokens, and the thought is followed by its text
   */
  constructor(
    open: boolean,
    private readonly marks: ThoughtMarks,
    newTextStream?: () => TextStream,
  ) {
    this.openNow = open;
    if (marks.closeId === undefined) {
      if (newTextStream === undefined) throw new Error("Thought: a vocabulary without a </think> token needs a text stream");
      this.text = { stream: newTextStream(), thought: new ThoughtText(open) };
    }
  }

  /** A thought over `tokenizer`'s vocabulary. */
  static of(tokenizer: Tokenizer, open: boolean, marks: ThoughtMarks = thoughtMarks(tokenizer)): Thought {
    return new Thought(open, marks, () => new StreamDetokenizer(tokenizer, { skipSpecialTokens: false }));
  }

  /** True until the thought is closed (by the model or by forced tokens). */
  get open(): boolean {
    return this.openNow;
  }

  /** Reasoning tokens so far (see the class comment). */
  get reasoningTokens(): number {
    return this.count;
  }

  /** Record the next generated token; `forced` when it was forced in rather than sampled. */
  accept(token: number, forced: boolean): void {
    const first = this.seen++ === 0;
    if (this.text !== undefined) {
      // Every token goes through the detokenizer, so text split across tokens stays whole.
      const counted = this.text.thought.push(this.text.stream.push(token));
      if (this.openNow && counted && !forced) this.count++;
      this.openNow = this.text.thought.open;
      return;
    }
    if (!this.openNow) return;
    if (token === this.marks.closeId) this.openNow = false;
    else if (!forced && !(first && token === this.marks.openId)) this.count++;
  }
}
