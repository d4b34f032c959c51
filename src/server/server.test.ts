/**
 * The real server on loopback with a fixture model (random weights, real tokenizer and template),
 * driven by the official `openai` client: chat and completions, streaming, thinking, budgets, tool
 * calls, structured output, errors, concurrency, aborts, prefix reuse.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
let client: OpenAI;

before(async () => {
  server = await startServer(completeModelDir("qwen3-dense-tiny"), { maxRunning: 16, maxWaiting: 64 });
  client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

const user = (content: string) => [{ role: "user" as const, content }];

/** A tiny checker for the schema subset these tests use (independent of the grammar code). */
function validates(value: unknown, schema: Record<string, unknown>): boolean {
  const t = schema.type;
  if (Array.isArray(schema.enum)) return schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value));
  if (t === "object") {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const req = (schema.required ?? []) as string[];
    if (!req.every((k) => k in value)) return false;
    return Object.entries(value).every(([k, v]) => k in props && validates(v, props[k]!));
  }
  if (t === "array") return Array.isArray(value) && value.length <= ((schema.maxItems as number) ?? Infinity) && value.every((v) => validates(v, schema.items as Record<string, unknown>));
  if (t === "string") return typeof value === "string" && value.length <= ((schema.maxLength as number) ?? Infinity);
  if (t === "integer") return Number.isInteger(value);
  if (t === "boolean") return typeof value === "boolean";
  return false;
}

const weatherSchema = {
  type: "object",
  properties: {
    city: { type: "string", maxLength: 12 },
    unit: { enum: ["celsius", "fahrenheit"] },
    days: { type: "integer" },
  },
  required: ["city", "unit", "days"],
  additionalProperties: false,
};

