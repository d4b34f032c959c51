/**
 * The `qwenrt chat` read-eval-print loop on `node:readline`: reads (multi-line) input, runs commands
 * and turns, and routes Ctrl-C — stop the answer while generating, clear a half-typed input, exit on
 * a second press at an empty prompt. The decisions live in input.ts/session.ts (pure, tested); this
 * file only wires them to the terminal.
 */
import { createInterface, type Interface } from "node:readline";
import { QwenrtError } from "../../util/errors.js";
import { InputAssembler, helpText, interruptAction, parseInput, type ChatCommand } from "./input.js";
import { loadChat, saveChat, type ChatSession, type SavedChat } from "./session.js";
import { runTurn, type ChatEngine, type TurnOptions } from "./turn.js";
import { AnswerPrinter, infoLine, promptText, type TextSink } from "./view.js";

/** Streams and modes of one chat. */
export interface ReplIo {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly errors: TextSink;
  /** Line editing, prompts and raw-mode Ctrl-C (stdin and stdout are terminals). */
  readonly terminal: boolean;
  /** Dim reasoning and styled prompts (stdout is a colour terminal). */
  readonly color: boolean;
  /** After each answer, print the prompt's and the answer's token ids (`--show-ids`). */
  readonly showIds?: boolean;
  /** The named session this chat is kept as (`--session NAME`). */
  readonly named?: NamedSession;
}

/** Where a named chat is kept: saved after every change, listed by `/sessions`. */
export interface NamedSession {
  readonly name: string;
  save(chat: SavedChat): void;
  list(): readonly { readonly name: string; readonly messages: number; readonly updatedAt: number }[];
}

/** `/sessions`: one line per session, newest first, this chat's marked with `*`. */
export function sessionsText(named: NamedSession | undefined): string {
  if (named === undefined) return "this chat is not a named session (start qwenrt chat with --session NAME to keep it)";
  const rows = named.list();
  if (rows.length === 0) return "no sessions yet";
  return rows.map((r) => `${r.name === named.name ? "*" : " "} ${r.name}  ${r.messages} messages  ${new Date(r.updatedAt).toISOString().slice(0, 16).replace("T", " ")}`).join("\n");
}

/** Generation options fixed for the whole chat (per-turn ones come from the session). */
export type ChatGenerationOptions = Omit<TurnOptions, "signal" | "budget" | "seed"> & { readonly seed?: number };

/** Result of a command: text to show, and whether to leave the chat. */
export interface CommandOutcome {
  readonly message?: string;
  readonly exit?: boolean;
}

/**
 * Apply a slash command to the session (file commands touch the disk). Errors a user can cause
 * (unreadable file, malformed JSON) are thrown as `QwenrtError` naming the file.
 *
 * @example
 * applyCommand({ kind: "budget", budget: 64 }, session); // { message: "thinking budget: 64 tokens" }
 */
export function applyCommand(cmd: ChatCommand, session: ChatSession, named?: NamedSession): CommandOutcome {
  const s = session.settings;
  switch (cmd.kind) {
    case "think":
      s.enableThinking = cmd.enabled;
      return { message: `thinking ${cmd.enabled ? "on" : "off"} for the following turns` };
    case "budget":
      s.budget = cmd.budget;
      return {
        message:
          cmd.budget === null
            ? "thinking budget: off"
            : `thinking budget: ${cmd.budget} tokens${s.enableThinking ? "" : " (thinking is off: /think turns it on)"}`,
      };
    case "system":
      session.setSystem(cmd.text);
      return { message: `system prompt ${cmd.text === "" ? "cleared" : "set"}; new conversation` };
    case "reset":
      session.reset();
      return { message: "new conversation" };
    case "save":
      saveChat(cmd.file, session);
      return { message: `saved ${session.messages.length} messages to ${cmd.file}` };
    case "load": {
      session.restore(loadChat(cmd.file));
      const budget = s.budget === null ? "off" : `${s.budget} tokens`;
      return {
        message: `loaded ${session.messages.length} messages from ${cmd.file} (thinking ${s.enableThinking ? "on" : "off"}, budget ${budget}${
          s.system === null ? "" : ", with a system prompt"
        })`,
      };
    }
    case "sessions":
      return { message: sessionsText(named) };
    case "help":
      return { message: helpText() };
    case "exit":
      return { exit: true };
  }
}

