/**
 * Qwen3 hybrid-thinking output parser: splits generated text into `reasoning` (inside
 * `<think>…</think>`) and `content` (the answer), streaming or all at once.
 *
 * Rules (the inverse of how Qwen's chat template renders an assistant turn):
 * - thinking disabled: everything is content.
 * - thinking enabled: output starts as reasoning, whether or not the model opens with `<think>`
 *   (a prompt may already have opened it); a `<think>` at the very start is consumed.
 * - reasoning runs to the first `</think>`; newlines around it are trimmed like the template's
 *   `reasoning_content.strip('\n')`, and the content after it loses its leading newlines
 *   (`content.lstrip('\n')`), so re-rendering `{reasoning_content, content}` reproduces the output.
 * - no `</think>` at all (e.g. cut off by max_tokens): everything is reasoning.
 * Streaming holds back a possible partial tag (`</thi`) and trailing newlines until they resolve, so
 * no tag fragment leaks into either stream, and concatenated deltas equal the one-shot parse.
 */

const OPEN = "<think>";
const CLOSE = "</think>";

/** Reasoning and answer text; either may be empty. */
export type ReasoningSplit = { reasoning: string; content: string };

/** Options shared by the one-shot and streaming parsers. */
export type ReasoningOptions = {
  /** Whether the prompt left thinking on (see `promptThinkingEnabled` in template.ts). */
  thinkingEnabled: boolean;
};

const stripLeadingNewlines = (s: string): string => s.replace(/^\n+/, "");
const stripTrailingNewlines = (s: string): string => s.replace(/\n+$/, "");

/**
 * Split a complete generation into reasoning and content.
 *
 * @example
 * parseReasoning("<think>\nHmm.\n</think>\n\nHello!", { thinkingEnabled: true });
 * // { reasoning: "Hmm.", content: "Hello!" }
 */
export function parseReasoning(text: string, opts: ReasoningOptions): ReasoningSplit {
  if (!opts.thinkingEnabled) return { reasoning: "", content: text };
  const rest = text.startsWith(OPEN) ? text.slice(OPEN.length) : text;
  const end = rest.indexOf(CLOSE);
  if (end < 0) return { reasoning: stripLeadingNewlines(rest), content: "" };
  return {
    reasoning: stripTrailingNewlines(stripLeadingNewlines(rest.slice(0, end))),
    content: stripLeadingNewlines(rest.slice(end + CLOSE.length)),
  };
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag` (a tag possibly cut off). */
export function partialTagSuffix(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) {
    if (s.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}

type Phase = "start" | "reasoningLead" | "reasoning" | "contentLead" | "content";

/**
 * Streaming reasoning parser: feed text deltas with `push`, then call `finish` once.
 *
 * @example
 * const p = new ReasoningStream({ thinkingEnabled: true });
 * p.push("<think>\nok</thi"); // { reasoning: "ok", content: "" }
 * p.push("nk>\n\nHi");        // { reasoning: "", content: "Hi" }
 * p.finish();                 // { reasoning: "", content: "" }
 */
export class ReasoningStream {
  private phase: Phase;
  // Text received but not yet emitted: a partial tag or newlines that may still be trimmed.
  private pending = "";
  private finished = false;

  constructor(opts: ReasoningOptions) {
    this.phase = opts.thinkingEnabled ? "start" : "content";
  }

  /** True once `</think>` has been seen (or thinking was off): further text is content. */
  get inContent(): boolean {
    return this.phase === "contentLead" || this.phase === "content";
  }

  /** Consume one delta of generated text; returns what can be emitted now. */
  push(delta: string): ReasoningSplit {
    if (this.finished) throw new Error("ReasoningStream.push after finish");
    const out: ReasoningSplit = { reasoning: "", content: "" };
    let text = this.pending + delta;
    this.pending = "";
    while (text.length > 0) {
      switch (this.phase) {
        case "start":
          if (text.startsWith(OPEN)) {
            text = text.slice(OPEN.length);
          } else if (OPEN.startsWith(text)) {
            this.pending = text; // could still become "<think>"
            return out;
          }
          this.phase = "reasoningLead";
          break;
        case "reasoningLead":
        case "contentLead":
          text = stripLeadingNewlines(text);
          if (text.length > 0) this.phase = this.phase === "reasoningLead" ? "reasoning" : "content";
          break;
        case "reasoning": {
          const end = text.indexOf(CLOSE);
          if (end >= 0) {
            out.reasoning += stripTrailingNewlines(text.slice(0, end));
            text = text.slice(end + CLOSE.length);
            this.phase = "contentLead";
            break;
          }
          // Hold back a cut-off "</think>" and the newlines before it (trimmed if the tag completes).
          let keep = text.length - partialTagSuffix(text, CLOSE);
          while (keep > 0 && text[keep - 1] === "\n") keep--;
          out.reasoning += text.slice(0, keep);
          this.pending = text.slice(keep);
          return out;
        }
        case "content":
          out.content += text;
          return out;
      }
    }
    return out;
  }

  /** End of generation: release whatever was held back (an unresolved tag is plain text). */
  finish(): ReasoningSplit {
    if (this.finished) throw new Error("ReasoningStream.finish called twice");
    this.finished = true;
    const rest = this.pending;
    this.pending = "";
    if (this.phase === "start") return { reasoning: rest, content: "" };
    return this.inContent ? { reasoning: "", content: rest } : { reasoning: rest, content: "" };
  }
}
