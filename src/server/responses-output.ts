/**
 * A turn's output as Responses output items — `reasoning` (Qwen's thought as `reasoning_text`
 * content), `message` (`output_text`), `function_call` — built at once from the parsed answer, or
 * while streaming from the turn's parts, emitting OpenAI's event sequence: `output_item.added`,
 * `content_part.added`, `output_text.delta` / `reasoning_text.delta` /
 * `function_call_arguments.delta`, then their `.done` events and `output_item.done`.
 */
import type { TurnMessage, TurnPart } from "../engine/turn-output.js";
import { newId, type Item } from "./responses-input.js";

/** One streamed event: its `type` and fields (the writer adds `sequence_number`). */
export type ResponseEvent = { type: string } & Record<string, unknown>;

const messageItem = (id: string, text: string): Item => ({
  type: "message",
  id,
  role: "assistant",
  content: [{ type: "output_text", text, annotations: [] }],
  status: "completed",
});
const reasoningItem = (id: string, text: string): Item => ({ type: "reasoning", id, summary: [], content: [{ type: "reasoning_text", text }] });
const callItem = (id: string, callId: string, name: string, args: string): Item => ({
  type: "function_call",
  id,
  call_id: callId,
  name,
  arguments: args,
  status: "completed",
});

/**
 * The output items of a finished answer: reasoning when the turn thought, the message unless it
 * is only whitespace beside tool calls, then one `function_call` per call.
 *
 * @example
 * outputItems({ reasoning: "", content: "Hi", toolCalls: [] }, false); // [{ type: "message", ... }]
 */
export function outputItems(m: TurnMessage, thinking: boolean): Item[] {
  const items: Item[] = [];
  if (thinking) items.push(reasoningItem(newId("rs"), m.reasoning));
  if (m.content.trim() !== "" || m.toolCalls.length === 0) items.push(messageItem(newId("msg"), m.content));
  for (const c of m.toolCalls) items.push(callItem(newId("fc"), c.id, c.name, c.arguments));
  return items;
}

type Open =
  | { kind: "reasoning"; index: number; id: string; text: string }
  | { kind: "message"; index: number; id: string; text: string }
  | { kind: "call"; index: number; id: string; callId: string; name: string; text: string };

/**
 * Streams output items as events. `push` each step's parts, then `finish` once: it closes the
 * open item and returns every item. Whitespace-only content is held until real content follows
 * (a message of only the blank line before a tool call is never opened).
 */
export class OutputStream {
  private readonly items: Item[] = [];
  private open: Open | undefined;
  private heldSpace = "";

  constructor(private readonly emit: (e: ResponseEvent) => void) {}

  push(parts: readonly TurnPart[]): void {
    for (const p of parts) {
      switch (p.type) {
        case "reasoning":
          if (this.open?.kind !== "reasoning") this.begin({ kind: "reasoning", index: this.items.length, id: newId("rs"), text: "" });
          this.delta(p.text);
          break;
        case "content":
          if (this.open?.kind !== "message") {
            if (p.text.trim() === "") {
              this.heldSpace += p.text;
              break;
            }
            this.begin({ kind: "message", index: this.items.length, id: newId("msg"), text: "" });
          }
          this.delta(this.heldSpace + p.text);
          this.heldSpace = "";
          break;
        case "toolCall":
          this.heldSpace = "";
          this.begin({ kind: "call", index: this.items.length, id: newId("fc"), callId: p.id, name: p.name, text: "" });
          break;
        case "arguments":
          if (this.open?.kind === "call") this.delta(p.text);
          break;
      }
    }
  }

  /** Close what is open; an answer with no message and no call still gets a (possibly empty) message. */
  finish(): Item[] {
    if (!this.items.some((i) => i.type === "message" || i.type === "function_call") && this.open?.kind !== "message" && this.open?.kind !== "call") {
      this.begin({ kind: "message", index: this.items.length, id: newId("msg"), text: "" });
      if (this.heldSpace !== "") this.delta(this.heldSpace);
    }
    this.close();
    return this.items;
  }

  private begin(o: Open): void {
    this.close();
    o.index = this.items.length;
    this.open = o;
    const base = { output_index: o.index };
    switch (o.kind) {
      case "reasoning":
        this.emit({ type: "response.output_item.added", ...base, item: { type: "reasoning", id: o.id, summary: [], content: [] } });
        this.emit({ type: "response.content_part.added", ...base, item_id: o.id, content_index: 0, part: { type: "reasoning_text", text: "" } });
        break;
      case "message":
        this.emit({ type: "response.output_item.added", ...base, item: { type: "message", id: o.id, role: "assistant", content: [], status: "in_progress" } });
        this.emit({ type: "response.content_part.added", ...base, item_id: o.id, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
        break;
      case "call":
        this.emit({
          type: "response.output_item.added",
          ...base,
          item: { type: "function_call", id: o.id, call_id: o.callId, name: o.name, arguments: "", status: "in_progress" },
        });
        break;
    }
  }

  private delta(text: string): void {
    const o = this.open;
    if (o === undefined || text === "") return;
    o.text += text;
    const at = { item_id: o.id, output_index: o.index };
    if (o.kind === "reasoning") this.emit({ type: "response.reasoning_text.delta", ...at, content_index: 0, delta: text });
    else if (o.kind === "message") this.emit({ type: "response.output_text.delta", ...at, content_index: 0, delta: text, logprobs: [] });
    else this.emit({ type: "response.function_call_arguments.delta", ...at, delta: text });
  }

  private close(): void {
    const o = this.open;
    if (o === undefined) return;
    this.open = undefined;
    const at = { item_id: o.id, output_index: o.index };
    let item: Item;
    if (o.kind === "reasoning") {
      item = reasoningItem(o.id, o.text);
      this.emit({ type: "response.reasoning_text.done", ...at, content_index: 0, text: o.text });
      this.emit({ type: "response.content_part.done", ...at, content_index: 0, part: { type: "reasoning_text", text: o.text } });
    } else if (o.kind === "message") {
      item = messageItem(o.id, o.text);
      this.emit({ type: "response.output_text.done", ...at, content_index: 0, text: o.text, logprobs: [] });
      this.emit({ type: "response.content_part.done", ...at, content_index: 0, part: { type: "output_text", text: o.text, annotations: [] } });
    } else {
      item = callItem(o.id, o.callId, o.name, o.text);
      this.emit({ type: "response.function_call_arguments.done", ...at, name: o.name, arguments: o.text });
    }
    this.items.push(item);
    this.emit({ type: "response.output_item.done", output_index: o.index, item });
  }
}
