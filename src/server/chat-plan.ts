/**
 * `/v1/chat/completions` request → a plan, in two steps: `validateChat` checks everything cheap
 * (zod, errors naming the field; sampling against the model; a byte bound on the prompt) before the
 * request is admitted, and its `prepare` does the heavy part after admission — the engine's prepared
 * turn (rendered and encoded prompt, steering, grammar) with the context check — giving how many
 * choices and the generation options of each.
 */
import { z } from "zod";
import { parseChatRequest, type ChatRequest } from "../chat/messages.js";
import { turnGrammar, type ResponseFormat, type ToolChoice } from "../engine/turn-grammar.js";
import { PromptTooLongError, type PreparedTurn, type TurnGenerateOptions } from "../engine/turn.js";
import { QwenrtError } from "../util/errors.js";
import { ApiError } from "./errors.js";
import { generateOptions, parseOrThrow, samplingSchema } from "./params.js";
import { SMALL_PROMPT_BYTES, type Runtime } from "./runtime.js";

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
  // vLLM's extension: the prompt's token ids (and each choice's generated ids) in the response.
  return_token_ids: z.boolean({ error: "must be a boolean" }).nullable().optional(),
});

/** A validated chat request, admitted as `sequences` sequences; `prepare` renders and encodes it. */
export interface ValidatedChat {
  readonly stream: boolean;
  /** Sequences it runs at once (its `n`), each counted against `--max-running`. */
  readonly sequences: number;
  prepare(signal: AbortSignal): Promise<ChatPlan>;
}

/** Everything a chat request decided, ready to run. */
export interface ChatPlan {
  /** The prepared turn: prompt ids, whether the output starts in a thought, whether tools are parsed. */
  readonly turn: PreparedTurn;
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** `top_logprobs` when `logprobs` was asked for. */
  readonly logprobs: number | undefined;
  /** Put `prompt_token_ids` and each choice's `token_ids` in the response. */
  readonly returnTokenIds: boolean;
  /** Generation options of choice `i` (seed + i when a seed is given). */
  optionsFor(i: number, signal: AbortSignal): TurnGenerateOptions;
}

/** Tools must have a function when a grammar forces a call; the error names the tool. */
function checkToolFunctions(tools: ChatRequest["tools"]): void {
  (tools ?? []).forEach((t, i) => {
    if (t.function === undefined) throw new ApiError(400, `tools[${i}].function: is required`, "invalid_request_error", `tools[${i}].function`);
  });
}

function toolNames(tools: readonly unknown[] | undefined): string[] {
  return (tools ?? []).map((t) => {
    const fn = (t as { function?: { name?: unknown } }).function;
    return typeof fn?.name === "string" ? fn.name : "";
  });
}

/** Validate a chat request; throws ApiError/QwenrtError naming the field at fault. Nothing heavy runs here. */
export function validateChat(rt: Runtime, body: unknown): ValidatedChat {
  const extra = parseOrThrow(chatExtras, body);
  const req = parseChatRequest(body);
  const choice = extra.tool_choice ?? (req.tools?.length ? "auto" : "none");
  if (choice !== "none" && choice !== "auto" && !req.tools?.length) {
    throw new ApiError(400, "tool_choice: requires a non-empty tools list", "invalid_request_error", "tool_choice");
  }
  if (typeof choice === "object" && !toolNames(req.tools).includes(choice.function.name)) {
    throw new ApiError(400, `tool_choice.function.name: no tool named ${JSON.stringify(choice.function.name)}`, "invalid_request_error", "tool_choice.function.name");
  }
  const toolChoice: ToolChoice = typeof choice === "object" ? { name: choice.function.name } : choice;
  if (toolChoice === "required" || typeof toolChoice === "object") checkToolFunctions(req.tools);
  const base = generateOptions(extra, rt.engine);

  const format = extra.response_format;
  let responseFormat: ResponseFormat | undefined;
  if (format?.type === "json_schema") {
    const js = format.json_schema as { schema?: unknown; strict?: boolean | null };
    if (js.schema === undefined) throw new ApiError(400, "response_format.json_schema.schema: is required", "invalid_request_error", "response_format.json_schema.schema");
    responseFormat = { type: "json_schema", schema: js.schema, strict: js.strict ?? true };
  } else if (format?.type === "json_object") responseFormat = { type: "json_object" };
  if (extra.top_logprobs != null && extra.logprobs !== true) {
    throw new QwenrtError("top_logprobs", "requires logprobs: true", { code: "invalid_request" });
  }
  const returnTokenIds = extra.return_token_ids === true;
  if (returnTokenIds && extra.stream === true) {
    throw new ApiError(400, "return_token_ids: is only supported without stream", "invalid_request_error", "return_token_ids");
  }
  turnGrammar(req.tools, toolChoice, extra.parallel_tool_calls ?? true, responseFormat); // schema sizes, before admission
  const n = extra.n ?? 1;
  rt.checkSequences(n, "n");
  const bytes = textBytes([req.messages, req.tools ?? null]);
  rt.checkPromptBytes(bytes, base.maxTokens, "messages");

  const budget = extra.thinking_budget ?? rt.opts.thinkingBudget;
  const turnRequest = {
    chat: req,
    toolChoice,
    parallelToolCalls: extra.parallel_tool_calls ?? true,
    ...(responseFormat === undefined ? {} : { responseFormat }),
    ...(budget == null ? {} : { thinkingBudget: budget }),
  };
  const logprobs = extra.logprobs === true ? (extra.top_logprobs ?? 0) : undefined;
  const stream = extra.stream === true;
  return {
    stream,
    sequences: n,
    async prepare(signal) {
      // A small prompt is tokenized whole (exact counts in the error); a large one stops past the room left.
      const limit = bytes > SMALL_PROMPT_BYTES ? { maxPromptTokens: rt.maxPromptTokens(base.maxTokens) } : {};
      const turn = await rt.turns.prepareAsync(turnRequest, { signal, ...limit }).catch((e: unknown) => {
        if (e instanceof PromptTooLongError) rt.checkContext(e.atLeast, base.maxTokens, "messages", { atLeast: true });
        throw e;
      });
      rt.checkContext(turn.promptIds.length, base.maxTokens, "messages");
      return {
        turn,
        n,
        stream,
        includeUsage: extra.stream_options?.include_usage === true,
        logprobs,
        returnTokenIds,
        optionsFor(i, signal) {
          const opts: TurnGenerateOptions = { ...base, signal };
          if (logprobs !== undefined) opts.logprobs = logprobs;
          if (base.seed !== undefined) opts.seed = Number(base.seed) + i;
          return opts;
        },
      };
    },
  };
}

/**
 * UTF-8 bytes of every string (and key) in `value`: about what the template writes of the request
 * (content it drops, such as an old thought, counts too — a bound far above real prompts absorbs it).
 */
export function textBytes(value: unknown): number {
  const stack: unknown[] = [value];
  let bytes = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") bytes += Buffer.byteLength(v, "utf8");
    else if (Array.isArray(v)) for (const x of v) stack.push(x);
    else if (typeof v === "object" && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        bytes += k.length;
        stack.push(x);
      }
    }
  }
  return bytes;
}
