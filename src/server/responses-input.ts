/**
 * `/v1/responses` input: the request body validated (zod, errors naming the path, e.g.
 * `input[2].type`), input items normalized (ids given, content as text) and a conversation of items
 * turned into the chat messages the template renders.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { formatPath, parseChatRequest, type ChatRequest } from "../chat/messages.js";
import { ApiError } from "./errors.js";
import { parseOrThrow } from "./params.js";

/** A conversation item as stored and returned by `input_items` (OpenAI's shapes). */
export type Item =
  | { type: "message"; id: string; role: "user" | "assistant" | "system" | "developer"; content: ContentPart[]; status: "completed" }
  | { type: "function_call"; id: string; call_id: string; name: string; arguments: string; status: "completed" }
  | { type: "function_call_output"; id: string; call_id: string; output: string; status: "completed" }
  | { type: "reasoning"; id: string; summary: { type: "summary_text"; text: string }[]; content: { type: "reasoning_text"; text: string }[] };

/** A text part of a message item. */
export type ContentPart = { type: "input_text" | "output_text"; text: string; annotations?: unknown[] };

/** A fresh id with OpenAI's prefixes (`resp_`, `msg_`, `fc_`, `rs_`, `call_`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString("hex")}`;
}

const text = z.string({ error: "must be a string" });
const part = z.looseObject({
  type: z.enum(["input_text", "output_text", "text"], { error: (i) => `must be "input_text" or "output_text", got ${JSON.stringify(i.input)}` }),
  text,
});
const messageItem = z.looseObject({
  type: z.literal("message").optional(),
  id: text.optional(),
  role: z.enum(["user", "assistant", "system", "developer"], { error: (i) => `must be "user", "assistant", "system" or "developer", got ${JSON.stringify(i.input)}` }),
  content: z.union([text, z.array(part, { error: "must be an array of content parts" })], { error: "must be a string or an array of content parts" }),
});
const functionCallItem = z.looseObject({
  type: z.literal("function_call"),
  id: text.optional(),
  call_id: text,
  name: text,
  arguments: text,
});
const functionCallOutputItem = z.looseObject({
  type: z.literal("function_call_output"),
  id: text.optional(),
  call_id: text,
  output: z.union([text, z.array(part)], { error: "must be a string or an array of text parts" }),
});
const reasoningItem = z.looseObject({
  type: z.literal("reasoning"),
  id: text.optional(),
  summary: z.array(z.looseObject({ text }), { error: "must be an array" }).optional(),
  content: z.array(z.looseObject({ text }), { error: "must be an array" }).nullable().optional(),
});

const ITEM_TYPES = ["message", "function_call", "function_call_output", "reasoning"] as const;

const functionTool = z.looseObject({
  type: z.literal("function", { error: 'only "function" tools are supported' }),
  name: text,
  description: text.nullable().optional(),
  parameters: z.record(z.string(), z.unknown(), { error: "must be a JSON Schema object" }).nullable().optional(),
  strict: z.boolean({ error: "must be a boolean" }).nullable().optional(),
});

const format = z.union(
  [
    z.looseObject({ type: z.literal("text") }),
    z.looseObject({ type: z.literal("json_object") }),
    z.looseObject({ type: z.literal("json_schema"), name: text.optional(), schema: z.record(z.string(), z.unknown(), { error: "must be a JSON Schema object" }), strict: z.boolean().nullable().optional() }),
  ],
  { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "name", "schema"}' },
);

const num = z.number({ error: "must be a number" }).nullable().optional();

/** The fields of a `/v1/responses` body this server reads (unknown ones pass: clients send many). */
export const responsesRequestSchema = z.looseObject({
  model: text.optional(),
  input: z.union([text, z.array(z.unknown())], { error: "must be a string or an array of items" }),
  instructions: text.nullable().optional(),
  previous_response_id: text.nullable().optional(),
  store: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  stream: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  tools: z.array(functionTool, { error: "must be an array of tools" }).nullable().optional(),
  tool_choice: z
    .union([z.enum(["none", "auto", "required"]), z.looseObject({ type: z.literal("function"), name: text })], {
      error: 'must be "none", "auto", "required" or {"type": "function", "name": ...}',
    })
    .nullable()
    .optional(),
  parallel_tool_calls: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  reasoning: z
    .looseObject({ effort: z.enum(["none", "minimal", "low", "medium", "high", "xhigh"], { error: "must be none, minimal, low, medium, high or xhigh" }).nullable().optional() })
    .nullable()
    .optional(),
  text: z.looseObject({ format: format.optional() }).nullable().optional(),
  max_output_tokens: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  temperature: num,
  top_p: num,
  // Extensions, as on /v1/chat/completions.
  top_k: z.int({ error: "must be an integer" }).nullable().optional(),
  min_p: num,
  presence_penalty: num,
  frequency_penalty: num,
  repetition_penalty: num,
  seed: z.int({ error: "must be an integer" }).nullable().optional(),
  thinking_budget: z.int({ error: "must be an integer" }).min(0, { error: "must be >= 0" }).nullable().optional(),
  metadata: z.record(z.string(), z.string(), { error: "must map strings to strings" }).nullable().optional(),
});

/** A validated `/v1/responses` body. */
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** Validate a body; the first issue becomes a 400 naming its path. */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  return parseOrThrow(responsesRequestSchema, body);
}

