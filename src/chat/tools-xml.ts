/**
 * XML tool calls as the Qwen3.5 (and Qwen3-Coder) chat templates render them and the models write
 * them:
 *
 *   <tool_call>
 *   <function=get_weather>
 *   <parameter=city>
 *   Lahore
 *   </parameter>
 *   </function>
 *   </tool_call>
 *
 * Parameter values are text: one newline after `<parameter=K>` and one before `</parameter>` belong
 * to the markup. They become JSON by the tool's declared parameter types, as vLLM's `qwen3_coder`
 * parser does: strings stay strings, `integer` / `number` / `boolean` / `object` / `array` parse
 * (falling back to the string), `null` is null; a parameter the tool does not declare stays a string.
 * The arguments JSON is written `{"k": v, "k2": v2}`.
 *
 * Streaming: the call's header goes out at `<function=NAME>`, its arguments one parameter at a time
 * (`{"k": v`, `, "k2": v2`, `}`), so the fragments concatenate to the arguments JSON; text outside
 * blocks streams at once, holding back only a possible partial `<tool_call>` and whitespace that may
 * touch a block (dropped around calls, as with Hermes calls). A block that does not start with
 * `<function=NAME>` stays content through its `</tool_call>`. `parseXmlToolCalls` is the same
 * machine run on the whole text, so both agree by construction.
 */
import { partialTagSuffix } from "./reasoning.js";
import { collectToolEvents, emitContent, emitMalformed, type ToolStreamEvent } from "./tools-stream.js";
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN, randomCallId, type IdGenerator, type ToolCallParse } from "./tools.js";

/** Declared JSON types of each tool's parameters: tool name → parameter → types (`["string", "null"]`). */
export type ToolParamTypes = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The parameter types of OpenAI-style tool definitions (`{type: "function", function: {name,
 * parameters: {properties: {k: {type}}}}}`); tools without a schema declare none.
 *
 * @example
 * toolParamTypes([{ type: "function", function: { name: "f", parameters: { properties: { n: { type: "integer" } } } } }]);
 * // Map { "f" => Map { "n" => ["integer"] } }
 */
export function toolParamTypes(tools: readonly unknown[] | undefined): ToolParamTypes {
  const out = new Map<string, Map<string, string[]>>();
  for (const t of tools ?? []) {
    const fn = isRecord(t) ? t.function : undefined;
    if (!isRecord(fn) || typeof fn.name !== "string") continue;
    const params = new Map<string, string[]>();
    const props = isRecord(fn.parameters) ? fn.parameters.properties : undefined;
    if (isRecord(props)) {
      for (const [k, schema] of Object.entries(props)) {
        const ty = isRecord(schema) ? schema.type : undefined;
        params.set(k, (Array.isArray(ty) ? ty : [ty]).filter((x): x is string => typeof x === "string"));
      }
    }
    out.set(fn.name, params);
  }
  return out;
}

/** A parameter's text value as JSON, by its declared types. */
function paramValue(text: string, types: readonly string[] | undefined): unknown {
  if (text.toLowerCase() === "null") return null;
  const declared = (types ?? []).filter((t) => t !== "null");
  if (declared.length === 0 || declared.some((t) => t === "string")) return text;
  for (const t of declared) {
    if ((t === "integer" || t === "int") && /^-?\d+$/.test(text.trim())) return Number.parseInt(text, 10);
    if ((t === "number" || t === "float") && text.trim() !== "" && Number.isFinite(Number(text))) return Number(text);
    if (t === "boolean" && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === "true";
    if (t === "object" || t === "array") {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // fall through: keep the text
      }
    }
  }
  return text;
}

const FUNCTION_OPEN = /^\s*<function=([^>\n]+)>/;
const PARAM_OPEN = /^\s*<parameter=([^>\n]+)>/;
const FUNCTION_CLOSE = /^\s*<\/function>/;
const PARAM_CLOSE = "</parameter>";

