/**
 * Hermes-style tool calls as Qwen models write them:
 * `<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lahore"}}\n</tool_call>`, one block per
 * call (several blocks = parallel calls). Run it on the *content* stream (after the reasoning parser),
 * so calls a model only thinks about are not executed.
 *
 * `arguments` is returned as the model's own JSON text (e.g. `{"city": "Lahore"}` with its spacing),
 * which is valid JSON for clients and, sent back in the next request, re-renders to the same tokens.
 * A block whose JSON is malformed stays in the content, tags and all. Whitespace directly around a
 * call block is dropped from the content (the template adds a "\n" there when it renders calls).
 */
import { randomBytes } from "node:crypto";

/** Opening and closing tags of a call block. */
export const TOOL_CALL_OPEN = "<tool_call>";
export const TOOL_CALL_CLOSE = "</tool_call>";

/** One parsed call, OpenAI-shaped. */
export type ToolCall = { id: string; name: string; arguments: string };

/** Content with the call blocks taken out, and the calls in order. */
export type ToolCallParse = { content: string; toolCalls: ToolCall[] };

/** Makes call ids; pass a deterministic one in tests. */
export type IdGenerator = () => string;

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Default id generator: `call_` + 24 random alphanumerics. */
export const randomCallId: IdGenerator = () =>
  `call_${Array.from(randomBytes(24), (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join("")}`;

const JSON_WS = /[ \t\n\r]/;
// The canonical prefix `{"name": "<name>", "arguments": ` up to the first character of the arguments.
const CANONICAL_HEAD = /^\{[ \t\n\r]*"name"[ \t\n\r]*:[ \t\n\r]*("(?:[^"\\]|\\.)*")[ \t\n\r]*,[ \t\n\r]*"arguments"[ \t\n\r]*:[ \t\n\r]*(?=[^ \t\n\r])/;

/** Skip JSON whitespace from `i`. */
export function skipJsonWs(s: string, i: number): number {
  while (i < s.length && JSON_WS.test(s[i])) i++;
  return i;
}

/**
 * Finds where a JSON object (or array) that starts at `start` ends, string- and escape-aware, and can
 * resume as more text arrives. Only structure is checked here; JSON.parse validates the values.
 */
export class JsonExtentScanner {
  /** Next index of the text to look at. */
  pos: number;
  private depth = 0;
  private inString = false;
  private escape = false;

  constructor(start: number) {
    this.pos = start;
  }

  /** Scan `text` from where the last call stopped; returns the index just past the end, or -1. */
  advance(text: string): number {
    for (; this.pos < text.length; this.pos++) {
      const c = text[this.pos];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === "\\") this.escape = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') {
        this.inString = true;
      } else if (c === "{" || c === "[") {
        this.depth++;
      } else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) return ++this.pos;
      }
    }
    return -1;
  }
}

/** The canonical head of a call object: the decoded name and where the arguments object starts. */
export function canonicalHead(objText: string): { name: string; argsStart: number } | undefined {
  const m = CANONICAL_HEAD.exec(objText);
  if (m === null || objText[m[0].length] !== "{") return undefined;
  try {
    const name: unknown = JSON.parse(m[1]);
    return typeof name === "string" && name !== "" ? { name, argsStart: m[0].length } : undefined;
  } catch {
    return undefined;
  }
}

/** Validate one call object's JSON text; returns name and arguments text, or undefined if malformed. */
export function parseCallObject(objText: string): { name: string; arguments: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(objText);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const name: unknown = Reflect.get(value, "name");
  const args: unknown = Reflect.get(value, "arguments");
  if (typeof name !== "string" || name === "") return undefined;
  if (typeof args !== "object" || args === null || Array.isArray(args)) return undefined;
  const head = canonicalHead(objText);
  if (head !== undefined) {
    const end = new JsonExtentScanner(head.argsStart).advance(objText);
    if (end > 0) return { name, arguments: objText.slice(head.argsStart, end) };
  }
  // Keys in another order: no single raw slice to keep, so serialize the parsed arguments.
  return { name, arguments: JSON.stringify(args) };
}

/**
 * Where a block starting right after `<tool_call>` (at `from`) ends, and its call if well formed.
 * `end` is just past `</tool_call>` (or the end of text for an unterminated final block).
 */
export function parseBlock(text: string, from: number): { end: number; call?: { name: string; arguments: string } } {
  const malformed = (): { end: number } => {
    const close = text.indexOf(TOOL_CALL_CLOSE, from);
    return { end: close < 0 ? text.length : close + TOOL_CALL_CLOSE.length };
  };
  const start = skipJsonWs(text, from);
  if (text[start] !== "{") return malformed();
  const objEnd = new JsonExtentScanner(start).advance(text);
  if (objEnd < 0) return malformed();
  const k = skipJsonWs(text, objEnd);
  let end: number;
  if (text.startsWith(TOOL_CALL_CLOSE, k)) end = k + TOOL_CALL_CLOSE.length;
  else if (k === text.length) end = k;
  else return malformed();
  const call = parseCallObject(text.slice(start, objEnd));
  return call === undefined ? malformed() : { end, call };
}

/**
 * Take the tool calls out of a complete generation's content.
 *
 * @example
 * parseToolCalls('Checking.\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>', () => "call_1");
 * // { content: "Checking.", toolCalls: [{ id: "call_1", name: "f", arguments: '{"x": 1}' }] }
 */
export function parseToolCalls(text: string, newId: IdGenerator = randomCallId): ToolCallParse {
  const pieces: Array<string | ToolCall> = [];
  let pos = 0;
  let text0 = "";
  for (;;) {
    const open = text.indexOf(TOOL_CALL_OPEN, pos);
    if (open < 0) break;
    const block = parseBlock(text, open + TOOL_CALL_OPEN.length);
    if (block.call === undefined) {
      text0 += text.slice(pos, block.end); // malformed: the block stays as text
    } else {
      pieces.push(text0 + text.slice(pos, open), { id: newId(), ...block.call });
      text0 = "";
    }
    pos = block.end;
  }
  pieces.push(text0 + text.slice(pos));
  const toolCalls: ToolCall[] = [];
  let content = "";
  pieces.forEach((p, i) => {
    if (typeof p !== "string") {
      toolCalls.push(p);
      return;
    }
    let s = p;
    if (i > 0) s = s.replace(/^\s+/, ""); // follows a call
    if (i < pieces.length - 1) s = s.replace(/\s+$/, ""); // precedes a call
    content += s;
  });
  return { content, toolCalls };
}
