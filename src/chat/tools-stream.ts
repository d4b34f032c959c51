/**
 * Streaming tool-call parser: content deltas in, OpenAI-style events out. Text outside call blocks
 * streams at once (holding back only a possible partial `<tool_call>` and whitespace that may turn
 * out to touch a block); each call yields a header `{index, id, name}` and then argument fragments
 * whose concatenation is the call's arguments JSON text.
 *
 * For a call written in the canonical order (`{"name": ..., "arguments": {...}}`, what Qwen emits)
 * arguments stream as they are generated. Other key orders are buffered and emitted whole once the
 * block is complete. Events concatenate to exactly `parseToolCalls` of the whole text, with one
 * exception a stream cannot avoid: once a call's header went out it cannot be retracted, so a block
 * that turns malformed afterwards (cut off by max_tokens, bad JSON late in the arguments) stays a
 * call here, with the text after its JSON object passed on as content, while `parseToolCalls` would
 * keep the whole block as content.
 */
import {
  JsonExtentScanner,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
  canonicalHead,
  parseCallObject,
  randomCallId,
  skipJsonWs,
  type IdGenerator,
  type ToolCallParse,
} from "./tools.js";
import { partialTagSuffix } from "./reasoning.js";

/** One streaming event; `index` numbers the calls of this generation from 0. */
export type ToolStreamEvent =
  | { type: "content"; text: string }
  | { type: "toolCall"; index: number; id: string; name: string }
  | { type: "arguments"; index: number; text: string };

const MAX_HEAD_CHARS = 1024;

type Block = {
  buf: string; // text after "<tool_call>"
  wsBefore: string; // whitespace held back before the tag: content again if the block is malformed
  objStart: number;
  scanner?: JsonExtentScanner;
  objEnd: number;
  call?: { index: number; args: JsonExtentScanner; argsEmitted: number; argsEnd: number };
  contentEmitted?: number; // set once the block is known malformed: how much of buf went out as content
};

/**
 * @example
 * const s = new ToolCallStream(() => "call_1");
 * s.push('Sure.\n<tool_call>\n{"name": "f", "arguments": {"x"');
 * // [{type:"content",text:"Sure."}, {type:"toolCall",index:0,id:"call_1",name:"f"}, {type:"arguments",index:0,text:'{"x"'}]
 * s.push(": 1}}\n</tool_call>"); // [{type:"arguments",index:0,text:": 1}"}]
 * s.finish(); // []
 */
export class ToolCallStream {
  private pending = ""; // text state: held-back whitespace and partial "<tool_call>"
  private afterCall = false; // whitespace right after a call block is dropped
  private block: Block | undefined;
  private nextIndex = 0;
  private finished = false;

  constructor(private readonly newId: IdGenerator = randomCallId) {}

  /** Consume one content delta. */
  push(delta: string): ToolStreamEvent[] {
    if (this.finished) throw new Error("ToolCallStream.push after finish");
    return this.feed(delta, false);
  }

  /** End of generation: resolve whatever is held back. */
  finish(): ToolStreamEvent[] {
    if (this.finished) throw new Error("ToolCallStream.finish called twice");
    this.finished = true;
    return this.feed("", true);
  }

  private feed(delta: string, final: boolean): ToolStreamEvent[] {
    const ev: ToolStreamEvent[] = [];
    let input: string | undefined = delta;
    while (input !== undefined) {
      input = this.block === undefined ? this.feedText(input, ev, final) : this.feedBlock(this.block, input, ev, final);
    }
    return ev;
  }

  // Returns the text after a "<tool_call>" (now in block state), or undefined when all is consumed.
  private feedText(input: string, ev: ToolStreamEvent[], final: boolean): string | undefined {
    let text = this.pending + input;
    this.pending = "";
    if (this.afterCall) {
      text = text.replace(/^\s+/, "");
      if (text === "") return undefined;
      this.afterCall = false;
    }
    const open = text.indexOf(TOOL_CALL_OPEN);
    if (open >= 0) {
      const before = text.slice(0, open);
      const kept = before.replace(/\s+$/, "");
      emitContent(ev, kept);
      this.block = { buf: "", wsBefore: before.slice(kept.length), objStart: -1, objEnd: -1 };
      return text.slice(open + TOOL_CALL_OPEN.length);
    }
    if (final) {
      emitContent(ev, text);
      return undefined;
    }
    let keep = text.length - partialTagSuffix(text, TOOL_CALL_OPEN);
    while (keep > 0 && /\s/.test(text[keep - 1])) keep--;
    emitContent(ev, text.slice(0, keep));
    this.pending = text.slice(keep);
    return undefined;
  }

  // Returns the text after the block (back in text state), or undefined when more input is needed.
  private feedBlock(b: Block, input: string, ev: ToolStreamEvent[], final: boolean): string | undefined {
    b.buf += input;
    if (b.contentEmitted !== undefined) return this.malformed(b, ev, final);
    if (b.scanner === undefined) {
      const s = skipJsonWs(b.buf, 0);
      if (s === b.buf.length && !final) return undefined;
      if (b.buf[s] !== "{") return this.malformed(b, ev, final);
      b.objStart = s;
      b.scanner = new JsonExtentScanner(s);
    }
    if (b.objEnd < 0) b.objEnd = b.scanner.advance(b.buf);
    // The head is short; past this much text the call is not canonical and is parsed once complete.
    if (b.call === undefined && b.objEnd < 0 && b.buf.length - b.objStart <= MAX_HEAD_CHARS) this.tryCanonicalHead(b, ev);
    if (b.call !== undefined) this.streamArguments(b, b.call, ev);
    if (b.objEnd < 0) {
      if (!final) return undefined;
      return b.call === undefined ? this.malformed(b, ev, final) : this.close(b, b.buf.length);
    }
    const k = skipJsonWs(b.buf, b.objEnd);
    if (b.buf.startsWith(TOOL_CALL_CLOSE, k)) return this.complete(b, ev, final, k + TOOL_CALL_CLOSE.length);
    if (k === b.buf.length) return final ? this.complete(b, ev, final, k) : undefined;
    if (!final && TOOL_CALL_CLOSE.startsWith(b.buf.slice(k))) return undefined;
    if (b.call === undefined) return this.malformed(b, ev, final);
    // A streamed call followed by something other than "</tool_call>": keep the call, pass the rest on.
    this.block = undefined;
    return b.buf.slice(b.objEnd);
  }