type Block =
  | { phase: "head"; buf: string; wsBefore: string } // after <tool_call>, before <function=NAME>
  | { phase: "params"; buf: string; index: number; name: string; count: number } // inside <function=…>
  | { phase: "tail"; buf: string } // after </function>, before </tool_call>
  | { phase: "malformed"; buf: string; emitted: number };

/**
 * Streaming XML tool-call parser with `ToolCallStream`'s interface (`push` deltas, `finish` once).
 *
 * @example
 * const s = new XmlToolCallStream(toolParamTypes(tools), () => "call_1");
 * s.push("<tool_call>\n<function=f>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>");
 * // [{type:"toolCall",index:0,id:"call_1",name:"f"}, {type:"arguments",index:0,text:'{"x": 1'}, {type:"arguments",index:0,text:"}"}]
 */
export class XmlToolCallStream {
  private pending = "";
  private afterCall = false;
  private block: Block | undefined;
  private nextIndex = 0;
  private finished = false;

  constructor(
    private readonly types: ToolParamTypes = new Map(),
    private readonly newId: IdGenerator = randomCallId,
  ) {}

  push(delta: string): ToolStreamEvent[] {
    if (this.finished) throw new Error("XmlToolCallStream.push after finish");
    return this.feed(delta, false);
  }

  finish(): ToolStreamEvent[] {
    if (this.finished) throw new Error("XmlToolCallStream.finish called twice");
    this.finished = true;
    return this.feed("", true);
  }

  private feed(delta: string, final: boolean): ToolStreamEvent[] {
    const ev: ToolStreamEvent[] = [];
    let input: string | undefined = delta;
    while (input !== undefined) input = this.block === undefined ? this.text(input, ev, final) : this.inBlock(this.block, input, ev, final);
    return ev;
  }

