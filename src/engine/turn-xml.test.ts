// Turns of a model whose chat template renders XML tool calls (Qwen3.5): the pipeline picks the XML
// parser from the template, types values by the request's tool schemas, streams calls, and refuses
// a tool_choice it cannot enforce in that format.
import assert from "node:assert/strict";
import { test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { parseChatRequest } from "../chat/messages.js";
import { ChatTemplate } from "../chat/template.js";
import { collectToolEvents, type ToolStreamEvent } from "../chat/tools-stream.js";
import { loadModel } from "../models/load.js";
import type { Sequence } from "../models/model.js";
import { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { TurnRunner } from "./turn.js";
import { TurnOutput, parseTurnOutput } from "./turn-output.js";

// A small template in the Qwen3.5 manner: tools listed, calls rendered as <function=…> blocks.
const xmlTemplate = new ChatTemplate({
  where: "xml-template",
  template: [
    "{%- if tools %}<|im_start|>system\n# Tools\n{%- for t in tools %}\n{{ t.function.name }}{%- endfor %}\n",
    "Call a tool as <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call><|im_end|>\n{%- endif %}",
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor %}",
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}",
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

test("tool_choice required or named is refused with a clear error for XML-call templates (its grammar writes Hermes JSON)", () => {
  const r = new TurnRunner<Sequence>(model, tokenizer, xmlTemplate, { prefixCacheTokens: 1024 });
  for (const toolChoice of ["required", { name: "get_weather" }] as const) {
    assert.throws(() => r.prepare({ chat, toolChoice }), (e: unknown) => e instanceof QwenrtError && e.where === "tool_choice" && /not enforced for models whose template writes XML tool calls/.test(e.message));
  }
  assert.equal(r.prepare({ chat, toolChoice: "auto" }).tools, true);
});
