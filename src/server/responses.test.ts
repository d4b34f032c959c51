/**
 * The Responses API on the real server (fixture model, SQLite store in a temp dir), driven by the
 * official `openai` client: text, streaming with the event order, a function-call round trip over
 * `previous_response_id`, json_schema, thinking on and off, retrieve/delete/input_items, bad input.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI, { APIError } from "openai";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
let client: OpenAI;
const model = completeModelDir("qwen3-dense-tiny");

before(async () => {
  server = await startServer(model, { dataDir: mkdtempSync(join(tmpdir(), "qwenrt-resp-")) });
  client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

const off = { effort: "none" as const };

const weather = {
  type: "object",
  properties: { city: { type: "string", maxLength: 12 }, unit: { enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};

async function status(p: Promise<unknown>): Promise<APIError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof APIError) return e;
    throw e;
  }
  assert.fail("expected an API error");
}

describe("Responses API with the openai client", () => {
  test("create → text message, usage; retrieve, input_items and delete", async () => {
    const r = await client.responses.create({ model: "test-model", input: "Hello", max_output_tokens: 8, temperature: 0, reasoning: off });
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, "response");
    assert.deepEqual(r.output.map((o) => o.type), ["message"]);
    const msg = r.output[0] as OpenAI.Responses.ResponseOutputMessage;
    assert.equal(msg.content[0]!.type, "output_text");
    assert.equal(r.output_text, (msg.content[0] as OpenAI.Responses.ResponseOutputText).text);
    assert.ok(r.status === "completed" || r.status === "incomplete");
    assert.ok(r.usage!.input_tokens > 5 && r.usage!.output_tokens >= 1 && r.usage!.output_tokens <= 8);
    assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + r.usage!.output_tokens);

    const got = await client.responses.retrieve(r.id);
    assert.equal(got.id, r.id);
    assert.equal(got.output_text, r.output_text);
    const items = await client.responses.inputItems.list(r.id);
    assert.equal(items.data.length, 1);
    const first = items.data[0] as { type: string; role: string; content: { type: string; text: string }[] };
    assert.deepEqual([first.type, first.role, first.content[0]!.text], ["message", "user", "Hello"]);

    const del: unknown = await client.responses.delete(r.id);
    assert.deepEqual(del, { id: r.id, object: "response", deleted: true });
    const gone = await status(client.responses.retrieve(r.id));
    assert.equal(gone.status, 404);
  });

  test("stream: events in OpenAI's order, deltas concatenate to the non-streamed greedy answer", async () => {
    const params = { model: "test-model", input: "Tell me a story", max_output_tokens: 12, temperature: 0, reasoning: off };
    const whole = await client.responses.create(params);
    const stream = client.responses.stream(params);
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = "";
    for await (const e of stream) {
      types.push(e.type);
      seqs.push(e.sequence_number);
      if (e.type === "response.output_text.delta") deltas += e.delta;
    }
    const final = await stream.finalResponse();
    assert.deepEqual(seqs, seqs.map((_, i) => i));
    const terminal = whole.status === "completed" ? "response.completed" : "response.incomplete";
    const textDeltas = types.filter((t) => t === "response.output_text.delta").length;
    assert.ok(textDeltas >= 1);
    assert.deepEqual(types, [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(textDeltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      terminal,
    ]);
    assert.equal(deltas, whole.output_text);
    assert.equal(final.output_text, whole.output_text);
    assert.equal(final.usage!.output_tokens, whole.usage!.output_tokens);
  });

  test("function call round trip: forced call, then its output over previous_response_id", async () => {
    const tools = [{ type: "function" as const, name: "get_weather", description: "Weather", parameters: weather, strict: true }];
    const r1 = await client.responses.create({
      model: "test-model",
      input: [{ role: "user", content: "Weather in Paris?" }],
      instructions: "You are a weather bot.",
      tools,
      tool_choice: { type: "function", name: "get_weather" },
      max_output_tokens: 200,
      temperature: 0.8,
      reasoning: off,
      // @ts-expect-error -- extension field (as on /v1/chat/completions)
      seed: 7,
    });
    const call = r1.output.find((o) => o.type === "function_call");
    assert.ok(call !== undefined, JSON.stringify(r1.output));
    assert.equal(call.name, "get_weather");
    assert.match(call.call_id, /^call_/);
    const args = JSON.parse(call.arguments) as { city: unknown; unit: unknown };
    assert.equal(typeof args.city, "string");
    assert.ok(args.unit === "celsius" || args.unit === "fahrenheit");

    const r2 = await client.responses.create({
      model: "test-model",
      previous_response_id: r1.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: '{"temp": 21}' }],
      instructions: "You are a weather bot.", // instructions do not carry over (as OpenAI's)
      tools,
      max_output_tokens: 6,
      temperature: 0,
      reasoning: off,
    });
    assert.equal(r2.previous_response_id, r1.id);
    assert.ok(r2.usage!.input_tokens > r1.usage!.input_tokens, "the second prompt holds the first conversation");
    assert.ok(r2.usage!.input_tokens_details.cached_tokens > r1.usage!.input_tokens / 2, `and starts from its cached KV: ${JSON.stringify([r1.usage, r2.usage])}`);
    const items = await client.responses.inputItems.list(r2.id);
    assert.deepEqual(items.data.map((i) => i.type), ["function_call_output"]);

    // A streamed forced call: output_item.added (function_call), argument deltas, .done with the arguments.
    const stream = client.responses.stream({ ...{ model: "test-model", input: "Paris?", tools, tool_choice: "required" as const, max_output_tokens: 200, reasoning: off } });
    const types: string[] = [];
    let argDeltas = "";
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === "response.function_call_arguments.delta") argDeltas += e.delta;
    }
    const f = (await stream.finalResponse()).output.find((o) => o.type === "function_call");
    assert.ok(f !== undefined);
    assert.equal(argDeltas, f.arguments);
    assert.ok(types.indexOf("response.output_item.added") < types.indexOf("response.function_call_arguments.delta"));
    assert.ok(types.indexOf("response.function_call_arguments.done") < types.lastIndexOf("response.output_item.done"));
  });

  test("text.format json_schema: the output text parses and fits the schema", async () => {
    const r = await client.responses.create({
      model: "test-model",
      input: "JSON please",
      text: { format: { type: "json_schema", name: "w", schema: weather, strict: true } },
      max_output_tokens: 200,
      temperature: 0,
      reasoning: off,
    });
    const v = JSON.parse(r.output_text) as { city: unknown; unit: unknown };
    assert.deepEqual(Object.keys(v).sort(), ["city", "unit"]);
    assert.ok(typeof v.city === "string" && v.city.length <= 12);
  });

  test("text.format json_schema with uniqueItems over objects: schema_check names it and reports the duplicate", async () => {
    const schema = {
      type: "object",
      properties: { pts: { type: "array", items: { type: "object", properties: { x: { type: "integer", minimum: 0, maximum: 1 } }, required: ["x"], additionalProperties: false }, uniqueItems: true, minItems: 3, maxItems: 3 } },
      required: ["pts"],
      additionalProperties: false,
    };
    const r = await client.responses.create({
      model: "test-model",
      input: "Points",
      text: { format: { type: "json_schema", name: "pts", schema, strict: true } },
      max_output_tokens: 200,
      temperature: 1,
      reasoning: off,
    });
    // Three objects from {"x": 0} and {"x": 1}: a duplicate is certain, and the check says so.
    const check = (r as unknown as { schema_check: { unenforced: { where: string }[]; valid: boolean; violations: { keyword: string }[] } }).schema_check;
    assert.deepEqual(check.unenforced.map((u) => u.where), ["text.format.schema.properties.pts.uniqueItems"]);
    assert.equal(check.valid, false);
    assert.deepEqual(check.violations.map((v) => v.keyword), ["uniqueItems"]);
  });

  test("a forced function call cut off by max_output_tokens: status incomplete, the partial call, no raw <tool_call> text", async () => {
    const parameters = { type: "object", properties: { text: { type: "string", minLength: 300 } }, required: ["text"], additionalProperties: false };
    const tools = [{ type: "function" as const, name: "save", parameters, strict: true }];
    // @ts-expect-error -- seed is an extension field (as on /v1/chat/completions)
    const r = await client.responses.create({ model: "test-model", input: "Call it", tools, tool_choice: { type: "function", name: "save" }, max_output_tokens: 40, temperature: 1, seed: 9, reasoning: off });
    assert.equal(r.status, "incomplete");
    assert.deepEqual(r.incomplete_details, { reason: "max_output_tokens" });
    const call = r.output.find((o) => o.type === "function_call");
    assert.ok(call !== undefined && call.name === "save", JSON.stringify(r.output));
    assert.match(call.arguments, /^\{"text": ?"/);
    assert.ok(!r.output_text.includes("<tool_call>"), r.output_text);
  });

  test("thinking on gives a reasoning item first (streamed as reasoning_text deltas); off gives none", async () => {
    const on = await client.responses.create({ model: "test-model", input: "Think", max_output_tokens: 6, temperature: 0, reasoning: { effort: "medium" } });
    assert.equal(on.output[0]!.type, "reasoning");
    const rs = on.output[0] as OpenAI.Responses.ResponseReasoningItem;
    assert.ok((rs.content?.[0]?.text ?? "").length > 0);
    assert.ok(on.usage!.output_tokens_details.reasoning_tokens > 0);
    const budgeted = await client.responses.create({
      model: "test-model",
      input: "Think briefly",
      max_output_tokens: 60,
      temperature: 0,
      reasoning: { effort: "high" },
      // @ts-expect-error -- extension field: the thinking budget in tokens
      thinking_budget: 3,
    });
    assert.ok(budgeted.usage!.output_tokens_details.reasoning_tokens <= 3);
    assert.match((budgeted.output[0] as OpenAI.Responses.ResponseReasoningItem).content?.[0]?.text ?? "", /Considering the limited time/);

    const stream = client.responses.stream({ model: "test-model", input: "Think", max_output_tokens: 6, temperature: 0, reasoning: { effort: "medium" } });
    let reasoning = "";
    for await (const e of stream) if (e.type === "response.reasoning_text.delta") reasoning += e.delta;
    assert.equal(reasoning, rs.content?.[0]?.text);

    const offR = await client.responses.create({ model: "test-model", input: "Think", max_output_tokens: 6, temperature: 0, reasoning: off });
    assert.ok(offR.output.every((o) => o.type !== "reasoning"));
    assert.equal(offR.usage!.output_tokens_details.reasoning_tokens, 0);
  });

  test("bad input: unknown previous_response_id is a 404; wrong items are named by their path", async () => {
    const e404 = await status(client.responses.create({ model: "test-model", input: "hi", previous_response_id: "resp_nope" }));
    assert.equal(e404.status, 404);
    assert.equal(e404.code, "previous_response_not_found");
    assert.equal(e404.param, "previous_response_id");

    const cases: [unknown[], string][] = [
      [[{ role: "user", content: "ok" }, { type: "image_generation_call" }], "input[1].type"],
      [[{ role: "user", content: 5 }], "input[0].content"],
      [[{ type: "function_call", call_id: "c", name: "f" }], "input[0].arguments"],
      [[{ role: "robot", content: "x" }], "input[0].role"],
    ];
    for (const [input, param] of cases) {
      const e = await status(client.responses.create({ model: "test-model", input: input as OpenAI.Responses.ResponseInput }));
      assert.equal(e.status, 400);
      assert.equal(e.param, param, e.message);
      assert.ok(e.message.includes(`${param}: `), e.message);
    }
    const eTool = await status(client.responses.create({ model: "test-model", input: "x", tool_choice: { type: "function", name: "nope" } }));
    assert.equal(eTool.status, 400);
  });

  test("store: false keeps nothing", async () => {
    const r = await client.responses.create({ model: "test-model", input: "hi", max_output_tokens: 2, store: false, reasoning: off });
    assert.equal(Reflect.get(r, "store"), false);
    assert.equal((await status(client.responses.retrieve(r.id))).status, 404);
  });
});
