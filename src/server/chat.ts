/**
 * `/v1/chat/completions`: run a plan's choices on the engine and shape the output as OpenAI does —
 * one JSON object, or `chat.completion.chunk` events (reasoning, content and tool-call deltas,
 * then the finish reason, then usage when asked).
 */
import { randomUUID } from "node:crypto";
import { parseReasoning, ReasoningStream } from "../chat/reasoning.js";
import { ToolCallStream } from "../chat/tools-stream.js";
import { parseToolCalls, type ToolCall } from "../chat/tools.js";
import type { GenerateResult, GenerateStep } from "../engine/generate.js";
import type { StepLogprobs } from "../engine/logprobs.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { ChatPlan } from "./chat-plan.js";
import type { Runtime } from "./runtime.js";

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

function finishReason(r: GenerateResult, calls: number): FinishReason {
  if (calls > 0) return "tool_calls";
  return r.finishReason;
}

interface ChoiceDone {
  result: GenerateResult;
  cached: number;
  reasoningTokens: number;
  logprobs: Record<string, unknown>[];
}

async function runChoice(rt: Runtime, plan: ChatPlan, i: number, signal: AbortSignal, onStep?: (s: GenerateStep) => void): Promise<ChoiceDone> {
  const { opts, steer } = plan.optionsFor(i);
  const logprobs: Record<string, unknown>[] = [];
  const gen = rt.run(plan.promptIds, { ...opts, signal });
  for (;;) {
    const r = await gen.next();
    if (r.done === true) return { result: r.value.result, cached: r.value.cachedTokens, reasoningTokens: steer.reasoningTokens, logprobs };
    if (r.value.logprobs !== undefined) logprobs.push(logprobEntry(rt.tokenizer, r.value.logprobs));
    onStep?.(r.value);
  }
}

/** Non-streaming response body. */
export async function completeChat(rt: Runtime, plan: ChatPlan, modelId: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const done = await Promise.all(Array.from({ length: plan.n }, (_, i) => runChoice(rt, plan, i, signal)));
  const choices = done.map((d, index) => {
    const split = plan.thinking ? parseReasoning(d.result.text, { thinkingEnabled: true }) : { reasoning: "", content: d.result.text };
    let content: string | null = split.content;
    let calls: ToolCall[] = [];
    if (plan.parseTools) {
      const parsed = parseToolCalls(split.content);
      calls = parsed.toolCalls;
      content = calls.length > 0 && parsed.content.trim() === "" ? null : parsed.content;
    }
    const message: Record<string, unknown> = { role: "assistant", content };
    if (plan.thinking) message.reasoning_content = split.reasoning;
    if (calls.length > 0) {
      message.tool_calls = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    }
    return {
      index,
      message,
      logprobs: plan.logprobs === undefined ? null : { content: d.logprobs },
      finish_reason: finishReason(d.result, calls.length),
    };
  });
  const completion = done.reduce((a, d) => a + d.result.completionTokens, 0);
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: modelId,
    choices,
    usage: usage(plan.promptIds.length, done[0]?.cached ?? 0, completion, done.reduce((a, d) => a + d.reasoningTokens, 0)),
  };
}

/**
 * Streaming response: calls `send` with each chunk object (the caller frames them as SSE and adds
 * `[DONE]`). Choices run concurrently; their chunks interleave, each tagged with its index.
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

  const runOne = async (index: number): Promise<ChoiceDone> => {
    chunk([{ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]);
    const reasoning = plan.thinking ? new ReasoningStream({ thinkingEnabled: true }) : undefined;
    const tools = plan.parseTools ? new ToolCallStream() : undefined;
    let calls = 0;
    const emit = (r: string, c: string, lp?: Record<string, unknown>): void => {
      const deltas: Record<string, unknown>[] = [];
      if (r !== "") deltas.push({ reasoning_content: r });
      if (c !== "") {
        if (tools === undefined) deltas.push({ content: c });
        else {
          for (const ev of tools.push(c)) deltas.push(toolDelta(ev, () => calls++));
        }
      }
      if (deltas.length === 0 && lp !== undefined) deltas.push({});
      deltas.forEach((delta, k) => {
        const withLp = k === 0 && lp !== undefined ? { content: [lp] } : null;
        chunk([{ index, delta, logprobs: withLp, finish_reason: null }]);
      });
    };
    const d = await runChoice(rt, plan, index, signal, (step) => {
      const lp = step.logprobs === undefined ? undefined : logprobEntry(rt.tokenizer, step.logprobs);
      if (step.text === "" && lp === undefined) return;
      const split = reasoning?.push(step.text) ?? { reasoning: "", content: step.text };
      emit(split.reasoning, split.content, lp);
    });
    const tail = reasoning?.finish() ?? { reasoning: "", content: "" };
    emit(tail.reasoning, tail.content);
    if (tools !== undefined) {
      for (const ev of tools.finish()) chunk([{ index, delta: toolDelta(ev, () => calls++), logprobs: null, finish_reason: null }]);
    }
    chunk([{ index, delta: {}, logprobs: null, finish_reason: finishReason(d.result, calls) }]);
    return d;
  };
  const done = await Promise.all(Array.from({ length: plan.n }, (_, i) => runOne(i)));
  if (plan.includeUsage) {
    const completion = done.reduce((a, d) => a + d.result.completionTokens, 0);
    chunk([], { usage: usage(plan.promptIds.length, done[0]?.cached ?? 0, completion, done.reduce((a, d) => a + d.reasoningTokens, 0)) });
  }
}

function toolDelta(ev: ReturnType<ToolCallStream["push"]>[number], onCall: () => void): Record<string, unknown> {
  switch (ev.type) {
    case "content":
      return { content: ev.text };
    case "toolCall":
      onCall();
      return { tool_calls: [{ index: ev.index, id: ev.id, type: "function", function: { name: ev.name, arguments: "" } }] };
    case "arguments":
      return { tool_calls: [{ index: ev.index, function: { arguments: ev.text } }] };
  }
}
