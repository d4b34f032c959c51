/**
 * The OpenAI Agents SDK (`@openai/agents`, Responses API) pointed at the real server: an agent with
 * one tool runs to completion on a fixture model, `tool_choice` forcing the call, both as one
 * request per turn and streamed.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from "@openai/agents";
import OpenAI from "openai";
import { z } from "zod";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
let client: OpenAI;

before(async () => {
  setTracingDisabled(true); // the SDK would otherwise export traces to OpenAI's servers
  server = await startServer(completeModelDir("qwen3-dense-tiny"), { dataDir: mkdtempSync(join(tmpdir(), "qwenrt-agents-")) });
  client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

function weatherAgent(calls: string[]): Agent {
  const getWeather = tool({
    name: "get_weather",
    description: "The weather in a city",
    parameters: z.object({ city: z.string().max(12) }),
    execute: async ({ city }) => {
      calls.push(city);
      return `sunny in ${city}`;
    },
  });
  return new Agent({
    name: "weather",
    instructions: "Answer weather questions with the get_weather tool.",
    model: new OpenAIResponsesModel(client, "test-model"),
    tools: [getWeather],
    // Forced on the first turn; the SDK resets it to "auto" after the call, so the run ends.
    modelSettings: { toolChoice: "get_weather", temperature: 0, maxTokens: 40, reasoning: { effort: "none" } },
  });
}

test("an agent run: the forced tool call executes, its output goes back, the run completes", { timeout: 120_000 }, async () => {
  const calls: string[] = [];
  const result = await run(weatherAgent(calls), "Weather in Paris?");
  assert.equal(calls.length, 1);
  assert.equal(typeof calls[0], "string");
  const types = result.newItems.map((i) => i.type);
  assert.deepEqual(types.slice(0, 2), ["tool_call_item", "tool_call_output_item"]);
  assert.equal(types.at(-1), "message_output_item");
  assert.equal(typeof result.finalOutput, "string");
  assert.equal(result.rawResponses.length, 2);
  // The second turn saw the first: its prompt is longer by the call and its output.
  const [u1, u2] = result.rawResponses.map((r) => r.usage.inputTokens);
  assert.ok(u2! > u1!, `${u1} then ${u2} input tokens`);
});

test("the same run streamed", { timeout: 120_000 }, async () => {
  const calls: string[] = [];
  const stream = await run(weatherAgent(calls), "Weather in Oslo?", { stream: true });
  const kinds = new Set<string>();
  for await (const e of stream) kinds.add(e.type);
  await stream.completed;
  assert.equal(calls.length, 1);
  assert.ok(kinds.has("raw_model_stream_event") && kinds.has("run_item_stream_event"), [...kinds].join());
  assert.equal(typeof stream.finalOutput, "string");
});
