/**
 * The request fields shared by `/v1/chat/completions` and `/v1/completions`, validated once with
 * zod where the request enters and mapped onto the engine's `GenerateOptions`. Errors name the
 * parameter (`top_p: must be a number`).
 */
import { z } from "zod";
import type { GenerateOptions } from "../engine/generate.js";
import { formatPath } from "../chat/messages.js";
import { ApiError } from "./errors.js";

const num = (name: string) => z.number({ error: `${name} must be a number` }).nullable().optional();
const int = (name: string) => z.int({ error: `${name} must be an integer` }).nullable().optional();

/** Fields common to both endpoints (unknown fields pass: clients send many we do not use). */
export const samplingSchema = z.looseObject({
  model: z.string({ error: "must be a string" }).optional(),
  stream: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  stream_options: z
    .looseObject({ include_usage: z.boolean({ error: "must be a boolean" }).optional() }, { error: "must be an object" })
    .nullable()
    .optional(),
  temperature: num("temperature"),
  top_p: num("top_p"),
  top_k: int("top_k"),
  min_p: num("min_p"),
  presence_penalty: num("presence_penalty"),
  frequency_penalty: num("frequency_penalty"),
  repetition_penalty: num("repetition_penalty"),
  seed: int("seed"),
  stop: z
    .union([z.string(), z.array(z.string()).max(16, { error: "at most 16 stop strings" })], {
      error: "must be a string or an array of strings",
    })
    .nullable()
    .optional(),
  max_tokens: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  max_completion_tokens: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  n: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).max(16, { error: "must be <= 16" }).nullable().optional(),
  logit_bias: z.record(z.string(), z.number(), { error: "must map token ids to numbers" }).nullable().optional(),
  ignore_eos: z.boolean({ error: "must be a boolean" }).optional(),
});

/** Validated common fields. */
export type SamplingRequest = z.infer<typeof samplingSchema>;

/** Parse with `schema`, turning the first issue into a 400 naming its field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue === undefined ? "request" : formatPath(issue.path);
  throw new ApiError(400, `${param}: ${issue?.message ?? "invalid request"}`, "invalid_request_error", param, "invalid_value");
}

/** Map the OpenAI field names onto the engine's options (undefined → the model's defaults). */
export function generateOptions(req: SamplingRequest, vocabSize: number): GenerateOptions {
  const opts: GenerateOptions = {};
  if (req.temperature != null) opts.temperature = req.temperature;
  if (req.top_p != null) opts.topP = req.top_p;
  if (req.top_k != null) opts.topK = req.top_k;
  if (req.min_p != null) opts.minP = req.min_p;
  if (req.presence_penalty != null) opts.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) opts.frequencyPenalty = req.frequency_penalty;
  if (req.repetition_penalty != null) opts.repetitionPenalty = req.repetition_penalty;
  if (req.seed != null) opts.seed = req.seed;
  const max = req.max_completion_tokens ?? req.max_tokens;
  if (max != null) opts.maxTokens = max;
  if (req.stop != null) opts.stop = typeof req.stop === "string" ? [req.stop] : req.stop;
  if (req.ignore_eos === true) opts.ignoreEos = true;
  if (req.logit_bias != null) {
    const bias = new Map<number, number>();
    for (const [k, v] of Object.entries(req.logit_bias)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new ApiError(400, `logit_bias: "${k}" is not a token id below ${vocabSize}`, "invalid_request_error", "logit_bias");
      }
      bias.set(id, v);
    }
    opts.logitBias = bias;
  }
  return opts;
}
