import { test } from "node:test";
import assert from "node:assert/strict";
import { parseToolCalls, type ToolCallParse } from "./tools.js";
import { ToolCallStream, collectToolEvents, type ToolStreamEvent } from "./tools-stream.js";
import { parseReasoning, ReasoningStream } from "./reasoning.js";
import { loadChatTemplate } from "./template.js";
import { fileURLToPath } from "node:url";

/** All ways to cut `text` into 1, 2 and 3 pieces (3 only for short texts), plus one character per piece. */
function* splits(text: string): Generator<string[]> {
  yield [text];
  for (let i = 0; i <= text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    if (text.length <= 70) for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
  yield Array.from(text);
}

const ids = (): (() => string) => {
  let n = 0;
  return () => `call_${n++}`;
};

function streamAll(pieces: string[]): { events: ToolStreamEvent[]; result: ToolCallParse } {
  const s = new ToolCallStream(ids());
  const events = [...pieces.flatMap((p) => s.push(p)), ...s.finish()];
  return { events, result: collectToolEvents(events) };
}

const W = '{"name": "get_weather", "arguments": {"city": "Beijing"}}';
const T = '{"name": "get_time", "arguments": {"tz": "Asia/Shanghai"}}';
const call = (i: number, name: string, args: string) => ({ id: `call_${i}`, name, arguments: args });

const cases: Array<[string, ToolCallParse]> = [
  ["Plain answer, no tools.\n", { content: "Plain answer, no tools.\n", toolCalls: [] }],
  [`<tool_call>\n${W}\n</tool_call>`, { content: "", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] }],
  [
    `Let me check both.\n<tool_call>\n${W}\n</tool_call>\n<tool_call>\n${T}\n</tool_call>`,
    { content: "Let me check both.", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}'), call(1, "get_time", '{"tz": "Asia/Shanghai"}')] },
  ],
  // unterminated final block (generation stopped right after the JSON)
  [`<tool_call>\n${W}\n`, { content: "", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] }],
  // arguments containing braces, quotes, escapes and the closing tag inside a string
  [
    '<tool_call>\n{"name": "run", "arguments": {"code": "if (a) { b(\\"}\\"); } // </tool_call>", "n": [1, {"x": null}]}}\n</tool_call>',
    { content: "", toolCalls: [call(0, "run", '{"code": "if (a) { b(\\"}\\"); } // </tool_call>", "n": [1, {"x": null}]}')] },
  ],
  // other key order: arguments re-serialized
  ['<tool_call>\n{"arguments": {"a": 1}, "name": "f"}\n</tool_call>', { content: "", toolCalls: [call(0, "f", '{"a":1}')] }],
  // malformed blocks stay content, tags and all
  ["Hi \n<tool_call>\n{not json}\n</tool_call> after", { content: "Hi \n<tool_call>\n{not json}\n</tool_call> after", toolCalls: [] }],
  ["<tool_call>\nplain words\n</tool_call>", { content: "<tool_call>\nplain words\n</tool_call>", toolCalls: [] }],
  ['<tool_call>\n{"name": "f"}\n</tool_call>', { content: '<tool_call>\n{"name": "f"}\n</tool_call>', toolCalls: [] }],
  ['<tool_call>{"arguments": {}, "name": 3}</tool_call>', { content: '<tool_call>{"arguments": {}, "name": 3}</tool_call>', toolCalls: [] }],
  ["text <tool_call> {\"a\": 1", { content: "text <tool_call> {\"a\": 1", toolCalls: [] }],
  ["a <tool_c", { content: "a <tool_c", toolCalls: [] }],
  [`x\n<tool_call>\n${W}\n</tool_call>\n\n<tool_call>\nbad</tool_call>`, { content: "x<tool_call>\nbad</tool_call>", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] }],
  [`<tool_call>\n${W}\n</tool_call>\n Trailing text.`, { content: "Trailing text.", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] }],
  ['<tool_call>{"name": "天气", "arguments": {"城市": "北京 😀"}}</tool_call>', { content: "", toolCalls: [call(0, "天气", '{"城市": "北京 😀"}')] }],
];

test("parseToolCalls extracts Hermes-style calls with the model's argument text", () => {
  for (const [text, want] of cases) assert.deepEqual(parseToolCalls(text, ids()), want, text);
});

