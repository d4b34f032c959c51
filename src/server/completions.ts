/**
 * `/v1/completions` (legacy text completion): a prompt string, a list of them, or token ids; no
 * chat template. Streams `text_completion` chunks like OpenAI.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { GenerateOptions } from "../engine/generate.js";
import { ApiError } from "./errors.js";
import { generateOptions, parseOrThrow, samplingSchema } from "./params.js";
import type { Runtime } from "./runtime.js";

const ids = z.array(z.int().min(0));
const completionSchema = samplingSchema.extend({
  prompt: z.union([z.string(), z.array(z.string()).min(1), ids.min(1), z.array(ids.min(1)).min(1)], {
    error: "must be a string, an array of strings, or token ids",
  }),
  echo: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  logprobs: z.int({ error: "must be an integer" }).min(0).max(20, { error: "must be <= 20" }).nullable().optional(),
  suffix: z.null({ error: "is not supported" }).optional(),
});

/** Planned completion request. */
export interface CompletionPlan {
  readonly prompts: { ids: number[]; text: string }[];
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly echo: boolean;
  readonly opts: GenerateOptions;
}

/** Validate a completions body. */
export function planCompletion(rt: Runtime, body: unknown): CompletionPlan {
  const req = parseOrThrow(completionSchema, body);
  const vocab = rt.model.config.vocabSize;
  const raw = req.prompt;
  const list: (string | number[])[] =
    typeof raw === "string" ? [raw] : raw.length > 0 && typeof raw[0] === "number" ? [raw as number[]] : (raw as (string | number[])[]);
  const prompts = list.map((p, i) => {
    if (typeof p === "string") {
      if (p === "") throw new ApiError(400, `prompt${list.length > 1 ? `[${i}]` : ""}: must not be empty`, "invalid_request_error", "prompt");
      return { ids: rt.tokenizer.encode(p), text: p };
    }
    const bad = p.findIndex((id) => id >= vocab);
    if (bad >= 0) throw new ApiError(400, `prompt: token ${bad} is ${p[bad]}, not below the vocabulary size ${vocab}`, "invalid_request_error", "prompt");
    return { ids: p, text: rt.tokenizer.decode(p) };
  });
  const opts = generateOptions(req, vocab);
  for (const p of prompts) rt.checkContext(p.ids.length, opts.maxTokens ?? 16, "prompt");
  opts.maxTokens ??= 16; // OpenAI's default for this endpoint
  if (req.logprobs != null) opts.logprobs = req.logprobs;
  return { prompts, n: req.n ?? 1, stream: req.stream === true, includeUsage: req.stream_options?.include_usage === true, echo: req.echo === true, opts };
}

function logprobsBlock(rt: Runtime, steps: { token: number; logprob: number; top: { token: number; logprob: number }[] }[], offset0: number) {
  let offset = offset0;
  const tokens: string[] = [];
  const textOffset: number[] = [];
  for (const s of steps) {
    const t = rt.tokenizer.decode([s.token]);
    tokens.push(t);
    textOffset.push(offset);
    offset += t.length;
  }
  return {
    tokens,
    token_logprobs: steps.map((s) => s.logprob),
    top_logprobs: steps.map((s) => Object.fromEntries(s.top.map((t) => [rt.tokenizer.decode([t.token]), t.logprob]))),
    text_offset: textOffset,
  };
}

/** Run every (prompt, n) pair; `onText` streams text deltas when given. */
export async function runCompletion(
  rt: Runtime,
  plan: CompletionPlan,
  modelId: string,
  signal: AbortSignal,
  send?: (chunk: Record<string, unknown>) => void,
): Promise<Record<string, unknown>> {
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const jobs = plan.prompts.flatMap((p) => Array.from({ length: plan.n }, (_, k) => ({ p, k })));
  let promptTokens = 0;
  let completionTokens = 0;
  const choices = await Promise.all(
    jobs.map(async ({ p, k }, index) => {
      const opts = { ...plan.opts, signal, ...(plan.opts.seed === undefined ? {} : { seed: Number(plan.opts.seed) + k }) };
      const steps: { token: number; logprob: number; top: { token: number; logprob: number }[] }[] = [];
      let text = plan.echo ? p.text : "";
      if (send !== undefined && plan.echo) send({ id, object: "text_completion", created, model: modelId, choices: [{ index, text: p.text, logprobs: null, finish_reason: null }] });
      const { result } = await rt.run(p.ids, opts, (step) => {
        if (step.logprobs !== undefined) steps.push({ token: step.token, logprob: step.logprobs.logprob, top: [...step.logprobs.top] });
        text += step.text;
        if (send !== undefined && (step.text !== "" || step.logprobs !== undefined)) {
          const lp = step.logprobs === undefined ? null : logprobsBlock(rt, steps.slice(-1), text.length - step.text.length);
          send({ id, object: "text_completion", created, model: modelId, choices: [{ index, text: step.text, logprobs: lp, finish_reason: null }] });
        }
      });
      promptTokens += k === 0 ? p.ids.length : 0;
      completionTokens += result.completionTokens;
      if (send !== undefined) {
        send({ id, object: "text_completion", created, model: modelId, choices: [{ index, text: "", logprobs: null, finish_reason: result.finishReason }] });
      }
      return {
        index,
        text,
        logprobs: plan.opts.logprobs === undefined ? null : logprobsBlock(rt, steps, plan.echo ? p.text.length : 0),
        finish_reason: result.finishReason,
      };
    }),
  );
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  if (send !== undefined && plan.includeUsage) send({ id, object: "text_completion", created, model: modelId, choices: [], usage });
  return { id, object: "text_completion", created, model: modelId, choices, usage };
}
