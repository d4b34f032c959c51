/**
 * `/v1/chat/completions`: run a plan's choices on the engine and shape the output as OpenAI does —
 * one JSON object, or `chat.completion.chunk` events (reasoning, content and tool-call deltas,
 * then the finish reason, then usage when asked).
 */
import { randomUUID } from "node:crypto";
import type { StepLogprobs } from "../engine/logprobs.js";
import type { TurnPart } from "../engine/turn-output.js";
import type { TurnStep } from "../engine/turn.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { ChatPlan } from "./chat-plan.js";
import { allOrNone, type FinishedTurn, type Runtime } from "./runtime.js";

type FinishReason = "stop" | "length" | "tool_calls";

/** OpenAI's logprobs entry for one token. */
function logprobEntry(tok: Tokenizer, lp: StepLogprobs): Record<string, unknown> {
  const one = (id: number, logprob: number) => {
    const text = tok.decode([id]);
    return { token: text, logprob, bytes: [...Buffer.from(tok.tokenBytes(id) ?? new Uint8Array(0))] };
  };
  return { ...one(lp.token, lp.logprob), top_logprobs: lp.top.map((t) => one(t.token, t.logprob)) };
}

function usage(promptTokens: number, cached: number, completion: number, reasoning: number): Record<string, unknown> {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: cached },
    completion_tokens_details: { reasoning_tokens: reasoning },
  };
}

function finishReason(t: FinishedTurn, calls: number): FinishReason {
  if (calls > 0) return "tool_calls";
  return t.finishReason;
}

interface ChoiceDone {
  turn: FinishedTurn;
  logprobs: Record<string, unknown>[];
}

async function runChoice(rt: Runtime, plan: ChatPlan, i: number, signal: AbortSignal, onStep?: (s: TurnStep) => void): Promise<ChoiceDone> {
  const logprobs: Record<string, unknown>[] = [];
  const turn = await rt.runTurn(plan.turn, plan.optionsFor(i, signal), (step) => {
    if (step.logprobs !== undefined) logprobs.push(logprobEntry(rt.tokenizer, step.logprobs));
    onStep?.(step);
  });
  return { turn, logprobs };
}

function usageOf(plan: ChatPlan, done: readonly ChoiceDone[]): Record<string, unknown> {
  const completion = done.reduce((a, d) => a + d.turn.ids.length, 0);
  const reasoning = done.reduce((a, d) => a + d.turn.reasoningTokens, 0);
  return usage(plan.turn.promptIds.length, done[0]?.turn.cachedTokens ?? 0, completion, reasoning);
}

/** Non-streaming response body. */
export async function completeChat(rt: Runtime, plan: ChatPlan, modelId: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const done = await allOrNone(signal, Array.from({ length: plan.n }, (_, i) => (shared: AbortSignal) => runChoice(rt, plan, i, shared)));
  const choices = done.map((d, index) => {
    const m = d.turn.message;
    const content = m.toolCalls.length > 0 && m.content.trim() === "" ? null : m.content;
    const message: Record<string, unknown> = { role: "assistant", content };
    if (plan.turn.thinking) message.reasoning_content = m.reasoning;
    if (m.toolCalls.length > 0) {
      message.tool_calls = m.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    }
    return {
      index,
      message,
      logprobs: plan.logprobs === undefined ? null : { content: d.logprobs },
      finish_reason: finishReason(d.turn, m.toolCalls.length),
      ...(plan.returnTokenIds ? { token_ids: d.turn.ids } : {}),
    };
  });
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: modelId,
    choices,
    usage: usageOf(plan, done),
    ...(plan.returnTokenIds ? { prompt_token_ids: plan.turn.promptIds } : {}),
  };
}

/**
 * Streaming response: calls `send` with each chunk object (the caller frames them as SSE and adds
 * `[DONE]`). Choices run concurrently (one failing stops the others); their chunks interleave, each
 * tagged with its index.
 */
export async function streamChat(
  rt: Runtime,
  plan: ChatPlan,
  modelId: string,
  signal: AbortSignal,
  send: (chunk: Record<string, unknown>) => void,
): Promise<void> {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    send({ id, object: "chat.completion.chunk", created, model: modelId, choices, ...extra });

  const runOne = async (index: number, signal: AbortSignal): Promise<ChoiceDone> => {
    chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    let calls = 0;
    // One chunk per part (reasoning, content, tool-call header or arguments); logprobs ride on the first.
    const emit = (parts: readonly TurnPart[], lp?: Record<string, unknown>): void => {
      const deltas = parts.map((p) => partDelta(p, () => calls++));
      if (deltas.length === 0 && lp !== undefined) deltas.push({});
      deltas.forEach((delta, k) => {
        const withLp = k === 0 && lp !== undefined ? { content: [lp] } : null;
        chunk([{ index, delta, logprobs: withLp, finish_reason: null }]);
      });
    };
    const d = await runChoice(rt, plan, index, signal, (step) => {
      const lp = step.logprobs === undefined ? undefined : logprobEntry(rt.tokenizer, step.logprobs);
      if (step.text === "" && lp === undefined) return;
      emit(step.parts, lp);
    });
    emit(d.turn.tail);
    chunk([{ index, delta: {}, logprobs: null, finish_reason: finishReason(d.turn, calls) }]);
    return d;
  };
  const done = await allOrNone(signal, Array.from({ length: plan.n }, (_, i) => (shared: AbortSignal) => runOne(i, shared)));
  if (plan.includeUsage) chunk([], { usage: usageOf(plan, done) });
}

function partDelta(part: TurnPart, onCall: () => void): Record<string, unknown> {
  switch (part.type) {
    case "reasoning":
      return { reasoning_content: part.text };
    case "content":
      return { content: part.text };
    case "toolCall":
      onCall();
      return { tool_calls: [{ index: part.index, id: part.id, type: "function", function: { name: part.name, arguments: "" } }] };
    case "arguments":
      return { tool_calls: [{ index: part.index, function: { arguments: part.text } }] };
  }
}
