import { test } from "node:test";
import assert from "node:assert/strict";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { parseChatRequest } from "../chat/messages.js";
import { loadChatTemplate } from "../chat/template.js";
import { loadModel } from "../models/load.js";
import type { Sequence } from "../models/model.js";
import { Tokenizer } from "../tokenizer/index.js";
import { encodeRenderedPrompt, TurnRunner, type TurnStep } from "./turn.js";
import { checkAnswer } from "./turn-check.js";

const dir = completeModelDir("qwen3-dense-tiny");
const tokenizer = Tokenizer.fromDir(dir);
const template = loadChatTemplate(dir);
const model = await loadModel(dir);
const runner = (): TurnRunner<Sequence> => new TurnRunner(model, tokenizer, template, { prefixCacheTokens: 4096 });

const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }];
const chat = (extra: Record<string, unknown> = {}) => parseChatRequest({ messages: [{ role: "user", content: "Hi" }], ...extra });

test("encodeRenderedPrompt: a rendered prompt is encoded without added special tokens (Qwen adds no BOS either way)", () => {
  const prompt = template.render({ messages: [{ role: "user", content: "Hi" }] });
  const ids = encodeRenderedPrompt(tokenizer, prompt);
  assert.equal(ids[0], tokenizer.tokenToId("<|im_start|>"));
  assert.deepEqual(ids, tokenizer.encode(prompt), "tokenizer_config.json: add_bos_token false, no template post-processor");
});

test("TurnRunner.prepare: template, encoding, thinking and tool visibility decided in one place", () => {
  const r = runner();
  assert.equal(r.thinks, true);
  const on = r.prepare({ chat: chat() });
  assert.equal(on.prompt, template.render({ messages: [{ role: "user", content: "Hi" }] }));
  assert.deepEqual(on.promptIds, encodeRenderedPrompt(tokenizer, on.prompt));
  assert.deepEqual([on.thinking, on.tools, on.grammar], [true, false, undefined]);
  const off = r.prepare({ chat: chat({ enable_thinking: false }) });
  assert.equal(off.thinking, false);
  // Tools default to "auto": shown and parsed; "none" hides them from the model.
  const auto = r.prepare({ chat: chat({ tools }) });
  assert.ok(auto.prompt.includes("get_weather") && auto.tools);
  const none = r.prepare({ chat: chat({ tools }), toolChoice: "none" });
  assert.ok(!none.prompt.includes("get_weather") && !none.tools);
  const forced = r.prepare({ chat: chat({ tools }), toolChoice: { name: "get_weather" } });
  assert.equal(forced.grammar?.endsGeneration, true);
  assert.equal(r.prepare({ chat: chat({ tools }), toolChoice: { name: "get_weather" } }).grammar?.compiled, forced.grammar?.compiled, "grammar cached");
  assert.throws(() => r.prepare({ chat: chat(), responseFormat: { type: "json_schema", schema: { type: "nope" }, strict: true } }), {
    message: /^response_format\.json_schema\.schema/,
  });
});

test("TurnRunner.run: streamed parts add up to the parsed message; a budget bounds the reasoning count", async () => {
  const r = runner();
  const turn = r.prepare({ chat: chat(), thinkingBudget: 3 });
  let reasoning = "";
  let content = "";
  const steps: TurnStep[] = [];
  const take = (p: { type: string; text?: string }): void => {
    if (p.type === "reasoning") reasoning += p.text;
    if (p.type === "content") content += p.text;
  };
  const out = await r.run(turn, { temperature: 0, maxTokens: 40, ignoreEos: true }, (s) => {
    steps.push(s);
    s.parts.forEach(take);
  });
  out.tail.forEach(take);
  assert.equal(out.finishReason, "length");
  assert.deepEqual(out.ids, steps.map((s) => s.token));
  assert.equal(out.text, steps.map((s) => s.text).join(""));
  assert.equal(out.reasoningTokens, 3);
  assert.match(out.message.reasoning, /Considering the limited time by the user/);
  assert.equal(reasoning, out.message.reasoning);
  assert.equal(content, out.message.content);
  assert.ok(content.length > 0);
});

