/**
 * Conversation state of `qwenrt chat`: the messages the chat template sees, the per-turn settings,
 * and the `/save` / `/load` file format `{messages, settings}` (the `messages` are a valid chat
 * request, so a saved file also works with `qwenrt render --request FILE`).
 */
import { writeFileSync } from "node:fs";
import { QwenrtError } from "../../util/errors.js";
import { isObject, readJsonFile } from "../../util/json.js";

/** One message of the conversation, as the chat template takes it. */
export type ChatTurnMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; reasoning_content?: string };

/** Settings that apply to the following turns. */
export interface ChatSettings {
  /** System prompt, or null for none. */
  system: string | null;
  /** Render prompts with `enable_thinking` (Qwen3 hybrid thinking). */
  enableThinking: boolean;
  /** Most thinking tokens per answer, or null for no cap. */
  budget: number | null;
}

/** The `/save` file as JSON. */
export interface SavedChat {
  messages: ChatTurnMessage[];
  settings: { enable_thinking: boolean; thinking_budget: number | null };
}

/**
 * The conversation: history without the system prompt, plus settings.
 *
 * @example
 * const s = new ChatSession({ system: "Be brief.", enableThinking: true, budget: null });
 * s.addUser("Hi");
 * s.request(); // { messages: [{ role: "system", ... }, { role: "user", content: "Hi" }], enable_thinking: true, ... }
 */
export class ChatSession {
  readonly settings: ChatSettings;
  private history: ChatTurnMessage[] = [];

  constructor(settings: ChatSettings) {
    this.settings = { ...settings };
  }

  /** User and assistant messages so far (no system prompt). */
  get messages(): readonly ChatTurnMessage[] {
    return this.history;
  }

  /** Every message the template gets: the system prompt (if any) first. */
  allMessages(): ChatTurnMessage[] {
    const sys: ChatTurnMessage[] = this.settings.system === null ? [] : [{ role: "system", content: this.settings.system }];
    return [...sys, ...this.history];
  }

  /** The chat request for the next answer (after `addUser`). */
  request(): { messages: ChatTurnMessage[]; enable_thinking: boolean; add_generation_prompt: true } {
    return { messages: this.allMessages(), enable_thinking: this.settings.enableThinking, add_generation_prompt: true };
  }

  addUser(content: string): void {
    this.history.push({ role: "user", content });
  }

  /** Record an answer; empty reasoning is left out. */
  addAssistant(content: string, reasoning: string): void {
    this.history.push(reasoning === "" ? { role: "assistant", content } : { role: "assistant", content, reasoning_content: reasoning });
  }

  /** Drop the last message if it is the user's (its answer failed before any text). */
  dropPendingUser(): void {
    if (this.history.at(-1)?.role === "user") this.history.pop();
  }

  /** Start a new conversation, keeping the system prompt and settings. */
  reset(): void {
    this.history = [];
  }

  /** Set (or with "", clear) the system prompt; starts a new conversation. */
  setSystem(text: string): void {
    this.settings.system = text === "" ? null : text;
    this.reset();
  }

  /** The conversation as saved by `/save`. */
  toJSON(): SavedChat {
    return {
      messages: this.allMessages(),
      settings: { enable_thinking: this.settings.enableThinking, thinking_budget: this.settings.budget },
    };
  }

  /** Replace the conversation and settings with a saved one. */
  restore(saved: SavedChat): void {
    const [first, ...rest] = saved.messages;
    if (first?.role === "system") {
      this.settings.system = first.content;
      this.history = rest;
    } else {
      this.settings.system = null;
      this.history = saved.messages.slice();
    }
    this.settings.enableThinking = saved.settings.enable_thinking;
    this.settings.budget = saved.settings.thinking_budget;
  }
}

/**
 * Check a parsed `/save` file; errors name the file and the field.
 *
 * @example
 * parseSavedChat({ messages: [{ role: "user", content: "Hi" }] }, "chat.json");
 */
export function parseSavedChat(value: unknown, file: string): SavedChat {
  if (!isObject(value)) throw new QwenrtError(file, "must be a JSON object {messages, settings}");
  if (!Array.isArray(value.messages)) throw new QwenrtError(file, '"messages" must be an array');
  const messages = value.messages.map((m: unknown, i): ChatTurnMessage => {
    const at = `"messages"[${i}]`;
    if (!isObject(m)) throw new QwenrtError(file, `${at} must be an object {role, content}`);
    if (typeof m.content !== "string") throw new QwenrtError(file, `${at}.content must be a string`);
    switch (m.role) {
      case "system":
        if (i !== 0) throw new QwenrtError(file, `${at}: a system message may only come first`);
        return { role: "system", content: m.content };
      case "user":
        return { role: "user", content: m.content };
      case "assistant":
        if (m.reasoning_content === undefined || m.reasoning_content === null) return { role: "assistant", content: m.content };
        if (typeof m.reasoning_content !== "string") throw new QwenrtError(file, `${at}.reasoning_content must be a string`);
        return { role: "assistant", content: m.content, reasoning_content: m.reasoning_content };
      default:
        throw new QwenrtError(file, `${at}.role must be "system", "user" or "assistant", got ${JSON.stringify(m.role)}`);
    }
  });
  const s = value.settings ?? {};
  if (!isObject(s)) throw new QwenrtError(file, '"settings" must be an object');
  const thinking = s.enable_thinking ?? true;
  if (typeof thinking !== "boolean") throw new QwenrtError(file, '"settings".enable_thinking must be a boolean');
  const budget = s.thinking_budget ?? null;
  if (budget !== null && (typeof budget !== "number" || !Number.isSafeInteger(budget) || budget < 0)) {
    throw new QwenrtError(file, '"settings".thinking_budget must be an integer >= 0 or null');
  }
  return { messages, settings: { enable_thinking: thinking, thinking_budget: budget } };
}

/** Write `/save FILE`; errors name the file. */
export function saveChat(file: string, session: ChatSession): void {
  try {
    writeFileSync(file, `${JSON.stringify(session.toJSON(), null, 2)}\n`);
  } catch (e) {
    throw new QwenrtError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** Read `/load FILE`; errors name the file. */
export function loadChat(file: string): SavedChat {
  return parseSavedChat(readJsonFile(file), file);
}
