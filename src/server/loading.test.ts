import assert from "node:assert/strict";
import { test } from "node:test";
import { loadingApp, retryAfterSeconds, type LoadingState } from "./loading.js";
import { formatRequest, noteTokens, withRequestLog, type RequestRecord } from "./request-log.js";

test("while loading: 503 with Retry-After and an OpenAI error for the API, /health 503, /status with progress", async () => {
  const state: LoadingState = { model: "Qwen/Qwen3-0.6B", progress: undefined, startedAt: Date.now() };
  const app = loadingApp(state);
  const chat = await app.request("/v1/chat/completions", { method: "POST", body: "{}" });
  assert.equal(chat.status, 503);
  assert.equal(chat.headers.get("retry-after"), "5");
  assert.deepEqual(((await chat.json()) as { error: { code: string } }).error.code, "model_loading");
  assert.equal((await app.request("/health")).status, 503);
  state.progress = 0.25;
  const status = (await (await app.request("/status")).json()) as { state: string; progress: number; model: string };
  assert.deepEqual([status.state, status.progress, status.model], ["loading", 0.25, "Qwen/Qwen3-0.6B"]);
  assert.match(((await (await app.request("/v1/models")).json()) as { error: { message: string } }).error.message, /still loading \(25%\)/);
});

test("Retry-After: the remaining load time at the rate so far, within 1–60 s", () => {
  const s = (progress: number | undefined, elapsed: number): number => retryAfterSeconds({ model: "m", progress, startedAt: 0 }, elapsed * 1000);
  assert.equal(s(undefined, 3), 5);
  assert.equal(s(0.5, 10), 10);
  assert.equal(s(0.99, 1), 1);
  assert.equal(s(0.01, 10), 60);
});

test("request log: one record per request once its body is sent, with the tokens the handler noted", async () => {
  const records: RequestRecord[] = [];
  const fetch = withRequestLog(async (req) => {
    noteTokens(12, 30);
    if (new URL(req.url).pathname === "/stream") {
      let n = 0;
      const body = new ReadableStream<Uint8Array>({ pull: (c) => (n++ < 100 ? c.enqueue(new Uint8Array(8)) : c.close()) });
      return new Response(body, { status: 200 });
    }
    return new Response(JSON.stringify({ ok: true }), { status: 201 });
  }, (r) => records.push(r));
  const res = await fetch(new Request("http://x/v1/chat/completions", { method: "POST" }));
  assert.equal(records.length, 0, "not before the body is read");
  await res.text();
  assert.deepEqual([records[0]!.method, records[0]!.path, records[0]!.status, records[0]!.prompt, records[0]!.completion, records[0]!.aborted], ["POST", "/v1/chat/completions", 201, 12, 30, false]);
  // A stream the client abandons is logged as such.
  const stream = await fetch(new Request("http://x/stream"));
  const reader = stream.body!.getReader();
  await reader.read();
  await reader.cancel();
  assert.equal(records[1]!.aborted, true);
  // Monitoring paths are not logged.
  await (await fetch(new Request("http://x/health"))).text();
  assert.equal(records.length, 2);
});

test("request log lines: text for people, JSON for machines", () => {
  const r: RequestRecord = { time: new Date("2025-06-01T12:00:00Z"), method: "POST", path: "/v1/chat/completions", status: 200, ms: 1520, prompt: 25, completion: 64, aborted: false };
  assert.equal(formatRequest(r, "text"), "2025-06-01T12:00:00.000Z POST /v1/chat/completions 200 1.52s prompt=25 completion=64 42.1 tok/s");
  assert.deepEqual(JSON.parse(formatRequest(r, "json")), {
    time: "2025-06-01T12:00:00.000Z",
    method: "POST",
    path: "/v1/chat/completions",
    status: 200,
    duration_ms: 1520,
    prompt_tokens: 25,
    completion_tokens: 64,
    tokens_per_second: 42.1,
  });
  assert.equal(formatRequest({ ...r, prompt: 0, completion: 0, path: "/v1/models", method: "GET", ms: 3 }, "text"), "2025-06-01T12:00:00.000Z GET /v1/models 200 0.00s");
});