describe("openai client against qwenrt serve", () => {
  test("models list names the served model", async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["test-model"],
    );
  });

  test("non-streaming chat returns content, finish reason and usage", async () => {
    const r = await client.chat.completions.create({
      model: "test-model",
      messages: user("Hello"),
      max_tokens: 8,
      temperature: 0,
      // @ts-expect-error -- vendor extension passed through the body
      chat_template_kwargs: { enable_thinking: false },
    });
    const c = r.choices[0]!;
    assert.equal(typeof c.message.content, "string");
    assert.ok(c.finish_reason === "length" || c.finish_reason === "stop");
    assert.ok(r.usage!.prompt_tokens > 5);
    assert.ok(r.usage!.completion_tokens >= 1 && r.usage!.completion_tokens <= 8);
    assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  test("streaming deltas concatenate to the non-streaming answer (greedy)", async () => {
    const body = { model: "test-model", messages: user("Tell me a story"), max_tokens: 12, temperature: 0, enable_thinking: false };
    const whole = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const ch of chunk.choices) {
        text += ch.delta.content ?? "";
        finish = ch.finish_reason ?? finish;
      }
    }
    assert.equal(text, whole.choices[0]!.message.content);
    assert.equal(finish, whole.choices[0]!.finish_reason);
    assert.equal(usage?.completion_tokens, whole.usage?.completion_tokens);
  });

  test("thinking on: output without </think> is all reasoning; a budget forces the thought closed", async () => {
    const open = await client.chat.completions.create({ model: "test-model", messages: user("Think"), max_tokens: 6, temperature: 0 });
    const m = open.choices[0]!.message as { content: string | null; reasoning_content?: string };
    assert.equal(typeof m.reasoning_content, "string");
    const budgeted = await client.chat.completions.create({
      model: "test-model",
      messages: user("Think briefly"),
      max_tokens: 60,
      temperature: 0,
      // @ts-expect-error -- vendor extension
      thinking_budget: 3,
    });
    const b = budgeted.choices[0]!.message as { content: string | null; reasoning_content?: string };
    assert.match(b.reasoning_content ?? "", /Considering the limited time by the user/);
    assert.ok(!(b.content ?? "").includes("</think>"), "the closing tag never leaks into content");
    assert.ok((budgeted.usage as { completion_tokens_details?: { reasoning_tokens?: number } }).completion_tokens_details!.reasoning_tokens! <= 3);
  });

  test("named tool_choice yields a valid call even from random weights", async () => {
    const r = await client.chat.completions.create({
      model: "test-model",
      messages: user("Weather in Paris?"),
      tools: [
        { type: "function", function: { name: "get_weather", description: "Weather", parameters: weatherSchema } },
        { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 300,
      temperature: 0.8,
      seed: 7,
      // @ts-expect-error -- vendor extension
      enable_thinking: false,
    });
    const c = r.choices[0]!;
    assert.equal(c.finish_reason, "tool_calls");
    const call = c.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.function.name, "get_weather");
    assert.ok(validates(JSON.parse(call.function.arguments), weatherSchema), call.function.arguments);
    assert.match(call.id, /^call_/);
  });

  test("json_schema response_format output parses and validates, streamed too", async () => {
    const schema = { type: "object", properties: { tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 3 }, ok: { type: "boolean" } }, required: ["tags", "ok"], additionalProperties: false };
    const params = {
      model: "test-model",
      messages: user("JSON please"),
      response_format: { type: "json_schema" as const, json_schema: { name: "out", schema, strict: true } },
      max_tokens: 300,
      temperature: 1,
      seed: 3,
      enable_thinking: false,
    };
    const r = await client.chat.completions.create(params as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const value: unknown = JSON.parse(r.choices[0]!.message.content!);
    assert.ok(validates(value, schema), r.choices[0]!.message.content!);
    const stream = await client.chat.completions.create({ ...params, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, r.choices[0]!.message.content);
  });

  test("json_schema with thinking on: free reasoning, then valid JSON after a forced </think>", async () => {
    const r = await client.chat.completions.create({
      model: "test-model",
      messages: user("JSON after thinking"),
      response_format: { type: "json_schema", json_schema: { name: "w", schema: weatherSchema } },
      max_tokens: 300,
      temperature: 0.7,
      seed: 11,
      // @ts-expect-error -- vendor extension
      thinking_budget: 4,
    });
    const m = r.choices[0]!.message as { content: string | null; reasoning_content?: string };
    assert.match(m.reasoning_content ?? "", /Considering the limited time/);
    assert.ok(validates(JSON.parse(m.content!), weatherSchema), m.content!);
  });

  test("n choices, logprobs with top_logprobs, and tool_choice required", async () => {
    const r = await client.chat.completions.create({
      model: "test-model",
      messages: user("Pick"),
      n: 2,
      max_tokens: 4,
      temperature: 1,
      seed: 5,
      logprobs: true,
      top_logprobs: 3,
      ...{ enable_thinking: false },
    });
    assert.equal(r.choices.length, 2);
    for (const c of r.choices) {
      const lp = c.logprobs!.content!;
      assert.ok(lp.length >= 1);
      for (const t of lp) {
        assert.ok(t.logprob <= 0);
        assert.equal(t.top_logprobs.length, 3);
        assert.ok(t.top_logprobs[0]!.logprob >= t.top_logprobs[2]!.logprob);
      }
    }
    const req = await client.chat.completions.create({
      model: "test-model",
      messages: user("Use a tool"),
      tools: [{ type: "function", function: { name: "ping", parameters: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } } }],
      tool_choice: "required",
      parallel_tool_calls: false,
      max_tokens: 120,
      temperature: 0.5,
      seed: 2,
      ...{ enable_thinking: false },
    });
    const call = req.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.equal(call.function.name, "ping");
    assert.ok(Number.isInteger((JSON.parse(call.function.arguments) as { n: unknown }).n));
  });

  test("text completions, plain and streamed", async () => {
    const r = await client.completions.create({ model: "test-model", prompt: "Once upon a time", max_tokens: 5, temperature: 0, logprobs: 2 });
    assert.equal(typeof r.choices[0]!.text, "string");
    assert.equal(r.choices[0]!.logprobs!.tokens!.length, r.usage!.completion_tokens);
    const s = await client.completions.create({ model: "test-model", prompt: "Once upon a time", max_tokens: 5, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, r.choices[0]!.text);
  });

  test("bad requests get OpenAI-style 4xx errors naming the field, and the server keeps serving", async () => {
    const post = async (body: string) => {
      const res = await fetch(`${server.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
      return { status: res.status, json: (await res.json()) as { error: { message: string; type: string; param: string | null; code: string | null } } };
    };
    const malformed = await post("{not json");
    assert.equal(malformed.status, 400);
    assert.match(malformed.json.error.message, /not valid JSON/);
    const missing = await post(JSON.stringify({ model: "test-model" }));
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.param, "messages");
    const wrongType = await post(JSON.stringify({ messages: user("x"), temperature: "hot" }));
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.json.error.param, "temperature");
    const badRole = await post(JSON.stringify({ messages: [{ role: "wizard", content: "x" }] }));
    assert.equal(badRole.json.error.param, "messages[0].role");
    const badTop = await post(JSON.stringify({ messages: user("x"), top_p: 7 }));
    assert.equal(badTop.status, 400);
    assert.match(badTop.json.error.message, /top_p/);
    const overflow = await post(JSON.stringify({ messages: user("x"), max_tokens: 10_000_000 }));
    assert.equal(overflow.status, 400);
    assert.equal(overflow.json.error.code, "context_length_exceeded");
    assert.match(overflow.json.error.message, /maximum context length is 40960 tokens.*requested 100000\d\d tokens/);
    const badTool = await post(JSON.stringify({ messages: user("x"), tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } }));
    assert.equal(badTool.json.error.param, "tool_choice.function.name");
    await assert.rejects(client.chat.completions.create({ model: "nope", messages: user("x") }), (e: unknown) => e instanceof OpenAI.NotFoundError);
    const huge = await post(JSON.stringify({ messages: user("x".repeat(17 * 2 ** 20)) }));
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, "request_too_large");
    const notFound = await fetch(`${server.url}/audio/speech`, { method: "POST", body: "{}" });
    assert.equal(notFound.status, 404);
    assert.equal(((await notFound.json()) as { error: { code: string } }).error.code, "not_found");
    const health = await fetch(`${server.url.replace(/\/v1$/, "")}/health`);
    assert.deepEqual(await health.json(), { status: "ok" });
    const again = await client.chat.completions.create({ model: "test-model", messages: user("still there?"), max_tokens: 2 });
    assert.equal(again.choices.length, 1);
  });

  test("8 concurrent streams all finish, batched into shared forward steps", async () => {
    const before = { ...server.runtime.engine.stats };
    const runs = Array.from({ length: 8 }, async (_, i) => {
      const s = await client.chat.completions.create({ model: "test-model", messages: user(`Question number ${i}`), max_tokens: 10, temperature: 0, stream: true, ...{ enable_thinking: false } });
      let finish: string | null = null;
      let pieces = 0;
      for await (const chunk of s) {
        pieces++;
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return { finish, pieces };
    });
    const results = await Promise.all(runs);
    for (const r of results) assert.ok(r.finish === "length" || r.finish === "stop");
    const st = server.runtime.engine.stats;
    assert.ok(st.maxBatch >= 4, `expected batching, max batch ${st.maxBatch}`);
    assert.ok(st.segments - before.segments > st.steps - before.steps, "more sequences than steps: steps were shared");
  });

  test("a client abort mid-stream cancels its sequence and the server goes on", async () => {
    const abortedBefore = server.runtime.counters.aborted;
    const controller = new AbortController();
    const s = await client.chat.completions.create(
      { model: "test-model", messages: user("Go on forever"), max_tokens: 5000, temperature: 0, stream: true, ...{ ignore_eos: true } },
      { signal: controller.signal },
    );
    let n = 0;
    // The openai client ends iteration quietly (or with an abort error) once its signal fires.
    try {
      for await (const _ of s) if (++n === 3) controller.abort();
    } catch (e) {
      assert.ok(e instanceof OpenAI.APIUserAbortError || (e as Error).name === "AbortError", String(e));
    }
    assert.equal(n, 3, "the stream stopped right after the abort");
    for (let i = 0; i < 100 && server.runtime.counters.aborted === abortedBefore; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(server.runtime.counters.aborted, abortedBefore + 1);
    assert.equal(server.runtime.runningCount, 0);
    const ok = await client.chat.completions.create({ model: "test-model", messages: user("after abort"), max_tokens: 2 });
    assert.equal(ok.choices.length, 1);
  });

  test("a follow-up turn reuses the cached prefix", async () => {
    const messages = [{ role: "system" as const, content: "You are a helpful assistant. ".repeat(8) }, ...user("First question")];
    const first = await client.chat.completions.create({ model: "test-model", messages, max_tokens: 4, temperature: 0, ...{ enable_thinking: false } });
    const second = await client.chat.completions.create({
      model: "test-model",
      messages: [...messages, { role: "assistant", content: first.choices[0]!.message.content ?? "" }, ...user("Second question")],
      max_tokens: 4,
      temperature: 0,
      ...{ enable_thinking: false },
    });
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    assert.ok(cached >= 50, `cached ${cached} of ${second.usage?.prompt_tokens}`);
  });

  test("/metrics exposes Prometheus counters", async () => {
    const text = await (await fetch(`${server.url.replace(/\/v1$/, "")}/metrics`)).text();
    assert.match(text, /# TYPE qwenrt_generation_tokens_total counter/);
    assert.match(text, /qwenrt_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} \d+/);
  });
});