test("TurnRunner.run: the next run starts from the cached prefix and answers as a fresh runner does", async () => {
  const r = runner();
  const turn = r.prepare({ chat: chat({ enable_thinking: false }) });
  const opts = { temperature: 0, maxTokens: 6, ignoreEos: true };
  const first = await r.run(turn, opts);
  const again = await r.run(turn, opts);
  assert.equal(first.cachedTokens, 0);
  assert.equal(again.cachedTokens, turn.promptIds.length - 1);
  assert.deepEqual(again.ids, first.ids);
  const fresh = await runner().run(turn, opts);
  assert.deepEqual(fresh.ids, first.ids);
});

test("TurnRunner.run: a fired signal ends the run as interrupted, keeping what was generated", async () => {
  const r = runner();
  const turn = r.prepare({ chat: chat({ enable_thinking: false }) });
  const ac = new AbortController();
  let n = 0;
  const out = await r.run(turn, { temperature: 0, maxTokens: 1000, ignoreEos: true, signal: ac.signal }, () => {
    if (++n === 3) ac.abort();
  });
  assert.equal(out.finishReason, "interrupted");
  assert.equal(out.ids.length, 3);
  // The sequence went back to the cache: the prompt is reused.
  const next = await r.run(turn, { temperature: 0, maxTokens: 2, ignoreEos: true });
  assert.equal(next.cachedTokens, turn.promptIds.length - 1);
  // Any other error is thrown.
  await assert.rejects(r.run(turn, { maxTokens: 2, temperature: -1 }), { message: /^temperature: / });
});

test("TurnRunner.run: a forced tool call cut off by maxTokens is a partial call, never raw <tool_call> content", async () => {
  const r = runner();
  const longArgs = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string", minLength: 200 } }, required: ["city"] } } }];
  const turn = r.prepare({ chat: chat({ tools: longArgs, enable_thinking: false }), toolChoice: { name: "get_weather" } });
  for (const maxTokens of [3, 60]) {
    const streamed: TurnStep["parts"][number][] = [];
    const out = await r.run(turn, { temperature: 1, seed: 1, maxTokens }, (s) => streamed.push(...s.parts));
    streamed.push(...out.tail);
    assert.equal(out.finishReason, "length");
    assert.ok(out.text.includes("<tool_call>"), out.text);
    assert.equal(out.message.content, "");
    assert.ok(!streamed.some((p) => p.type === "content"), JSON.stringify(streamed));
    if (maxTokens === 3) {
      assert.deepEqual(out.message.toolCalls, []); // the call's name was not written yet
      continue;
    }
    const [call] = out.message.toolCalls;
    assert.equal(call?.name, "get_weather", out.text);
    assert.match(call.arguments, /^\{"city": ?"/);
    assert.ok(out.text.endsWith(call.arguments), call.arguments);
    const args = streamed.flatMap((p) => (p.type === "arguments" ? [p.text] : [])).join("");
    assert.equal(args, call.arguments);
  }
});

test("checkAnswer: keywords without a grammar are named and the finished answer is checked against them", async () => {
  const r = runner();
  const schema = { type: "object", properties: { pts: { type: "array", items: { type: "object", properties: { x: { type: "integer" } }, required: ["x"] }, uniqueItems: true, maxItems: 3 } }, required: ["pts"] };
  const turn = r.prepare({ chat: chat({ enable_thinking: false }), responseFormat: { type: "json_schema", schema, strict: true } });
  const out = await r.run(turn, { temperature: 1, seed: 3, maxTokens: 200 });
  const check = checkAnswer(turn, out.message, out.finishReason !== "length");
  assert.deepEqual(check?.unenforced.map((u) => u.where), ["response_format.json_schema.schema.properties.pts.uniqueItems"]);
  const duplicate = { ...out.message, content: '{"pts": [{"x": 1}, {"x": 1}]}' };
  assert.deepEqual(checkAnswer(turn, duplicate, true)?.violations?.map((v) => [v.path, v.keyword]), [["/pts", "uniqueItems"]]);
  assert.equal(checkAnswer(turn, duplicate, false)?.violations, undefined, "a cut-off answer is not checked");
  assert.equal(checkAnswer(r.prepare({ chat: chat(), responseFormat: { type: "json_object" } }), out.message, true), undefined);
});
