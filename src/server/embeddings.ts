/**
 * `POST /v1/embeddings` in OpenAI's shape: `input` as a string, strings, token ids or lists of
 * them; `dimensions` (Matryoshka); `encoding_format` float or base64 (little-endian float32, what
 * the official clients ask for by default). All inputs of a request share forward steps. Vendor
 * extension: `instruction`, the task a query is embedded for (`Instruct: {task}\nQuery:{text}`).
 */
import { z } from "zod";
import { embed } from "../engine/embed.js";
import { ApiError } from "./errors.js";
import { parseOrThrow } from "./params.js";
import type { Runtime } from "./runtime.js";

const ids = z.array(z.int().min(0));
const embeddingsSchema = z.looseObject({
  model: z.string({ error: "must be a string" }).optional(),
  input: z.union([z.string(), z.array(z.string()).min(1), ids.min(1), z.array(ids.min(1)).min(1)], {
    error: "must be a string, an array of strings, or token ids",
  }),
  encoding_format: z.enum(["float", "base64"], { error: 'must be "float" or "base64"' }).nullable().optional(),
  dimensions: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  instruction: z.string({ error: "must be a string" }).nullable().optional(),
  user: z.string({ error: "must be a string" }).optional(),
});

/** Little-endian float32 bytes in base64 (what `encoding_format: "base64"` returns). */
export function float32Base64(v: Float32Array): string {
  const bytes = new Uint8Array(v.length * 4);
  const dv = new DataView(bytes.buffer);
  v.forEach((x, i) => dv.setFloat32(i * 4, x, true));
  return Buffer.from(bytes).toString("base64");
}

/** Validate, embed (after admission) and answer in OpenAI's list shape. */
export async function createEmbeddings(rt: Runtime, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
  const req = parseOrThrow(embeddingsSchema, body);
  const raw = req.input;
  const inputs: (string | number[])[] = typeof raw === "string" ? [raw] : raw.length > 0 && typeof raw[0] === "number" ? [raw as number[]] : (raw as (string | number[])[]);
  const vocab = rt.model.config.vocabSize;
  inputs.forEach((x, i) => {
    const where = inputs.length > 1 ? `input[${i}]` : "input";
    if (x === "") throw new ApiError(400, `${where}: must not be empty`, "invalid_request_error", "input");
    if (typeof x !== "string" && x.some((id) => id >= vocab)) throw new ApiError(400, `${where}: token ids must be below the vocabulary size ${vocab}`, "invalid_request_error", "input");
  });
  const hidden = rt.model.config.hiddenSize;
  if (req.dimensions != null && req.dimensions > hidden) {
    throw new ApiError(400, `dimensions: must be <= ${hidden} (this model's embedding size)`, "invalid_request_error", "dimensions");
  }
  const release = await rt.admit(signal);
  try {
    const r = await embed(rt.model, rt.tokenizer, inputs, {
      signal,
      ...(req.dimensions == null ? {} : { dimensions: req.dimensions }),
      ...(req.instruction == null ? {} : { instruction: req.instruction }),
    });
    const base64 = req.encoding_format === "base64";
    return {
      object: "list",
      data: r.embeddings.map((e, index) => ({ object: "embedding", index, embedding: base64 ? float32Base64(e) : Array.from(e) })),
      model: rt.opts.modelId,
      usage: { prompt_tokens: r.promptTokens, total_tokens: r.promptTokens },
    };
  } finally {
    release();
  }
}