test("ToolCallStream equals parseToolCalls at every split", () => {
  for (const [text, want] of cases) {
    for (const pieces of splits(text)) assert.deepEqual(streamAll(pieces).result, want, JSON.stringify(pieces));
  }
});

test("ToolCallStream streams content at once, then a header, then argument fragments", () => {
  const s = new ToolCallStream(ids());
  assert.deepEqual(s.push("Sure"), [{ type: "content", text: "Sure" }]);
  assert.deepEqual(s.push(".\n<tool_"), [{ type: "content", text: "." }]);
  assert.deepEqual(s.push('call>\n{"name": "get_weather", "arguments": '), []);
  assert.deepEqual(s.push('{"city": "Be'), [
    { type: "toolCall", index: 0, id: "call_0", name: "get_weather" },
    { type: "arguments", index: 0, text: '{"city": "Be' },
  ]);
  assert.deepEqual(s.push('ijing"}}\n</tool_call>'), [{ type: "arguments", index: 0, text: 'ijing"}' }]);
  assert.deepEqual(s.finish(), []);
  // One character at a time: the arguments still arrive in many fragments that join to the whole.
  const { events } = streamAll(Array.from(`<tool_call>\n${W}\n</tool_call>`));
  const frags = events.filter((e) => e.type === "arguments");
  assert.ok(frags.length > 10);
  assert.equal(frags.map((e) => (e.type === "arguments" ? e.text : "")).join(""), '{"city": "Beijing"}');
});

test("ToolCallStream keeps a call whose header was streamed even if the block ends malformed", () => {
  // parseToolCalls sees the whole text and keeps it as content; a stream cannot retract the header.
  const text = '<tool_call>\n{"name": "f", "arguments": {"a": 1} oops</tool_call>';
  assert.deepEqual(parseToolCalls(text, ids()).toolCalls, []);
  const { result } = streamAll(['<tool_call>\n{"name": "f", "arguments": {"a"', ': 1} oops</tool_call>']);
  assert.deepEqual(result.toolCalls, [call(0, "f", '{"a": 1}')]);
  // cut off by max_tokens in the middle of the arguments
  const cut = streamAll(['<tool_call>\n{"name": "f", "arguments": {"a"', ": 1"]);
  assert.deepEqual(cut.result, { content: "", toolCalls: [call(0, "f", '{"a": 1')] });
});

test("reasoning then tool calls: calls inside the thinking block are not executed", () => {
  const out = `<think>\nMaybe <tool_call>\n${T}\n</tool_call>?\n</think>\n\n<tool_call>\n${W}\n</tool_call>`;
  const r = parseReasoning(out, { thinkingEnabled: true });
  assert.equal(r.reasoning, `Maybe <tool_call>\n${T}\n</tool_call>?`);
  assert.deepEqual(parseToolCalls(r.content, ids()), { content: "", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] });
  for (const pieces of splits(out)) {
    if (pieces.length === 3) continue; // the 2-piece and per-character splits cover this pipeline
    const rs = new ReasoningStream({ thinkingEnabled: true });
    const ts = new ToolCallStream(ids());
    let reasoning = "";
    const events: ToolStreamEvent[] = [];
    for (const d of [...pieces.map((p) => rs.push(p)), rs.finish()]) {
      reasoning += d.reasoning;
      events.push(...ts.push(d.content));
    }
    events.push(...ts.finish());
    assert.equal(reasoning, r.reasoning);
    assert.deepEqual(collectToolEvents(events), { content: "", toolCalls: [call(0, "get_weather", '{"city": "Beijing"}')] });
  }
});

test("parsed calls render back to the model's exact output", () => {
  const tpl = loadChatTemplate(fileURLToPath(new URL("../../test/fixtures/qwen3-tokenizer", import.meta.url)));
  const generated = `<think>\nNeed both.\n</think>\n\nChecking.\n<tool_call>\n${W}\n</tool_call>\n<tool_call>\n${T}\n</tool_call>`;
  const r = parseReasoning(generated, { thinkingEnabled: true });
  const t = parseToolCalls(r.content, ids());
  const prompt = tpl.render({
    messages: [
      { role: "user", content: "Q" },
      {
        role: "assistant",
        content: t.content,
        reasoning_content: r.reasoning,
        tool_calls: t.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
      },
    ],
    add_generation_prompt: false,
  });
  assert.equal(prompt, `<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n${generated}<|im_end|>\n`);
});
