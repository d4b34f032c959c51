/**
 * `POST /v1/responses` on the one turn pipeline: a request (with the conversation a
 * `previous_response_id` names) becomes a prepared turn; running it gives a Response object — or,
 * streaming, OpenAI's event sequence ending in `response.completed` / `response.incomplete` — and a
 * stored response when `store` is on.
 */
import type { ResponseFormat, ToolChoice } from "../engine/turn-grammar.js";
import type { PreparedTurn, TurnGenerateOptions } from "../engine/turn.js";
import { ApiError } from "./errors.js";
import { generateOptions } from "./params.js";
import { chatRequestOf, inputItems, itemsToMessages, newId, parseResponsesRequest, type Item, type ResponsesRequest } from "./responses-input.js";
import { OutputStream, outputItems, type ResponseEvent } from "./responses-output.js";
import type { FinishedTurn, Runtime } from "./runtime.js";
import { schemaCheckField } from "./schema-check.js";
import type { ResponseStore } from "./store/responses-store.js";

/** What the Responses endpoints share: the runtime and, unless storing is off, the store. */
export interface ResponsesContext {
  readonly rt: Runtime;
  readonly store: ResponseStore | undefined;
  /** Hears each finished, stored response's turn (KV snapshots hook in here). */
  readonly onStored?: (id: string, turn: PreparedTurn, outcome: FinishedTurn) => void;
  /** Before a turn runs: a chance to bring back the KV of the conversation it continues. */
  readonly beforeTurn?: (turn: PreparedTurn, previousId: string | undefined) => Promise<void>;
}

/** A validated request, ready to run. */
export interface ResponsePlan {
  readonly id: string;
  readonly req: ResponsesRequest;
  readonly input: Item[];
  /** Every item of the conversation the model sees (previous ones, then `input`). */
  readonly context: Item[];
  readonly turn: PreparedTurn;
  readonly options: TurnGenerateOptions;
  readonly store: boolean;
  readonly stream: boolean;
}

function notFound(id: string): ApiError {
  return new ApiError(404, `Previous response with id '${id}' not found.`, "invalid_request_error", "previous_response_id", "previous_response_not_found");
}

/** Validate and plan a request; errors name the field or item path at fault. */
export function planResponse(ctx: ResponsesContext, body: unknown): ResponsePlan {
  const req = parseResponsesRequest(body);
  const input = inputItems(req.input);
  let prior: Item[] = [];
  if (req.previous_response_id != null) {
    const prev = ctx.store?.get(req.previous_response_id);
    if (prev === undefined) throw notFound(req.previous_response_id);
    prior = [...prev.context, ...prev.output];
  }
  const context = [...prior, ...input];
  const chat = chatRequestOf(itemsToMessages(context, req.instructions ?? undefined), req);

  const choice = req.tool_choice ?? (chat.tools?.length ? "auto" : "none");
  if (choice !== "none" && choice !== "auto" && !chat.tools?.length) {
    throw new ApiError(400, "tool_choice: requires a non-empty tools list", "invalid_request_error", "tool_choice");
  }
  if (typeof choice === "object" && !(req.tools ?? []).some((t) => t.name === choice.name)) {
    throw new ApiError(400, `tool_choice.name: no tool named ${JSON.stringify(choice.name)}`, "invalid_request_error", "tool_choice.name");
  }
  const toolChoice: ToolChoice = typeof choice === "object" ? { name: choice.name } : choice;
  const fmt = req.text?.format;
  let responseFormat: ResponseFormat | undefined;
  if (fmt?.type === "json_schema") responseFormat = { type: "json_schema", schema: fmt.schema, strict: fmt.strict ?? true, where: "text.format.schema" };
  else if (fmt?.type === "json_object") responseFormat = { type: "json_object" };

  const budget = req.thinking_budget ?? ctx.rt.opts.thinkingBudget;
  const turn = ctx.rt.turns.prepare({
    chat,
    toolChoice,
    parallelToolCalls: req.parallel_tool_calls ?? true,
    ...(responseFormat === undefined ? {} : { responseFormat }),
    ...(budget == null ? {} : { thinkingBudget: budget }),
  });
  const options = generateOptions({ ...req, max_tokens: req.max_output_tokens }, ctx.rt.model);
  ctx.rt.checkContext(turn.promptIds.length, options.maxTokens, "input");
  return { id: newId("resp"), req, input, context, turn, options, store: (req.store ?? true) && ctx.store !== undefined, stream: req.stream === true };
}

/** The Response object for `plan` with its status, output and usage so far. */
function responseObject(
  ctx: ResponsesContext,
  plan: ResponsePlan,
  created: number,
  status: "in_progress" | "completed" | "incomplete",
  output: readonly Item[],
  turn?: FinishedTurn,
): Record<string, unknown> {
  const r = plan.req;
  const toolChoice = r.tool_choice ?? "auto";
  const usage =
    turn === undefined
      ? null
      : {
          input_tokens: turn.promptTokens,
          input_tokens_details: { cached_tokens: turn.cachedTokens },
          output_tokens: turn.ids.length,
          output_tokens_details: { reasoning_tokens: turn.reasoningTokens },
          total_tokens: turn.promptTokens + turn.ids.length,
        };
  return {
    id: plan.id,
    object: "response",
    created_at: created,
    status,
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    metadata: r.metadata ?? {},
    model: ctx.rt.opts.modelId,
    output,
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: r.reasoning?.effort ?? null, summary: null },
    store: plan.store,
    temperature: r.temperature ?? null,
    text: { format: r.text?.format ?? { type: "text" } },
    tool_choice: toolChoice,
    tools: (r.tools ?? []).map((t) => ({ type: "function", name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? null })),
    top_p: r.top_p ?? null,
    truncation: "disabled",
    usage,
    ...(turn === undefined ? {} : schemaCheckField(plan.turn, turn)),
  };
}

/**
 * Run a planned response. With `emit`, streams the event sequence (each event gets its
 * `sequence_number`); returns the final Response object either way, stored when `plan.store`.
 */
export async function runResponse(ctx: ResponsesContext, plan: ResponsePlan, signal: AbortSignal, emit?: (e: ResponseEvent) => void): Promise<Record<string, unknown>> {
  const created = Math.floor(Date.now() / 1000);
  let seq = 0;
  const send = emit === undefined ? undefined : (e: ResponseEvent): void => emit({ ...e, sequence_number: seq++ });
  if (send !== undefined) {
    const start = responseObject(ctx, plan, created, "in_progress", []);
    send({ type: "response.created", response: start });
    send({ type: "response.in_progress", response: start });
  }
  const stream = send === undefined ? undefined : new OutputStream(send);
  await ctx.beforeTurn?.(plan.turn, plan.req.previous_response_id ?? undefined);
  const turn = await ctx.rt.runTurn(plan.turn, { ...plan.options, signal }, stream === undefined ? undefined : (step) => stream.push(step.parts));
  let output: Item[];
  if (stream !== undefined) {
    stream.push(turn.tail);
    output = stream.finish();
  } else output = outputItems(turn.message, plan.turn.thinking);
  // Cut off by max_output_tokens: incomplete, a function call included (its arguments are partial).
  const status = turn.finishReason === "length" ? "incomplete" : "completed";
  const response = responseObject(ctx, plan, created, status, output, turn);
  if (plan.store && ctx.store !== undefined) {
    if (ctx.store.put({ id: plan.id, response, input: plan.input, context: plan.context, output })) ctx.onStored?.(plan.id, plan.turn, turn);
  }
  send?.({ type: status === "completed" ? "response.completed" : "response.incomplete", response });
  return response;
}
