/**
 * The request fields shared by `/v1/chat/completions` and `/v1/completions`, validated once with
 * zod where the request enters and mapped onto the engine's `GenerateOptions`. Errors name the
 * parameter (`top_p: must be a number`).
 */
import { z } from "zod";
import { validateGenerateOptions, type GenerateOptions } from "../engine/generate.js";
import type { LogitsModel } from "../engine/types.js";
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
    .union([z.string().min(1, { error: "must not be empty" }), z.array(z.string().min(1, { error: "must not be empty" })).max(16, { error: "at most 16 stop strings" })], {
      error: "must be a string or an array of strings",
    })
    .nullable()
    .optional(),
  max_tokens: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  max_completion_tokens: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  n: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).max(16, { error: "must be <= 16" }).nullable().optional(),
  // Read from the raw body by `parseLogitBias` (a zod record would drop a "__proto__" key silently).
  logit_bias: z.unknown().optional(),
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

/** A logit_bias key: a token id in decimal, as OpenAI documents it (no "0x10", "1e3", "" or "+1"). */
const DECIMAL_ID = /^(0|[1-9][0-9]{0,9})$/;

/**
 * OpenAI's `logit_bias`: an object from decimal token ids to a bias in [-100, 100]. Every own key of
 * the parsed body is checked (a `"__proto__"` key included) and a bad one is named in the error.
 */
export function parseLogitBias(raw: unknown, vocabSize: number): Map<number, number> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new ApiError(400, "logit_bias: must map token ids to numbers", "invalid_request_error", "logit_bias", "invalid_value");
  const bias = new Map<number, number>();
  for (const [k, v] of Object.entries(raw)) {
    const param = `logit_bias.${k}`;
    if (!DECIMAL_ID.test(k) || Number(k) >= vocabSize) {
      throw new ApiError(400, `logit_bias: key ${JSON.stringify(k)} is not a decimal token id below ${vocabSize}`, "invalid_request_error", param, "invalid_value");
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v < -100 || v > 100) {
      throw new ApiError(400, `${param}: must be a number in [-100, 100], got ${JSON.stringify(v)}`, "invalid_request_error", param, "invalid_value");
    }
    bias.set(Number(k), v);
  }
  return bias;
}

/**
 * Map the OpenAI field names onto the engine's options (undefined → the model's defaults) and check
 * them all against the model now (`validateGenerateOptions`), so that a streaming request with a bad
 * value gets its 400 before the stream starts.
 */
export function generateOptions(req: SamplingRequest, model: LogitsModel): GenerateOptions {
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
  const bias = parseLogitBias(req.logit_bias, model.config.vocabSize);
  if (bias !== undefined) opts.logitBias = bias;
  validateGenerateOptions(model, opts);
  return opts;
}