/** Lines from readline as an awaitable queue (input can arrive while an answer is generating). */
class LineQueue {
  private lines: string[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(rl: Interface) {
    rl.on("line", (l: string) => {
      this.lines.push(l);
      this.wake?.();
    });
    rl.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  /** The next line, or null once the input has ended (Ctrl-D, EOF, or `close`). */
  async next(): Promise<string | null> {
    while (this.lines.length === 0) {
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    return this.lines.shift() ?? null;
  }
}

/**
 * Run the chat until `/exit`, end of input, or a double Ctrl-C; returns the exit code.
 *
 * @example
 * await runChatRepl(engine, session, { sampling: {}, ignoreEos: false }, { input: process.stdin, ... });
 */
export async function runChatRepl(engine: ChatEngine, session: ChatSession, gen: ChatGenerationOptions, io: ReplIo): Promise<number> {
  const { output, errors, terminal, color } = io;
  const rl = createInterface({ input: io.input, ...(terminal ? { output } : {}), terminal, historySize: 1000 });
  const queue = new LineQueue(rl);
  const assembler = new InputAssembler();
  const info = (text: string): void => void output.write(infoLine(text, color));
  let generating: AbortController | undefined;
  let previousWasInterrupt = false;
  let turnIndex = 0;

  const showPrompt = (): void => {
    if (!terminal) return;
    rl.setPrompt(promptText(assembler.pending, color));
    rl.prompt();
  };
  const onInterrupt = (): void => {
    const hasInput = assembler.pending || (terminal && rl.line.length > 0);
    const action = interruptAction({ generating: generating !== undefined, hasInput, previousWasInterrupt });
    previousWasInterrupt = action === "hint";
    switch (action) {
      case "abort":
        generating?.abort();
        break;
      case "clear":
        assembler.clear();
        if (terminal) {
          // Move to the end of the typed line, delete back to its start, and show that Ctrl-C was seen.
          rl.write(null, { ctrl: true, name: "e" });
          rl.write(null, { ctrl: true, name: "u" });
          output.write("^C\n");
        }
        showPrompt();
        break;
      case "hint":
        if (terminal) output.write("\n");
        info("(press Ctrl-C again or type /exit to quit)");
        showPrompt();
        break;
      case "exit":
        if (terminal) output.write("\n");
        rl.close();
        break;
    }
  };
  rl.on("SIGINT", onInterrupt);
  process.on("SIGINT", onInterrupt);

  try {
    for (;;) {
      showPrompt();
      const line = await queue.next();
      if (line === null) break;
      previousWasInterrupt = false;
      const assembled = assembler.push(line);
      if (assembled.kind === "more") continue;
      const input = parseInput(assembled.text, assembled.block);
      if (input.kind === "empty") continue;
      if (input.kind === "invalid") {
        errors.write(`${input.error}\n`);
        continue;
      }
      if (input.kind === "command") {
        try {
          const r = applyCommand(input.command, session, io.named);
          if (r.message !== undefined) info(r.message);
          if (["system", "reset", "load", "think", "budget"].includes(input.command.kind)) io.named?.save(session.toJSON());
          if (r.exit === true) break;
        } catch (e) {
          if (!(e instanceof QwenrtError)) throw e;
          errors.write(`${input.command.kind === "save" || input.command.kind === "load" ? `/${input.command.kind}: ` : ""}${e.message}\n`);
        }
        continue;
      }
      session.addUser(input.text);
      const ac = new AbortController();
      generating = ac;
      const printer = new AnswerPrinter(output, { color });
      try {
        const seed = gen.seed === undefined ? undefined : gen.seed + turnIndex;
        const r = await runTurn(engine, session.request(), { ...gen, budget: session.settings.budget, seed, signal: ac.signal }, printer);
        if (r.stats.finish === "interrupted" && r.reasoning === "" && r.content === "") {
          session.dropPendingUser();
          printer.end(r.stats);
          info("(stopped before any output: the message was dropped)");
        } else {
          session.addAssistant(r.content, r.reasoning);
          printer.end(r.stats);
          io.named?.save(session.toJSON());
        }
        if (io.showIds === true) printer.ids(r.promptIds, r.ids);
      } catch (e) {
        session.dropPendingUser();
        if (!(e instanceof QwenrtError)) throw e;
        errors.write(`${e.message}\n`);
      } finally {
        generating = undefined;
        turnIndex++;
      }
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    rl.close();
  }
  return 0;
}
