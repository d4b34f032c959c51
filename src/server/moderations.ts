/**
 * `POST /v1/moderations` in OpenAI's shape, answered by Qwen3Guard-Gen (the `--guard` model, or the
 * served model itself when it is a guard). Each input is judged as a user prompt; Qwen3Guard's
 * categories map onto OpenAI's where one exists, and the rest appear under their own keys
 * (`pii`, `unethical`, `politically-sensitive`, `copyright`, `jailbreak`). Only `Unsafe` flags;
 * the verdict, its probabilities and the model's own category names are in `qwen3guard`.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { GuardCategory } from "../chat/guard.js";
import { ApiError } from "./errors.js";
import { Guardrail } from "./guardrail.js";
import { parseOrThrow } from "./params.js";
import type { Runtime } from "./runtime.js";

/** OpenAI's moderation categories, and the Qwen3Guard-only ones under names of our own. */
const OPENAI_CATEGORIES = [
  "harassment",
  "harassment/threatening",
  "hate",
  "hate/threatening",
  "illicit",
  "illicit/violent",
  "self-harm",
  "self-harm/intent",
  "self-harm/instructions",
  "sexual",
  "sexual/minors",
  "violence",
  "violence/graphic",
] as const;

/** Where each Qwen3Guard category lands. */
export const CATEGORY_MAP: Readonly<Record<GuardCategory, string>> = {
  Violent: "violence",
  "Non-violent Illegal Acts": "illicit",
  "Sexual Content or Sexual Acts": "sexual",
  PII: "pii",
  "Suicide & Self-Harm": "self-harm",
  "Unethical Acts": "unethical",
  "Politically Sensitive Topics": "politically-sensitive",
  "Copyright Violation": "copyright",
  Jailbreak: "jailbreak",
};

const textPart = z.looseObject({ type: z.literal("text", { error: 'only "text" inputs are supported' }), text: z.string({ error: "must be a string" }) });
const moderationSchema = z.looseObject({
  model: z.string({ error: "must be a string" }).optional(),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(textPart).min(1)], { error: "must be a string, an array of strings, or text parts" }),
});

const selfGuards = new WeakMap<Runtime, Guardrail>();

/** The guard answering moderation requests: `--guard`, else the served model. */
function guardOf(rt: Runtime): Guardrail {
  if (rt.opts.guard !== undefined) return rt.opts.guard;
  let g = selfGuards.get(rt);
  if (g === undefined) selfGuards.set(rt, (g = new Guardrail(rt.model, rt.tokenizer, "flag")));
  return g;
}

/** Validate, judge each input (after admission) and answer in OpenAI's shape. */
export async function createModeration(rt: Runtime, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
  const req = parseOrThrow(moderationSchema, body);
  const inputs = typeof req.input === "string" ? [req.input] : req.input.map((x) => (typeof x === "string" ? x : x.text));
  inputs.forEach((x, i) => {
    if (x === "") throw new ApiError(400, `input${inputs.length > 1 ? `[${i}]` : ""}: must not be empty`, "invalid_request_error", "input");
  });
  const guard = guardOf(rt);
  const release = await rt.admit(signal);
  try {
    const results = [];
    for (const text of inputs) {
      const v = await guard.check([{ role: "user", content: text }], signal);
      const flagged = v.safety === "Unsafe";
      const named = new Set(v.categories.map((c) => CATEGORY_MAP[c]));
      const keys = [...OPENAI_CATEGORIES, ...Object.values(CATEGORY_MAP).filter((k) => !(OPENAI_CATEGORIES as readonly string[]).includes(k))];
      const risk = v.probabilities.Unsafe + v.probabilities.Controversial;
      results.push({
        flagged,
        categories: Object.fromEntries(keys.map((k) => [k, flagged && named.has(k)])),
        category_scores: Object.fromEntries(keys.map((k) => [k, named.has(k) ? risk : 0])),
        category_applied_input_types: Object.fromEntries(keys.map((k) => [k, named.has(k) ? ["text"] : []])),
        qwen3guard: { safety: v.safety, categories: v.categories, probabilities: v.probabilities },
      });
    }
    return { id: `modr-${randomUUID()}`, model: rt.opts.modelId, results };
  } finally {
    release();
  }
}
