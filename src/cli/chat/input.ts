/**
 * Input side of `qwenrt chat`, as pure functions with no terminal in sight: joining multi-line input
 * (`\` at the end of a line, or `"""` blocks) and parsing `/commands`.
 */

/** A slash command typed at the chat prompt. */
export type ChatCommand =
  | { readonly kind: "think"; readonly enabled: boolean }
  | { readonly kind: "budget"; readonly budget: number | null }
  | { readonly kind: "system"; readonly text: string }
  | { readonly kind: "reset" }
  | { readonly kind: "save"; readonly file: string }
  | { readonly kind: "load"; readonly file: string }
  | { readonly kind: "sessions" }
  | { readonly kind: "help" }
  | { readonly kind: "exit" };

/** What one complete input is. */
export type ChatInput =
  | { readonly kind: "empty" }
  | { readonly kind: "message"; readonly text: string }
  | { readonly kind: "command"; readonly command: ChatCommand }
  | { readonly kind: "invalid"; readonly error: string };

/** Result of feeding one line to {@link InputAssembler}. */
export type AssembleResult =
  | { readonly kind: "more" }
  /** `block` is true for `"""` blocks, whose text is always a message, never a command. */
  | { readonly kind: "done"; readonly text: string; readonly block: boolean };

const FENCE = '"""';

/**
 * Joins physical lines into one input: a line ending in `\` continues on the next line (the `\` is
 * dropped, the newline kept); a line starting with `"""` opens a block that runs to a line ending
 * with `"""` (text on the fence lines is kept).
 *
 * @example
 * const a = new InputAssembler();
 * a.push("first \\");  // { kind: "more" }
 * a.push("second");    // { kind: "done", text: "first \nsecond", block: false }
 */
export class InputAssembler {
  private lines: string[] = [];
  private inBlock = false;

  /** True while a continuation or block is open (the prompt should say so). */
  get pending(): boolean {
    return this.inBlock || this.lines.length > 0;
  }

  /** Forget any partial input (Ctrl-C at a continuation prompt). */
  clear(): void {
    this.lines = [];
    this.inBlock = false;
  }

  /** Feed one line (without its newline). */
  push(line: string): AssembleResult {
    if (this.inBlock) {
      const end = line.trimEnd();
      if (end.endsWith(FENCE)) return this.done(end.slice(0, -FENCE.length), true);
      this.lines.push(line);
      return { kind: "more" };
    }
    if (this.lines.length === 0 && line.trimStart().startsWith(FENCE)) {
      const rest = line.trimStart().slice(FENCE.length);
      const end = rest.trimEnd();
      if (end.endsWith(FENCE)) {
        this.lines.push(end.slice(0, -FENCE.length));
        return this.done(undefined, true);
      }
      this.inBlock = true;
      if (rest.trim() !== "") this.lines.push(rest);
      return { kind: "more" };
    }
    if (line.endsWith("\\")) {
      this.lines.push(line.slice(0, -1));
      return { kind: "more" };
    }
    return this.done(line, false);
  }

  private done(last: string | undefined, block: boolean): AssembleResult {
    if (last !== undefined && (!block || last.trim() !== "" || this.lines.length === 0)) this.lines.push(last);
    const text = this.lines.join("\n");
    this.clear();
    return { kind: "done", text, block };
  }
}

/** Commands, their argument, and what they do (the `/help` text is built from this). */
export const COMMAND_HELP: readonly (readonly [string, string])[] = [
  ["/think", "turn thinking on for the following turns"],
  ["/no_think", "turn thinking off for the following turns"],
  ["/budget N", "cap thinking at N tokens (/budget off removes the cap)"],
  ["/system TEXT", "set the system prompt (empty clears it) and start a new conversation"],
  ["/reset", "start a new conversation (keeps the system prompt and settings)"],
  ["/save FILE", "save the conversation as JSON {messages, settings}"],
  ["/load FILE", "load a conversation saved with /save"],
  ["/sessions", "list the named sessions (qwenrt chat --session NAME keeps this one)"],
  ["/help", "show this help"],
  ["/exit", "quit (Ctrl-D works too)"],
];

