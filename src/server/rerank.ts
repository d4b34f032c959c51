/**
 * `POST /v1/rerank` in the Jina/Cohere shape llama.cpp and vLLM serve: `query`,
 * `documents` (strings or `{text}`), `top_n`, `return_documents`; answers
 * `results[{index, relevance_score, document?}]`, most relevant first. Vendor extension:
 * `instruction`, the task (default: the model card's web-search instruction).
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { rerank } from "../engine/rerank.js";
import { parseOrThrow } from "./params.js";
import type { Runtime } from "./runtime.js";

const rerankSchema = z.looseObject({
  model: z.string({ error: "must be a string" }).optional(),
  query: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }),
  documents: z
    .array(z.union([z.string(), z.looseObject({ text: z.string() })], { error: "must be a string or an object with text" }), { error: "must be an array" })
    .min(1, { error: "must not be empty" }),
  top_n: z.int({ error: "must be an integer" }).min(1, { error: "must be >= 1" }).nullable().optional(),
  return_documents: z.boolean({ error: "must be a boolean" }).nullable().optional(),
  instruction: z.string({ error: "must be a string" }).nullable().optional(),
});

/** Validate, score every document (after admission) and answer sorted by relevance. */
export async function createRerank(rt: Runtime, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
  const req = parseOrThrow(rerankSchema, body);
  const texts = req.documents.map((d) => (typeof d === "string" ? d : d.text));
  const release = await rt.admit(signal);
  try {
    const r = await rerank(rt.model, rt.tokenizer, req.query, texts, { signal, ...(req.instruction == null ? {} : { instruction: req.instruction }) });
    const order = r.scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
    const results = order.slice(0, req.top_n ?? order.length).map(({ index, score }) => ({
      index,
      relevance_score: score,
      ...(req.return_documents === true ? { document: { text: texts[index] } } : {}),
    }));
    return { id: `rerank-${randomUUID()}`, model: rt.opts.modelId, results, usage: { prompt_tokens: r.promptTokens, total_tokens: r.promptTokens } };
  } finally {
    release();
  }
}
