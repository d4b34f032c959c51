// Turns of a model whose chat template renders XML tool calls (Qwen3.5): the pipeline picks the XML
// parser from the template, types values by the request's tool schemas, streams calls, and refuses
// enforces tool_choice required / named in that format.
import assert from "node:assert/strict";
import { test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { parseChatRequest } from "../chat/messages.js";
import { ChatTemplate } from "../chat/template.js";
import { collectToolEvents, type ToolStreamEvent } from "../chat/tools-stream.js";
import { loadModel } from "../models/load.js";
import type { Sequence } from "../models/model.js";
import { Tokenizer } from "../tokenizer/index.js";
import { TurnRunner } from "./turn.js";
import { TurnOutput, parseTurnOutput } from "./turn-output.js";

// A small template in the Qwen3.5 manner: tools listed, calls rendered as <function=…> blocks.
const xmlTemplate = new ChatTemplate({
  where: "xml-template",
  template: [
    "{%- if tools %}<|im_start|>system\n# Tools\n{%- for t in tools %}\n{{ t.function.name }}{%- endfor %}\n",
    "Call a tool as <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call><|im_end|>\n{%- endif %}",
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}",
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{%- endif %}{%- endif %}",
  ].join(""),
});

const dir = completeModelDir("qwen3-dense-tiny");
const tokenizer = Tokenizer.fromDir(dir);
const model = await loadModel(dir);
const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } } } } }];
const chat = parseChatRequest({ messages: [{ role: "user", content: "Weather?" }], tools });

test("the template decides: a <function=…> template makes the turn parse XML calls, typed by the tools' schemas", () => {
  const r = new TurnRunner<Sequence>(model, tokenizer, xmlTemplate, { prefixCacheTokens: 1024 });
  const turn = r.prepare({ chat });
  assert.equal(turn.toolFormat, "xml");
  assert.deepEqual([...turn.toolTypes.get("get_weather")!], [["city", ["string"]], ["days", ["integer"]]]);
  const text = "Checking.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>";
  const shape = { thinking: false, tools: true, toolFormat: turn.toolFormat, toolTypes: turn.toolTypes };
  const whole = parseTurnOutput(text, shape);
  assert.equal(whole.content, "Checking.");
  assert.deepEqual(whole.toolCalls.map((c) => [c.name, c.arguments]), [["get_weather", '{"city": "Paris", "days": 2}']]);
  const out = new TurnOutput(shape);
  const events: ToolStreamEvent[] = [];
  for (const ch of text) for (const p of out.push(ch)) if (p.type !== "reasoning") events.push(p);
  for (const p of out.finish()) if (p.type !== "reasoning") events.push(p);
  const streamed = collectToolEvents(events);
  assert.equal(streamed.content, whole.content);
  assert.deepEqual(streamed.toolCalls.map((c) => [c.name, c.arguments]), whole.toolCalls.map((c) => [c.name, c.arguments]));
  // The Qwen3 template (Hermes JSON calls) keeps the Hermes parser.
  const hermesTemplate = new ChatTemplate({ where: "hermes-template", template: '{{ "<tool_call>\\n{\\"name\\": " }}' });
  const hermes = new TurnRunner<Sequence>(model, tokenizer, hermesTemplate, { prefixCacheTokens: 1024 });
  assert.equal(hermes.prepare({ chat }).toolFormat, "hermes");
});

test("tool_choice required or named on an XML-call template: the grammar allows XML calls only, and the turn ends in one", async () => {
  const r = new TurnRunner<Sequence>(model, tokenizer, xmlTemplate, { prefixCacheTokens: 1024 });
  const call = "<tool_call>\n<function=get_weather>\n<parameter=city>\nSão Paulo <b>SP</b>\nBrazil\n</parameter>\n<parameter=days>\n2\n</parameter>\n</function>\n</tool_call>";
  const hermes = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
  const accepts = (toolChoice: "required" | { name: string }, text: string): boolean => {
    const c = r.prepare({ chat, toolChoice }).grammar!.compiled.start();
    for (const id of tokenizer.encode(text, { addSpecialTokens: false })) {
      if (!c.canAccept(id)) return false;
      c.accept(id);
    }
    return c.isComplete();
  };
  for (const toolChoice of ["required", { name: "get_weather" }] as const) {
    assert.ok(accepts(toolChoice, call), `${JSON.stringify(toolChoice)}: an XML call`);
    assert.ok(!accepts(toolChoice, hermes), `${JSON.stringify(toolChoice)}: a Hermes JSON call is not allowed`);
    assert.ok(!accepts(toolChoice, call.replace("<parameter=days>\n2\n", "<parameter=days>\ntwo\n")), "an integer parameter takes a number");
    assert.ok(!accepts(toolChoice, call.replace("get_weather>", "get_time>")), "only declared functions");
    assert.ok(!accepts(toolChoice, call.replace("Brazil", "Brazil\n</parameter> x")), "a value ends at </parameter>, as the parser ends it");
  }
  assert.equal(parseTurnOutput(call, { thinking: false, tools: true, toolFormat: "xml", toolTypes: r.prepare({ chat }).toolTypes }).toolCalls[0]!.arguments, '{"city": "São Paulo <b>SP</b>\\nBrazil", "days": 2}');

  // A real turn, greedy on random weights: the forced call parses, with values of the declared types.
  const finite = [{ type: "function", function: { name: "set_unit", parameters: { type: "object", properties: { unit: { type: "string", enum: ["celsius", "fahrenheit"] }, days: { type: "integer" }, note: { type: "boolean" } }, required: ["unit", "days"] } } }];
  // Thinking off: the grammar starts at the answer (a thought would run free first).
  const forced = parseChatRequest({ messages: [{ role: "user", content: "Set it." }], tools: finite, enable_thinking: false });
  for (const toolChoice of [{ name: "set_unit" }, "required"] as const) {
    const out = await r.run(r.prepare({ chat: forced, toolChoice, parallelToolCalls: false }), { temperature: 0, maxTokens: 120 });
    assert.equal(out.finishReason, "stop", `${JSON.stringify(toolChoice)}: ${out.text}`);
    assert.equal(out.message.toolCalls.length, 1, out.text);
    const args = JSON.parse(out.message.toolCalls[0]!.arguments) as Record<string, unknown>;
    assert.equal(out.message.toolCalls[0]!.name, "set_unit");
    assert.ok(args.unit === "celsius" || args.unit === "fahrenheit", out.text);
    assert.ok(Number.isInteger(args.days), out.text);
  }
  assert.equal(r.prepare({ chat, toolChoice: "auto" }).grammar, undefined);
});
