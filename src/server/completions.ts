/**
 * `/v1/completions` (legacy text completion): a prompt string, a list of them, or token ids; no
 * chat template. Streams `text_completion` chunks like OpenAI. Every (prompt, n) pair is a sequence
 * counted against admission; the pairs of one request share an abort, so when one fails the others
 * stop.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { GenerateOptions } from "../engine/generate.js";
import { ApiError } from "./errors.js";
import { generateOptions, parseOrThrow, samplingSchema } from "./params.js";
import { allOrNone, SMALL_PROMPT_BYTES, type Runtime } from "./runtime.js";

/** Most prompts in one request's `prompt` array (each × `n` also counts against `--max-running`). */
export const MAX_PROMPTS = 64;

const ids = z.array(z.int().min(0));
const promptList = (item: z.ZodType) => z.array(item).min(1).max(MAX_PROMPTS, { error: `at most ${MAX_PROMPTS} prompts per request` });
const completionSchema = samplingSchema.extend({
  prompt: z.union([z.string(), promptList(z.string()), ids.min(1), promptList(ids.min(1))], {
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

/** A validated completions request, admitted as `sequences`; `prepare` tokenizes its prompts. */
export interface ValidatedCompletion {
  readonly stream: boolean;
  /** Prompts × n: the sequences it runs at once. */
  readonly sequences: number;
  prepare(signal: AbortSignal): Promise<CompletionPlan>;
}

/** Validate a completions body; nothing is tokenized yet. */
export function validateCompletion(rt: Runtime, body: unknown): ValidatedCompletion {
  const req = parseOrThrow(completionSchema, body);
  const vocab = rt.model.config.vocabSize;
  const raw = req.prompt;
  const list: (string | number[])[] =
    typeof raw === "string" ? [raw] : raw.length > 0 && typeof raw[0] === "number" ? [raw as number[]] : (raw as (string | number[])[]);
  const n = req.n ?? 1;
  rt.checkSequences(list.length * n, list.length > 1 ? "prompt" : "n");
  const opts = generateOptions(req, rt.engine);
  const maxTokens = opts.maxTokens ?? 16; // OpenAI's default for this endpoint
  opts.maxTokens = maxTokens;
  list.forEach((p, i) => {
    const param = list.length > 1 ? `prompt[${i}]` : "prompt";
    if (typeof p === "string") {
      if (p === "") throw new ApiError(400, `${param}: must not be empty`, "invalid_request_error", "prompt");
      rt.checkPromptBytes(Buffer.byteLength(p, "utf8"), maxTokens, "prompt");
      return;
    }
    const bad = p.findIndex((id) => id >= vocab);
    if (bad >= 0) throw new ApiError(400, `${param}: token ${bad} is ${p[bad]}, not below the vocabulary size ${vocab}`, "invalid_request_error", "prompt");
    rt.checkContext(p.length, maxTokens, "prompt");
  });
  if (req.logprobs != null) opts.logprobs = req.logprobs;
  const stream = req.stream === true;
  return {
    stream,
    sequences: list.length * n,
    async prepare(signal) {
      const limit = rt.maxPromptTokens(maxTokens);
      const prompts: { ids: number[]; text: string }[] = [];
      for (const p of list) {
        if (typeof p !== "string") {
          prompts.push({ ids: p, text: rt.tokenizer.decode(p) });
          continue;
        }
        const small = Buffer.byteLength(p, "utf8") <= SMALL_PROMPT_BYTES; // tokenized whole: exact counts in the error
        const encoded = await rt.tokenizer.encodeAsync(p, { signal, ...(small ? {} : { limit }) });
        rt.checkContext(encoded.length, maxTokens, "prompt", { atLeast: encoded.length > limit && !small });
        prompts.push({ ids: encoded, text: p });
      }
      return { prompts, n, stream, includeUsage: req.stream_options?.include_usage === true, echo: req.echo === true, opts };
    },
  };
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
  const choices = await allOrNone(
    signal,
    jobs.map(({ p, k }, index) => async (shared: AbortSignal) => {
      const opts = { ...plan.opts, signal: shared, ...(plan.opts.seed === undefined ? {} : { seed: Number(plan.opts.seed) + k }) };
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
