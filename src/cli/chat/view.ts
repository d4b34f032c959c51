/**
 * Output side of `qwenrt chat`: how an answer is drawn. On a colour terminal the reasoning is dim
 * under a "thinking…" header; elsewhere (pipes, NO_COLOR) it sits between plain `[thinking]` and
 * `[/thinking]` lines and no escape code is written. Pure: it only calls `write`.
 */

/** Where output goes (`process.stdout` fits; tests collect strings). */
export interface TextSink {
  write(text: string): unknown;
}

const DIM = "\x1b[2m";
const UNDIM = "\x1b[22m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";

/**
 * Make model text safe for a terminal: C0/C1 control characters other than newline and tab are
 * shown in caret notation (`^[`), so random or hostile output cannot move the cursor or recolour.
 *
 * @example
 * terminalSafe("a\x1b[2Jb"); // "a^[[2Jb"
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 64)}`;
    return code === 0x7f ? "^?" : `\\x${code.toString(16)}`;
  });
}

/** Numbers for the line printed after each answer. */
export interface TurnStats {
  /** Generated tokens (forced budget tokens included). */
  readonly tokens: number;
  /** Seconds from the first generated token to the last (decode). */
  readonly decodeSeconds: number;
  /** Prompt tokens in all. */
  readonly promptTokens: number;
  /** Prompt tokens whose KV cache was reused from the previous turn. */
  readonly reusedTokens: number;
  /** Seconds spent on the prompt tokens that were computed (until the first token). */
  readonly promptSeconds: number;
  /** How the answer ended: `stop`, `length`, or `interrupted` (Ctrl-C). */
  readonly finish: "stop" | "length" | "interrupted";
}

/**
 * The stats line.
 *
 * @example
 * formatStats({ tokens: 20, decodeSeconds: 1.9, promptTokens: 50, reusedTokens: 40, promptSeconds: 0.2, finish: "stop" });
 * // "20 tokens, 10.0 tok/s · reused 40 prompt tokens from cache, computed 10 in 0.20s · stop"
 */
export function formatStats(s: TurnStats): string {
  const rate = s.tokens >= 2 && s.decodeSeconds > 0 ? `${((s.tokens - 1) / s.decodeSeconds).toFixed(1)} tok/s` : "- tok/s";
  const computed = s.promptTokens - s.reusedTokens;
  const finish = s.finish === "interrupted" ? "interrupted (Ctrl-C)" : s.finish;
  return `${s.tokens} token${s.tokens === 1 ? "" : "s"}, ${rate} · reused ${s.reusedTokens} prompt tokens from cache, computed ${computed} in ${s.promptSeconds.toFixed(2)}s · ${finish}`;
}

type Section = "none" | "reasoning" | "content";

/**
 * Draws one answer as its reasoning and content deltas arrive.
 *
 * @example
 * const p = new AnswerPrinter(process.stdout, { color: false });
 * p.reasoning("Let me see."); p.content("Hello!"); p.end(stats);
 * // [thinking]\nLet me see.\n[/thinking]\nHello!\n[stats] ...
 */
export class AnswerPrinter {
  private section: Section = "none";
  private atLineStart = true;
  private readonly color: boolean;

  constructor(
    private readonly out: TextSink,
    opts: { color: boolean },
  ) {
    this.color = opts.color;
  }

  /** A piece of reasoning text. */
  reasoning(text: string): void {
    if (text === "") return;
    if (this.section === "content") {
      // Reasoning after the answer started cannot come from ReasoningStream; show it as text.
      this.content(text);
      return;
    }
    if (this.section === "none") {
      this.write(this.color ? `${DIM}thinking…${UNDIM}\n` : "[thinking]\n", "\n");
      this.section = "reasoning";
    }
    this.write(this.color ? `${DIM}${terminalSafe(text)}${UNDIM}` : text, text);
  }

  /** A piece of the answer. */
  content(text: string): void {
    if (text === "") return;
    if (this.section === "reasoning") this.closeReasoning();
    this.section = "content";
    this.write(this.color ? terminalSafe(text) : text, text);
  }

  /** End of the answer: close what is open, then the stats line. */
  end(stats: TurnStats): void {
    if (this.section === "reasoning") this.closeReasoning();
    else if (!this.atLineStart) this.write("\n");
    const line = formatStats(stats);
    this.write(this.color ? `${DIM}${line}${RESET}\n` : `[stats] ${line}\n`, "\n");
  }

  /** The turn's token ids, one JSON line `{"prompt_ids", "ids"}` (`[ids] ` first when plain). */
  ids(promptIds: readonly number[], ids: readonly number[]): void {
    const line = JSON.stringify({ prompt_ids: promptIds, ids });
    this.write(this.color ? `${DIM}${line}${RESET}\n` : `[ids] ${line}\n`, "\n");
  }

  private closeReasoning(): void {
    if (!this.atLineStart) this.write("\n");
    this.write(this.color ? "\n" : "[/thinking]\n");
  }

  // `plain` is the text without escape codes: it tells whether the cursor is at a line start.
  private write(text: string, plain = text): void {
    this.out.write(text);
    this.atLineStart = plain.endsWith("\n");
  }
}

/** Style an informational line (command results): dim on a colour terminal, plain otherwise. */
export function infoLine(text: string, color: boolean): string {
  return color ? `${DIM}${text}${RESET}\n` : `${text}\n`;
}

/** The input prompt: bold `>>> ` (or `... ` while a multi-line input is open). */
export function promptText(pending: boolean, color: boolean): string {
  const p = pending ? "... " : ">>> ";
  return color ? `${BOLD}${p}${RESET}` : p;
}