  private text(input: string, ev: ToolStreamEvent[], final: boolean): string | undefined {
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
      this.block = { phase: "head", buf: "", wsBefore: before.slice(kept.length) };
      return text.slice(open + TOOL_CALL_OPEN.length);
    }
    if (final) {
      emitContent(ev, text);
      return undefined;
    }
    let keep = text.length - partialTagSuffix(text, TOOL_CALL_OPEN);
    while (keep > 0 && /\s/.test(text[keep - 1]!)) keep--;
    emitContent(ev, text.slice(0, keep));
    this.pending = text.slice(keep);
    return undefined;
  }

  private inBlock(b: Block, input: string, ev: ToolStreamEvent[], final: boolean): string | undefined {
    b.buf += input;
    for (;;) {
      const cur: Block = this.block!;
      if (cur.phase === "malformed") return this.malformed(cur, ev, final);
      if (cur.phase === "head") {
        const m = FUNCTION_OPEN.exec(cur.buf);
        if (m === null) {
          // Still possibly "<function=…" (whitespace, a partial tag): wait; anything else is not a call.
          const t = cur.buf.replace(/^\s+/, "");
          if (!final && ("<function=".startsWith(t) || (t.startsWith("<function=") && !/[>\n]/.test(t)))) return undefined;
          emitContent(ev, cur.wsBefore + TOOL_CALL_OPEN);
          this.block = { phase: "malformed", buf: cur.buf, emitted: 0 };
          continue;
        }
        const index = this.nextIndex++;
        const name = m[1]!.trim();
        ev.push({ type: "toolCall", index, id: this.newId(), name });
        this.block = { phase: "params", buf: cur.buf.slice(m[0].length), index, name, count: 0 };
        continue;
      }
      if (cur.phase === "params") {
        const p = PARAM_OPEN.exec(cur.buf);
        if (p !== null) {
          const valueStart = p[0].length;
          const close = cur.buf.indexOf(PARAM_CLOSE, valueStart);
          if (close < 0) {
            if (!final) return undefined;
            // Cut off inside a value: take what there is.
            this.param(cur, p[1]!, cur.buf.slice(valueStart), ev);
            return this.closeCall(cur, ev, "", final);
          }
          this.param(cur, p[1]!, cur.buf.slice(valueStart, close), ev);
          cur.buf = cur.buf.slice(close + PARAM_CLOSE.length);
          continue;
        }
        const f = FUNCTION_CLOSE.exec(cur.buf);
        if (f !== null) {
          ev.push({ type: "arguments", index: cur.index, text: cur.count === 0 ? "{}" : "}" });
          this.block = { phase: "tail", buf: cur.buf.slice(f[0].length) };
          continue;
        }
        const t = cur.buf.replace(/^\s+/, "");
        if (!final && ("<parameter=".startsWith(t) || "</function>".startsWith(t) || (t.startsWith("<parameter=") && !/[>\n]/.test(t)))) return undefined;
        // Something else inside the function (or the end): the call ends here; the rest is content.
        return this.closeCall(cur, ev, cur.buf, final);
      }
      // tail: expect </tool_call>
      const t = cur.buf.replace(/^\s+/, "");
      if (t.startsWith(TOOL_CALL_CLOSE)) return this.done(t.slice(TOOL_CALL_CLOSE.length));
      if (!final && TOOL_CALL_CLOSE.startsWith(t)) return undefined;
      return this.done(cur.buf, false);
    }
  }

  /** One complete parameter: its JSON member as an arguments fragment. */
  private param(b: Extract<Block, { phase: "params" }>, rawName: string, raw: string, ev: ToolStreamEvent[]): void {
    const name = rawName.trim();
    const text = raw.replace(/^\n/, "").replace(/\n$/, "");
    const value = paramValue(text, this.types.get(b.name)?.get(name));
    ev.push({ type: "arguments", index: b.index, text: `${b.count === 0 ? "{" : ", "}${JSON.stringify(name)}: ${JSON.stringify(value)}` });
    b.count++;
  }

  /** A call that ends without `</function>` (cut off, or other text inside): close its arguments. */
  private closeCall(b: Extract<Block, { phase: "params" }>, ev: ToolStreamEvent[], rest: string, final: boolean): string | undefined {
    ev.push({ type: "arguments", index: b.index, text: b.count === 0 ? "{}" : "}" });
    this.block = undefined;
    if (final) {
      emitContent(ev, rest.replace(/^\s*<\/tool_call>/, "").replace(/^\s+/, ""));
      return undefined;
    }
    return rest;
  }

  private done(rest: string, afterCall = true): string {
    this.block = undefined;
    this.afterCall = afterCall;
    return rest;
  }

  // A block that is not a call is content through its first "</tool_call>" (or to the end).
  private malformed(b: Extract<Block, { phase: "malformed" }>, ev: ToolStreamEvent[], final: boolean): string | undefined {
    const r = emitMalformed(b.buf, b.emitted, final, ev);
    b.emitted = r.emitted;
    if (r.ended) this.block = undefined;
    return r.rest;
  }
}

/**
 * Take the XML tool calls out of a complete generation's content.
 *
 * @example
 * parseXmlToolCalls("Checking.\n<tool_call>\n<function=f>\n<parameter=x>\nhi\n</parameter>\n</function>\n</tool_call>", new Map(), () => "call_1");
 * // { content: "Checking.", toolCalls: [{ id: "call_1", name: "f", arguments: '{"x": "hi"}' }] }
 */
export function parseXmlToolCalls(text: string, types: ToolParamTypes = new Map(), newId: IdGenerator = randomCallId): ToolCallParse {
  const s = new XmlToolCallStream(types, newId);
  return collectToolEvents([...s.push(text), ...s.finish()]);
}

/** How a model writes tool calls: Hermes JSON blocks (Qwen2.5 / Qwen3) or XML blocks (Qwen3.5). */
export type ToolCallFormat = "hermes" | "xml";

/**
 * The format a chat template renders tool calls in, hence the one its model writes: XML when the
 * template writes `<function=NAME>` blocks, Hermes JSON otherwise.
 *
 * @example
 * toolCallFormatOf(loadChatTemplate("models/Qwen3.5-9B")); // "xml"
 */
export function toolCallFormatOf(template: { mentions(text: string): boolean }): ToolCallFormat {
  return template.mentions("<function=") ? "xml" : "hermes";
}