/** The `/help` text. */
export function helpText(): string {
  const width = Math.max(...COMMAND_HELP.map(([c]) => c.length));
  return [
    "commands:",
    ...COMMAND_HELP.map(([c, d]) => `  ${c.padEnd(width)}  ${d}`),
    "input: end a line with \\ to continue it, or wrap several lines in \"\"\" ... \"\"\".",
    "Ctrl-C stops an answer (what was written is kept); at an empty prompt, press it twice to quit.",
    "A message that starts with / is sent by doubling the slash: //etc/hosts sends /etc/hosts.",
  ].join("\n");
}

/**
 * Classify one complete input. Block input is always a message; `//text` sends `/text`.
 *
 * @example
 * parseInput("/budget 256", false); // { kind: "command", command: { kind: "budget", budget: 256 } }
 * parseInput("hello", false);       // { kind: "message", text: "hello" }
 */
export function parseInput(text: string, block: boolean): ChatInput {
  if (text.trim() === "") return { kind: "empty" };
  if (block) return { kind: "message", text };
  const trimmed = text.trim();
  if (trimmed.startsWith("//")) return { kind: "message", text: trimmed.slice(1) };
  if (!trimmed.startsWith("/")) return { kind: "message", text };
  const space = trimmed.search(/\s/);
  const name = space < 0 ? trimmed : trimmed.slice(0, space);
  const arg = space < 0 ? "" : trimmed.slice(space).trim();
  const noArg = (command: ChatCommand): ChatInput =>
    arg === "" ? { kind: "command", command } : { kind: "invalid", error: `${name} takes no argument, got "${arg}"` };
  const fileArg = (kind: "save" | "load"): ChatInput =>
    arg === "" ? { kind: "invalid", error: `${name} needs a FILE argument` } : { kind: "command", command: { kind, file: arg } };
  switch (name) {
    case "/think":
      return noArg({ kind: "think", enabled: true });
    case "/no_think":
      return noArg({ kind: "think", enabled: false });
    case "/budget":
      return parseBudget(arg);
    case "/system":
      return { kind: "command", command: { kind: "system", text: arg } };
    case "/reset":
      return noArg({ kind: "reset" });
    case "/save":
      return fileArg("save");
    case "/load":
      return fileArg("load");
    case "/sessions":
      return noArg({ kind: "sessions" });
    case "/help":
    case "/?":
      return noArg({ kind: "help" });
    case "/exit":
    case "/quit":
      return noArg({ kind: "exit" });
    default:
      return { kind: "invalid", error: `unknown command ${name} (try /help; send //text for a message starting with /)` };
  }
}

function parseBudget(arg: string): ChatInput {
  if (arg === "off" || arg === "none") return { kind: "command", command: { kind: "budget", budget: null } };
  if (!/^\d+$/.test(arg) || !Number.isSafeInteger(Number(arg))) {
    return { kind: "invalid", error: `/budget expects a token count >= 0 or "off", got "${arg}"` };
  }
  return { kind: "command", command: { kind: "budget", budget: Number(arg) } };
}

/** What a Ctrl-C does, given where the user is. */
export type InterruptAction = "abort" | "clear" | "hint" | "exit";

/**
 * Ctrl-C policy: stop a running answer; otherwise clear a half-typed input; at an empty prompt, the
 * first press prints a hint and a second one in a row exits.
 *
 * @example
 * interruptAction({ generating: false, hasInput: false, previousWasInterrupt: true }); // "exit"
 */
export function interruptAction(s: { generating: boolean; hasInput: boolean; previousWasInterrupt: boolean }): InterruptAction {
  if (s.generating) return "abort";
  if (s.hasInput) return "clear";
  return s.previousWasInterrupt ? "exit" : "hint";
}
