/**
 * Structured output end to end against the real server with a random-weight fixture model. The
 * structured-output helpers of the three clients people use, unchanged: the official `openai`
 * client's `chat.completions.parse` with `zodResponseFormat`, the Vercel AI SDK's `generateObject`
 * (OpenAI-compatible provider) and LangChain's `withStructuredOutput` (JSON Schema and function
 * calling). Each sends the JSON Schema zod makes (bounded integers, enums, formats, optional and
 * nullable fields), the server enforces it, and the client parses the answer with the same zod
 * schema. Also: `schema_check` names what a grammar cannot enforce; a forced call cut off by
 * max_tokens ends "length" with a partial call and no raw `<tool_call>` text.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { ChatOpenAI } from "@langchain/openai";
import { generateObject } from "ai";
import OpenAI from "openai";
import { zodResponseFormat, zodFunction } from "openai/helpers/zod";
import { z } from "zod";
import { completeModelDir, removeModelDir } from "../../test/helpers/complete-model.js";
import { startServer, type RunningServer } from "./test-server.js";

// Random weights write random text: strings are bounded so every answer ends within the token limit.
const Weather = z.object({
  city: z.string().min(1).max(12),
  temperature: z.int().min(-60).max(60),
  unit: z.enum(["celsius", "fahrenheit"]),
  day: z.iso.date(),
  humid: z.boolean(),
  note: z.string().max(8).nullable(),
  tags: z.array(z.string().max(6)).max(2),
});

let server: RunningServer;
let dir: string;

before(async () => {
  dir = completeModelDir("qwen3-dense-tiny");
  server = await startServer(dir, { maxRunning: 4 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
  removeModelDir(dir);
});

const noThinking = { enable_thinking: false };

describe("structured-output helpers of the clients people use", () => {
  test("openai: chat.completions.parse with zodResponseFormat returns the parsed object", async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.parse({
        model: "test-model",
        messages: [{ role: "user", content: "Weather in Lahore as JSON." }],
        response_format: zodResponseFormat(Weather, "weather"),
        max_completion_tokens: 400,
        temperature: 1,
        seed,
        ...noThinking,
      });
      const parsed = r.choices[0]!.message.parsed;
      assert.ok(parsed !== null, r.choices[0]!.message.content ?? "");
      assert.deepEqual(Weather.parse(parsed), parsed);
    }
  });

  test("openai: a zodFunction tool forced by tool_choice parses its arguments", async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const r = await client.chat.completions.parse({
      model: "test-model",
      messages: [{ role: "user", content: "Report the weather." }],
      tools: [zodFunction({ name: "report", parameters: Weather })],
      tool_choice: { type: "function", function: { name: "report" } },
      max_completion_tokens: 400,
      temperature: 1,
      seed: 4,
      ...noThinking,
    });
    const call = r.choices[0]!.message.tool_calls?.[0];
    assert.equal(r.choices[0]!.finish_reason, "tool_calls");
    assert.ok(call?.type === "function");
    assert.deepEqual(Weather.parse(call.function.parsed_arguments), call.function.parsed_arguments);
  });

  test("Vercel AI SDK: generateObject with an OpenAI-compatible provider", async () => {
    const qwenrt = createOpenAICompatible({ name: "qwenrt", baseURL: server.url, supportsStructuredOutputs: true });
    for (const seed of [5, 6]) {
      const { object, finishReason } = await generateObject({
        model: qwenrt.chatModel("test-model"),
        schema: Weather,
        prompt: "Weather in Oslo.",
        seed,
        temperature: 1,
        maxOutputTokens: 400,
        maxRetries: 0,
        providerOptions: { qwenrt: noThinking },
      });
      assert.equal(finishReason, "stop");
      assert.deepEqual(Weather.parse(object), object);
    }
  });

  for (const method of ["jsonSchema", "functionCalling"] as const) {
    test(`LangChain: withStructuredOutput (${method})`, async () => {
      const llm = new ChatOpenAI({
        model: "test-model",
        apiKey: "unused",
        configuration: { baseURL: server.url },
        temperature: 1,
        maxTokens: 400,
        maxRetries: 0,
        modelKwargs: { ...noThinking, seed: 7 },
      });
      const structured = llm.withStructuredOutput(Weather, { method, name: "weather" });
      const out = await structured.invoke("Weather in Quito.");
      assert.deepEqual(Weather.parse(out), out);
    });
  }

  test("schema_check names unenforced keywords and reports whether the answer meets them, streamed too", async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const schema = {
      type: "object",
      properties: { pts: { type: "array", items: { type: "object", properties: { x: { type: "integer", minimum: 0, maximum: 1 } }, required: ["x"], additionalProperties: false }, uniqueItems: true, minItems: 3, maxItems: 3 } },
      required: ["pts"],
      additionalProperties: false,
    };
    const params = {
      model: "test-model",
      messages: [{ role: "user" as const, content: "Points" }],
      response_format: { type: "json_schema" as const, json_schema: { name: "pts", schema, strict: true } },
      max_tokens: 200,
      temperature: 1,
      seed: 2,
      ...noThinking,
    };
    const r = await client.chat.completions.create(params);
    // Three objects from {"x": 0} and {"x": 1}: a duplicate is certain, and the check says so.
    const check = (r.choices[0] as unknown as { schema_check: { unenforced: { where: string }[]; valid: boolean; violations: { keyword: string }[] } }).schema_check;
    assert.deepEqual(check.unenforced.map((u) => u.where), ["response_format.json_schema.schema.properties.pts.uniqueItems"]);
    assert.equal(check.valid, false);
    assert.deepEqual(check.violations.map((v) => v.keyword), ["uniqueItems"]);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let last: unknown;
    for await (const chunk of stream) if (chunk.choices[0]?.finish_reason != null) last = chunk.choices[0];
    assert.deepEqual((last as { schema_check: unknown }).schema_check, check);
    // A schema the grammar enforces whole gets no schema_check.
    const plain = await client.chat.completions.create({ ...params, response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] } } } });
    assert.equal("schema_check" in plain.choices[0]!, false);
  });

  test("a forced tool call cut off by max_tokens: finish_reason length, a partial call, no raw <tool_call> content", async () => {
    const client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const params = {
      model: "test-model",
      messages: [{ role: "user" as const, content: "Call it" }],
      tools: [{ type: "function" as const, function: { name: "save", parameters: { type: "object", properties: { text: { type: "string", minLength: 300 } }, required: ["text"] } } }],
      tool_choice: { type: "function" as const, function: { name: "save" } },
      max_tokens: 40,
      temperature: 1,
      seed: 9,
      ...noThinking,
    };
    const r = await client.chat.completions.create(params);
    const c = r.choices[0]!;
    assert.equal(c.finish_reason, "length");
    assert.ok(!(c.message.content ?? "").includes("<tool_call>"), c.message.content ?? "");
    const call = c.message.tool_calls?.[0];
    assert.ok(call?.type === "function" && call.function.name === "save");
    assert.match(call.function.arguments, /^\{"text": ?"/);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let content = "";
    let args = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? "";
      args += chunk.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual([content, args, finish], ["", call.function.arguments, "length"]);
  });
});
