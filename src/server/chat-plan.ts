/**
 * `/v1/chat/completions` request → a plan: the rendered prompt's ids, how many choices, the engine
 * options of each, how to parse the output (thinking, tools), and which grammar (if any) applies.
 */
import { z } from "zod";
import { parseChatRequest } from "../chat/messages.js";
import { promptThinkingEnabled } from "../chat/template.js";
import type { ToolSpec } from "../engine/constrain/index.js";
import type { GenerateOptions } from "../engine/generate.js";
import { QwenrtError } from "../util/errors.js";
import { ApiError } from "./errors.js";
import { generateOptions, parseOrThrow, samplingSchema } from "./params.js";
import type { Runtime } from "./runtime.js";
import { AfterThinking, ThinkingSteer } from "./steering.js";

const toolChoiceSchema = z
  .union(
    [
      z.enum(["none", "auto", "required"]),
      z.looseObject({ type: z.literal("function").optional(), function: z.looseObject({ name: z.string() }) }),
    ],
    { error: 'must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}' },
  )
  .nullable()
  .optional();

const responseFormatSchema = z
  .union(
    [
      z.looseObject({ type: z.literal("text") }),
      z.looseObject({ type: z.literal("json_object") }),
      z.looseObject({
        type: z.literal("json_schema"),
        json_schema: z.looseObject({ name: z.string().optional(), schema: z.unknown().optional(), strict: z.boolean().nullable().optional() }),
      }),
    ],
    { error: 'must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}' },
  )
  .nullable()
  .optional();

const chatExtras = samplingSchema.extend({
  logprobs: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  top_logprobs: z.int({ error: "must be an integer" }).min(0, { error: "must be >= 0" }).max(20, { error: "must be <= 20" }).nullable().optional(),
  tool_choice: toolChoiceSchema,
  parallel_tool_calls: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  response_format: responseFormatSchema,
  thinking_budget: z.int({ error: "must be an integer" }).min(0, { error: "must be >= 0" }).nullable().optional(),
});

/** Everything a chat request decided, ready to run. */
export interface ChatPlan {
  readonly promptIds: number[];
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** Output parsing: split `<think>` reasoning off; find Hermes tool calls in the content. */
  readonly thinking: boolean;
  readonly parseTools: boolean;
  /** `top_logprobs` when `logprobs` was asked for. */
  readonly logprobs: number | undefined;
  /** Engine options of choice `i` (fresh steering objects per choice). */
  optionsFor(i: number): { opts: GenerateOptions; steer: ThinkingSteer };
}

/** The request's tools as grammar specs; a tool without a function is an error naming it. */
function toolSpecs(tools: readonly { function?: { name: string; [k: string]: unknown } }[] | undefined): ToolSpec[] {
  return (tools ?? []).map((t, i) => {
    if (t.function === undefined) throw new ApiError(400, `tools[${i}].function: is required`, "invalid_request_error", `tools[${i}].function`);
    const fn = t.function;
    return { function: { name: fn.name, parameters: fn.parameters, ...(typeof fn.strict === "boolean" ? { strict: fn.strict } : {}) } };
  });
}

function toolNames(tools: readonly unknown[] | undefined): string[] {
  return (tools ?? []).map((t) => {
    const fn = (t as { function?: { name?: unknown } }).function;
    return typeof fn?.name === "string" ? fn.name : "";
  });
}

/** Validate and plan a chat request; throws ApiError/QwenrtError naming the field at fault. */
export function planChat(rt: Runtime, body: unknown): ChatPlan {
  const extra = parseOrThrow(chatExtras, body);
  const req = parseChatRequest(body);
  const toolChoice = extra.tool_choice ?? (req.tools?.length ? "auto" : "none");
  if (toolChoice !== "none" && toolChoice !== "auto" && !req.tools?.length) {
    throw new ApiError(400, "tool_choice: requires a non-empty tools list", "invalid_request_error", "tool_choice");
  }
  if (typeof toolChoice === "object" && !toolNames(req.tools).includes(toolChoice.function.name)) {
    throw new ApiError(400, `tool_choice.function.name: no tool named ${JSON.stringify(toolChoice.function.name)}`, "invalid_request_error", "tool_choice.function.name");
  }
  // tool_choice "none": the model is not shown the tools, so it does not try to call them.
  const prompt = rt.template.render({
    messages: req.messages,
    ...(toolChoice !== "none" && req.tools !== undefined ? { tools: req.tools } : {}),
    add_generation_prompt: req.addGenerationPrompt,
    ...req.templateKwargs,
  });
  const base = generateOptions(extra, rt.model.config.vocabSize);
  const promptIds = rt.tokenizer.encode(prompt);
  const thinking = rt.thinks && promptThinkingEnabled(prompt);
  const budget = extra.thinking_budget ?? rt.opts.thinkingBudget;
  const endThinkId = rt.tokenizer.tokenToId("</think>");
  rt.checkContext(promptIds.length, base.maxTokens, "messages");

  const format = extra.response_format;
  let grammar: Parameters<Runtime["compileConstraint"]>[0] | undefined;
  let endsGeneration = true;
  if (toolChoice === "required") {
    const parallel = extra.parallel_tool_calls ?? true;
    grammar = { kind: "tool_call", tools: toolSpecs(req.tools), parallel, where: "tools" };
    endsGeneration = !parallel;
  } else if (typeof toolChoice === "object") {
    grammar = { kind: "tool_call", tools: toolSpecs(req.tools), name: toolChoice.function.name, where: "tools" };
  } else if (format?.type === "json_object") {
    grammar = { kind: "json_object" };
  } else if (format?.type === "json_schema") {
    const js = format.json_schema as { schema?: unknown; strict?: boolean | null };
    if (js.schema === undefined) throw new ApiError(400, "response_format.json_schema.schema: is required", "invalid_request_error", "response_format.json_schema.schema");
    grammar = { kind: "json_schema", schema: js.schema, strict: js.strict ?? true, where: "response_format.json_schema.schema" };
  }
  const compiled = grammar === undefined ? undefined : rt.compileConstraint(grammar);
  const logprobs = extra.logprobs === true ? (extra.top_logprobs ?? 0) : undefined;
  if (extra.top_logprobs != null && extra.logprobs !== true) {
    throw new QwenrtError("top_logprobs", "requires logprobs: true", { code: "invalid_request" });
  }
  const n = extra.n ?? 1;
  return {
    promptIds,
    n,
    stream: extra.stream === true,
    includeUsage: extra.stream_options?.include_usage === true,
    thinking,
    parseTools: toolChoice !== "none",
    logprobs,
    optionsFor(i) {
      const constraint = compiled === undefined ? undefined : new AfterThinking(compiled.start(), endThinkId, thinking, endsGeneration);
      const steer = new ThinkingSteer(rt.tokenizer, endThinkId, thinking, budget ?? undefined, (ids) => constraint?.noteForced(ids));
      const opts: GenerateOptions = { ...base, interceptor: steer };
      if (constraint !== undefined) opts.constraint = constraint;
      if (logprobs !== undefined) opts.logprobs = logprobs;
      if (base.seed !== undefined) opts.seed = Number(base.seed) + i;
      return { opts, steer };
    },
  };
}
