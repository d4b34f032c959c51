/**
 * What a chat turn's output means: the text split into reasoning and content (chat/reasoning.ts)
 * and, where tools are in play, tool calls taken out of the content — Hermes JSON blocks
 * (chat/tools*.ts) or, for templates that render XML calls (Qwen3.5), XML blocks (chat/tools-xml.ts)
 * — both streaming (parts per step) and at once (the whole answer).
 */
import { parseReasoning, ReasoningStream } from "../chat/reasoning.js";
import { ToolCallStream, type ToolStreamEvent } from "../chat/tools-stream.js";
import { canonicalHead, parseToolCalls, randomCallId, TOOL_CALL_OPEN, type ToolCall } from "../chat/tools.js";
import { parseXmlToolCalls, XmlToolCallStream, type ToolCallFormat, type ToolParamTypes } from "../chat/tools-xml.js";

/** One parsed piece of output, in order: reasoning text, content text, or a tool-call event. */
export type TurnPart = { readonly type: "reasoning"; readonly text: string } | ToolStreamEvent;

/** How to read a turn's output. */
export interface OutputShape {
  /** The output starts inside a thought: split reasoning off. */
  readonly thinking: boolean;
  /** Look for tool calls in the content. */
  readonly tools: boolean;
  /**
   * A grammar forces the answer to be tool calls: nothing in it is content, and a call cut off by
   * the token limit is reported as a (partial) call, never as raw `<tool_call>` text.
   */
  readonly forcedToolCall?: boolean;
  /** How the calls are written (default "hermes"). */
  readonly toolFormat?: ToolCallFormat;
  /** XML calls: the tools' declared parameter types (values are text until typed). */
  readonly toolTypes?: ToolParamTypes;
}

/** A finished answer: reasoning, content without call blocks, and the calls. */
export interface TurnMessage {
  readonly reasoning: string;
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
}

/**
 * Parse a complete output.
 *
 * @example
 * parseTurnOutput("<think>\nHm.\n</think>\n\nHi", { thinking: true, tools: false });
 * // { reasoning: "Hm.", content: "Hi", toolCalls: [] }
 */
export function parseTurnOutput(text: string, shape: OutputShape): TurnMessage {
  const split = shape.thinking ? parseReasoning(text, { thinkingEnabled: true }) : { reasoning: "", content: text };
  if (!shape.tools) return { ...split, toolCalls: [] };
  const calls = shape.toolFormat === "xml" ? parseXmlToolCalls(split.content, shape.toolTypes) : parseToolCalls(split.content);
  if (shape.forcedToolCall !== true) return { reasoning: split.reasoning, content: calls.content, toolCalls: calls.toolCalls };
  // What is left as content is an unfinished call block: keep its name and arguments so far, if written
  // (JSON calls; an unfinished XML call has no arguments to report until its parameters close).
  const toolCalls = [...calls.toolCalls];
  const open = shape.toolFormat === "xml" ? -1 : calls.content.lastIndexOf(TOOL_CALL_OPEN);
  if (open >= 0) {
    const block = calls.content.slice(open + TOOL_CALL_OPEN.length).replace(/^\s+/, "");
    const head = canonicalHead(block);
    if (head !== undefined) toolCalls.push({ id: randomCallId(), name: head.name, arguments: block.slice(head.argsStart) });
  }
  return { reasoning: split.reasoning, content: "", toolCalls };
}

/**
 * Streaming parser of a turn's output: `push` each step's text, `finish` once at the end. The parts
 * of reasoning concatenate to `parseTurnOutput`'s reasoning; content and call events to its content
 * and calls (chat/tools-stream.ts names the one case a stream cannot match).
 *
 * @example
 * const out = new TurnOutput({ thinking: true, tools: false });
 * out.push("<think>\nok</think>\n\nHi"); // [{ type: "reasoning", text: "ok" }, { type: "content", text: "Hi" }]
 */
export class TurnOutput {
  private readonly reasoning: ReasoningStream | undefined;
  private readonly tools: ToolCallStream | XmlToolCallStream | undefined;
  private readonly forced: boolean;

  constructor(shape: OutputShape) {
    this.reasoning = shape.thinking ? new ReasoningStream({ thinkingEnabled: true }) : undefined;
    this.tools = !shape.tools ? undefined : shape.toolFormat === "xml" ? new XmlToolCallStream(shape.toolTypes) : new ToolCallStream();
    this.forced = shape.tools && shape.forcedToolCall === true;
  }

  /** Parts released by one step's text. */
  push(text: string): TurnPart[] {
    if (text === "") return [];
    return this.parts(this.reasoning?.push(text) ?? { reasoning: "", content: text });
  }

  /** Parts held back until the end (partial tags, trailing whitespace, an open call block). */
  finish(): TurnPart[] {
    const out = this.parts(this.reasoning?.finish() ?? { reasoning: "", content: "" });
    if (this.tools !== undefined) out.push(...this.tools.finish().filter((p) => !this.forced || p.type !== "content"));
    return out;
  }

  private parts(split: { reasoning: string; content: string }): TurnPart[] {
    const out: TurnPart[] = [];
    if (split.reasoning !== "") out.push({ type: "reasoning", text: split.reasoning });
    if (split.content !== "") {
      if (this.tools === undefined) out.push({ type: "content", text: split.content });
      else out.push(...this.tools.push(split.content).filter((p) => !this.forced || p.type !== "content"));
    }
    return out;
  }
}
