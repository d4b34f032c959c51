// /v1/embeddings through the official `openai` client and /v1/rerank over HTTP, on a real server
// with the fixture checkpoint; numbers checked against an independent float64 forward pass.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { decodeSafetensorsF64, hiddenF64, type F64Config } from "../../test/helpers/f64-forward.js";
import { startServer, type RunningServer } from "./test-server.js";

const dir = completeModelDir("qwen3-dense-tiny");
const weights = decodeSafetensorsF64(readFileSync(join(dir, "model.safetensors")));
const f64: F64Config = { modelType: "qwen3", hidden: 32, heads: 4, kvHeads: 2, headDim: 16, layers: 2, eps: 1e-6, theta: 1e6, attentionBias: false, tied: true, numExperts: 0, topK: 0, normTopk: false, sparseStep: 1, mlpOnly: [] };
let server: RunningServer;
let client: OpenAI;

before(async () => {
  server = await startServer(dir);
  client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

/** Float64 last hidden state, cut to `dims`, L2-normalised. */
function reference(ids: number[], dims = 32): number[] {
  const states = hiddenF64(f64, weights, ids);
  const v = [...states[states.length - 1]!.slice(0, dims)];
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const maxDiff = (a: number[], b: number[]): number => {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
};

describe("/v1/embeddings through the openai client", () => {
  const texts = ["The capital of China is Beijing.", "Explain gravity"];
  const idsOf = (t: string): number[] => [...server.runtime.tokenizer.encode(t, { addSpecialTokens: false }), 151643];

  test("a batch of strings (the client's default base64 transport) matches float64 pooling within 2e-5, with usage", async (t) => {
    const r = await client.embeddings.create({ model: "test-model", input: texts });
    assert.equal(r.object, "list");
    assert.equal(r.model, "test-model");
    assert.deepEqual(r.data.map((d) => d.index), [0, 1]);
    const ids = texts.map(idsOf);
    const worst = Math.max(...r.data.map((d, i) => maxDiff(d.embedding, reference(ids[i]!))));
    t.diagnostic(`max |Δ| vs float64 ${worst.toExponential(2)}`);
    assert.ok(worst < 2e-5, `max |Δ| ${worst}`);
    const tokens = ids.reduce((a, x) => a + x.length, 0);
    assert.deepEqual(r.usage, { prompt_tokens: tokens, total_tokens: tokens });
  });

  test("encoding_format float returns the same numbers as base64; dimensions cut then renormalise", async () => {
    const asFloat = await client.embeddings.create({ model: "test-model", input: texts[0]!, encoding_format: "float" });
    const asB64 = await client.embeddings.create({ model: "test-model", input: texts[0]! });
    assert.ok(maxDiff(asFloat.data[0]!.embedding, asB64.data[0]!.embedding) === 0);
    const cut = await client.embeddings.create({ model: "test-model", input: texts[0]!, dimensions: 12 });
    assert.equal(cut.data[0]!.embedding.length, 12);
    assert.ok(maxDiff(cut.data[0]!.embedding, reference(idsOf(texts[0]!), 12)) < 2e-5);
  });

  test("token-id inputs (one list, or several) are embedded as given; the raw wire format is base64 float32", async () => {
    const ids = idsOf(texts[1]!);
    const one = await client.embeddings.create({ model: "test-model", input: ids });
    const two = await client.embeddings.create({ model: "test-model", input: [ids, idsOf(texts[0]!)] });
    assert.ok(maxDiff(one.data[0]!.embedding, reference(ids)) < 2e-5);
    assert.ok(maxDiff(two.data[0]!.embedding, one.data[0]!.embedding) < 1e-6);
    const raw = await fetch(`${server.url}/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: ids, encoding_format: "base64" }) });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]!.embedding, "base64");
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    assert.deepEqual(decoded, one.data[0]!.embedding);
  });

  test("the instruction extension embeds a query as `Instruct: {task}\\nQuery:{text}`", async () => {
    const task = "Given a web search query, retrieve relevant passages that answer the query";
    const r = await client.embeddings.create({ model: "test-model", input: "Explain gravity", instruction: task } as OpenAI.EmbeddingCreateParams);
    assert.ok(maxDiff(r.data[0]!.embedding, reference(idsOf(`Instruct: ${task}\nQuery:Explain gravity`))) < 2e-5);
  });

  test("bad requests are 400s naming the parameter", async () => {
    await assert.rejects(client.embeddings.create({ model: "test-model", input: "x", dimensions: 64 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /dimensions: must be <= 32/.test(e.message));
    await assert.rejects(client.embeddings.create({ model: "test-model", input: "" }), (e: unknown) => e instanceof OpenAI.BadRequestError && /input: must not be empty/.test(e.message));
    await assert.rejects(client.embeddings.create({ model: "test-model", input: [[5, 999999]] }), (e: unknown) => e instanceof OpenAI.BadRequestError && /vocabulary size/.test(e.message));
    await assert.rejects(client.embeddings.create({ model: "other", input: "x" }), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });
});

describe("/v1/rerank", () => {
  const post = (body: unknown) => fetch(`${server.url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  test("results are sorted by relevance_score, cut to top_n, with documents when asked; scores match the engine's float64-checked ones", async () => {
    const documents = ["The capital of China is Beijing.", "Gravity is a force.", { text: "Paris" }];
    const res = await post({ model: "test-model", query: "What is the capital of China?", documents, top_n: 2, return_documents: true });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { results: { index: number; relevance_score: number; document?: { text: string } }[]; usage: { total_tokens: number } };
    assert.equal(body.results.length, 2);
    assert.ok(body.results[0]!.relevance_score >= body.results[1]!.relevance_score);
    // Reference scores of these pairs from rerank.test.ts's float64 check: 0.0184, 0.0617, 0.0440.
    assert.deepEqual(body.results.map((r) => r.index), [1, 2]);
    assert.ok(Math.abs(body.results[0]!.relevance_score - 0.0617) < 1e-4);
    assert.deepEqual(body.results.map((r) => r.document?.text), ["Gravity is a force.", "Paris"]);
    assert.ok(body.usage.total_tokens > 100);
  });

  test("an empty document list or a missing query is a 400 naming the field", async () => {
    const a = await post({ query: "q", documents: [] });
    assert.equal(a.status, 400);
    assert.match(((await a.json()) as { error: { message: string } }).error.message, /documents: must not be empty/);
    const b = await post({ documents: ["d"] });
    assert.equal(b.status, 400);
    assert.match(((await b.json()) as { error: { message: string } }).error.message, /^query:/);
  });
});