function bad(param: string, message: string): ApiError {
  return new ApiError(400, `${param}: ${message}`, "invalid_request_error", param, "invalid_value");
}

function joined(content: string | readonly { text: string }[]): string {
  return typeof content === "string" ? content : content.map((p) => p.text).join("\n");
}

/** Validate one input item (at `input[i]`) and normalize it: an id, text parts, a known type. */
function parseItem(raw: unknown, i: number): Item {
  const where = `input[${i}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(where, "must be an object (an input item)");
  const rec = raw as Record<string, unknown>;
  const type = rec.type ?? ("role" in rec ? "message" : undefined);
  const parse = <T extends z.ZodType>(schema: T): z.infer<T> => {
    const r = schema.safeParse(raw);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    const path = issue === undefined || issue.path.length === 0 ? where : `${where}.${formatPath(issue.path)}`.replace(/\.\[/g, "[");
    throw bad(path, issue?.message ?? "invalid item");
  };
  switch (type) {
    case "message": {
      const m = parse(messageItem);
      const role = m.role;
      const partType = role === "assistant" ? "output_text" : "input_text";
      const parts: ContentPart[] =
        typeof m.content === "string" ? [{ type: partType, text: m.content }] : m.content.map((p) => ({ type: p.type === "output_text" ? "output_text" : partType, text: p.text }));
      return { type: "message", id: m.id ?? newId("msg"), role, content: parts, status: "completed" };
    }
    case "function_call": {
      const c = parse(functionCallItem);
      return { type: "function_call", id: c.id ?? newId("fc"), call_id: c.call_id, name: c.name, arguments: c.arguments, status: "completed" };
    }
    case "function_call_output": {
      const o = parse(functionCallOutputItem);
      return { type: "function_call_output", id: o.id ?? newId("fco"), call_id: o.call_id, output: joined(o.output), status: "completed" };
    }
    case "reasoning": {
      const r = parse(reasoningItem);
      return {
        type: "reasoning",
        id: r.id ?? newId("rs"),
        summary: (r.summary ?? []).map((s) => ({ type: "summary_text", text: s.text })),
        content: (r.content ?? []).map((c) => ({ type: "reasoning_text", text: c.text })),
      };
    }
    default:
      throw bad(`${where}.type`, `must be one of ${ITEM_TYPES.map((t) => JSON.stringify(t)).join(", ")}, got ${JSON.stringify(type)}`);
  }
}

/** The request's `input` as items (a string is one user message). */
export function inputItems(input: ResponsesRequest["input"]): Item[] {
  if (typeof input === "string") return [{ type: "message", id: newId("msg"), role: "user", content: [{ type: "input_text", text: input }], status: "completed" }];
  return input.map(parseItem);
}

type Message = Record<string, unknown> & { role: string; content: string };

/**
 * A conversation of items as chat messages: `instructions` first as the system message, function
 * calls joined onto the assistant turn they belong to, their outputs as tool messages, a reasoning
 * item carried onto the next assistant turn's `reasoning_content`.
 */
export function itemsToMessages(items: readonly Item[], instructions: string | undefined): Message[] {
  const out: Message[] = [];
  if (instructions !== undefined && instructions !== "") out.push({ role: "system", content: instructions });
  let reasoning: string | undefined;
  // The assistant turn still open for more calls (none once a user, system or tool message follows).
  let open: Message | undefined;
  const assistant = (content: string): Message => {
    const m: Message = { role: "assistant", content };
    if (reasoning !== undefined) m.reasoning_content = reasoning;
    reasoning = undefined;
    out.push(m);
    return m;
  };
  for (const it of items) {
    switch (it.type) {
      case "message": {
        const content = joined(it.content);
        if (it.role === "assistant") open = assistant(content);
        else {
          out.push({ role: it.role === "developer" ? "system" : it.role, content });
          open = undefined;
        }
        break;
      }
      case "reasoning":
        reasoning = [...it.content, ...it.summary].map((c) => c.text).join("\n");
        open = undefined;
        break;
      case "function_call": {
        const m = open ?? assistant("");
        const calls = Array.isArray(m.tool_calls) ? (m.tool_calls as unknown[]) : [];
        m.tool_calls = [...calls, { id: it.call_id, type: "function", function: { name: it.name, arguments: it.arguments } }];
        open = m;
        break;
      }
      case "function_call_output":
        out.push({ role: "tool", content: it.output, tool_call_id: it.call_id });
        open = undefined;
        break;
    }
  }
  return out;
}

/** The chat request the template renders for a conversation, with tools and thinking on or off. */
export function chatRequestOf(messages: Message[], req: ResponsesRequest): ChatRequest {
  if (messages.length === 0) throw bad("input", "must hold at least one item");
  const tools = (req.tools ?? []).map((t) => ({
    type: "function",
    function: { name: t.name, ...(t.description == null ? {} : { description: t.description }), parameters: t.parameters ?? { type: "object", properties: {} }, ...(t.strict == null ? {} : { strict: t.strict }) },
  }));
  const effort = req.reasoning?.effort;
  const thinking = effort === undefined || effort === null ? undefined : effort !== "none" && effort !== "minimal";
  return parseChatRequest({ messages, ...(tools.length > 0 ? { tools } : {}), ...(thinking === undefined ? {} : { enable_thinking: thinking }) });
}