  private tryCanonicalHead(b: Block, ev: ToolStreamEvent[]): void {
    const head = canonicalHead(b.buf.slice(b.objStart));
    if (head === undefined) return;
    const argsStart = b.objStart + head.argsStart;
    const index = this.nextIndex++;
    ev.push({ type: "toolCall", index, id: this.newId(), name: head.name });
    b.call = { index, args: new JsonExtentScanner(argsStart), argsEmitted: argsStart, argsEnd: -1 };
  }

  private streamArguments(b: Block, call: NonNullable<Block["call"]>, ev: ToolStreamEvent[]): void {
    if (call.argsEnd < 0) call.argsEnd = call.args.advance(b.buf);
    const upto = call.argsEnd < 0 ? call.args.pos : call.argsEnd;
    if (upto > call.argsEmitted) {
      ev.push({ type: "arguments", index: call.index, text: b.buf.slice(call.argsEmitted, upto) });
      call.argsEmitted = upto;
    }
  }

  private complete(b: Block, ev: ToolStreamEvent[], final: boolean, end: number): string | undefined {
    if (b.call === undefined) {
      const call = parseCallObject(b.buf.slice(b.objStart, b.objEnd));
      if (call === undefined) return this.malformed(b, ev, final);
      const index = this.nextIndex++;
      ev.push({ type: "toolCall", index, id: this.newId(), name: call.name });
      ev.push({ type: "arguments", index, text: call.arguments });
    }
    return this.close(b, end);
  }

  private close(b: Block, end: number): string {
    const rest = b.buf.slice(end);
    this.block = undefined;
    this.afterCall = true;
    return rest;
  }

  // A malformed block is content through the first "</tool_call>" after its tag (or to the end).
  private malformed(b: Block, ev: ToolStreamEvent[], final: boolean): string | undefined {
    if (b.contentEmitted === undefined) {
      emitContent(ev, b.wsBefore + TOOL_CALL_OPEN);
      b.contentEmitted = 0;
    }
    const r = emitMalformed(b.buf, b.contentEmitted, final, ev);
    b.contentEmitted = r.emitted;
    if (r.ended) this.block = undefined;
    return r.rest;
  }
}

/**
 * Append `text` to the events as content (joined with a content event just before it).
 *
 * @example
 * const ev: ToolStreamEvent[] = [];
 * emitContent(ev, "a"); emitContent(ev, "b"); // ev = [{ type: "content", text: "ab" }]
 */
export function emitContent(ev: ToolStreamEvent[], text: string): void {
  if (text === "") return;
  const last = ev[ev.length - 1];
  if (last !== undefined && last.type === "content") last.text += text;
  else ev.push({ type: "content", text });
}

/**
 * A tool-call block known not to be a call (either format) is content through its first
 * `</tool_call>`, or to the end of the generation. Emits `buf` from `emitted` as far as is certain
 * (holding back a possible partial close tag) and says whether the block ended, how much of `buf`
 * went out, and the text after the close tag (undefined while the block is open or at the end).
 *
 * @example
 * emitMalformed("<x>oops</tool_call> after", 0, false, ev); // { ended: true, emitted: 19, rest: " after" }
 */
export function emitMalformed(buf: string, emitted: number, final: boolean, ev: ToolStreamEvent[]): { ended: boolean; emitted: number; rest: string | undefined } {
  const close = buf.indexOf(TOOL_CALL_CLOSE, emitted);
  if (close >= 0 || final) {
    const end = close >= 0 ? close + TOOL_CALL_CLOSE.length : buf.length;
    emitContent(ev, buf.slice(emitted, end));
    return { ended: true, emitted: end, rest: close >= 0 ? buf.slice(end) : undefined };
  }
  const keep = buf.length - partialTagSuffix(buf, TOOL_CALL_CLOSE);
  emitContent(ev, buf.slice(emitted, keep));
  return { ended: false, emitted: Math.max(emitted, keep), rest: undefined };
}

/**
 * Fold streaming events into the final content and calls (what a non-streaming response returns).
 *
 * @example
 * collectToolEvents([{ type: "content", text: "Hi" }]); // { content: "Hi", toolCalls: [] }
 */
export function collectToolEvents(events: Iterable<ToolStreamEvent>): ToolCallParse {
  let content = "";
  const toolCalls: ToolCallParse["toolCalls"] = [];
  for (const e of events) {
    if (e.type === "content") content += e.text;
    else if (e.type === "toolCall") toolCalls[e.index] = { id: e.id, name: e.name, arguments: "" };
    else {
      const call = toolCalls[e.index];
      if (call === undefined) throw new Error(`arguments for tool call ${e.index} before its header`);
      call.arguments += e.text;
    }
  }
  return { content, toolCalls };
}
