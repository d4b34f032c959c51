import assert from "node:assert/strict";
import { test } from "node:test";
import { collectToolEvents } from "./tools-stream.js";
import { parseToolCalls } from "./tools.js";
import { XmlToolCallStream, parseXmlToolCalls, toolCallFormatOf, toolParamTypes } from "./tools-xml.js";

const ids = (): (() => string) => {
  let n = 0;
  return () => `call_${n++}`;
};

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string" },
          days: { type: "integer" },
          scale: { type: "number" },
          metric: { type: "boolean" },
          at: { type: "object" },
          tags: { type: "array" },
          note: { type: ["string", "null"] },
        },
      },
    },
  },
  { type: "function", function: { name: "noop" } },
];
const types = toolParamTypes(tools);

/** A call block as the Qwen3.5 template renders one. */
function block(name: string, params: [string, string][]): string {
  return `<tool_call>\n<function=${name}>\n${params.map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join("")}</function>\n</tool_call>`;
}

test("a call becomes an OpenAI call: name, and arguments typed by the tool's schema", () => {
  const text = `Let me check.\n\n${block("get_weather", [["city", "São Paulo"], ["days", "3"], ["scale", "1.5"], ["metric", "true"], ["at", '{"lat": -23.5}'], ["tags", '["a", 1]'], ["note", "null"]])}`;
  assert.deepEqual(parseXmlToolCalls(text, types, ids()), {
    content: "Let me check.",
    toolCalls: [{ id: "call_0", name: "get_weather", arguments: '{"city": "São Paulo", "days": 3, "scale": 1.5, "metric": true, "at": {"lat":-23.5}, "tags": ["a",1], "note": null}' }],
  });
});

test("values keep their text: multi-line strings, numbers in string parameters, undeclared parameters, unparseable typed ones", () => {
  const text = block("get_weather", [["city", "line one\n  line two"], ["days", "three"], ["zip", "01234"]]) + block("noop", []);
  const r = parseXmlToolCalls(text, types, ids());
  assert.deepEqual(r.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]), [
    ["get_weather", { city: "line one\n  line two", days: "three", zip: "01234" }],
    ["noop", {}],
  ]);
  assert.equal(r.content, "");
  // Without schemas every value is a string (vLLM's qwen3_coder rule).
  assert.deepEqual(JSON.parse(parseXmlToolCalls(block("f", [["n", "7"]])).toolCalls[0]!.arguments), { n: "7" });
});

test("parallel calls, text between and after them; whitespace touching a block is dropped, as for Hermes calls", () => {
  const text = `A ${block("noop", [])}\n\n B ${block("get_weather", [["city", "Oslo"]])}\n tail`;
  const r = parseXmlToolCalls(text, types, ids());
  assert.equal(r.content, "ABtail");
  assert.equal(parseToolCalls(text.replaceAll(/<tool_call>[\s\S]*?<\/tool_call>/g, '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>')).content, "ABtail");
  assert.deepEqual(r.toolCalls.map((c) => c.id), ["call_0", "call_1"]);
});

test("a block that is not <function=…> stays content, tags and all (a Hermes JSON block too)", () => {
  const hermes = '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>';
  assert.deepEqual(parseXmlToolCalls(`x ${hermes} y`, types, ids()), { content: `x ${hermes} y`, toolCalls: [] });
  assert.deepEqual(parseXmlToolCalls("<tool_call> oops", types, ids()), { content: "<tool_call> oops", toolCalls: [] });
});

test("a call cut off mid-parameter keeps what arrived and closes its arguments", () => {
  const r = parseXmlToolCalls("<tool_call>\n<function=get_weather>\n<parameter=city>\nBer", types, ids());
  assert.deepEqual(r.toolCalls, [{ id: "call_0", name: "get_weather", arguments: '{"city": "Ber"}' }]);
});

test("streaming: any chunking gives the same content and calls; the header goes out at <function=NAME>", () => {
  const outputs = [
    `Sure.\n${block("get_weather", [["city", "Lahore"], ["days", "2"]])}`,
    `${block("noop", [])}\n${block("get_weather", [["note", "a < b"]])}\nDone.`,
    "No calls here, just <tool and text.",
    '<tool_call>\n{"name": "f"}\n</tool_call> after',
  ];
  for (const text of outputs) {
    const whole = parseXmlToolCalls(text, types, ids());
    for (const size of [1, 2, 3, 7, 1000]) {
      const s = new XmlToolCallStream(types, ids());
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...s.push(text.slice(i, i + size)));
      events.push(...s.finish());
      assert.deepEqual(collectToolEvents(events), whole, `chunks of ${size}: ${JSON.stringify(text)}`);
    }
  }
  const s = new XmlToolCallStream(types, ids());
  assert.deepEqual(s.push("Hi <tool_call>\n<function=get_weather"), [{ type: "content", text: "Hi" }]);
  assert.deepEqual(s.push(">\n<parameter=city>\nRome"), [{ type: "toolCall", index: 0, id: "call_0", name: "get_weather" }]);
  assert.deepEqual(s.push("\n</parameter>\n"), [{ type: "arguments", index: 0, text: '{"city": "Rome"' }]);
  assert.deepEqual(s.push("</function>\n</tool_call>"), [{ type: "arguments", index: 0, text: "}" }]);
  assert.deepEqual(s.finish(), []);
});

test("the template decides the format: <function=NAME> blocks mean XML, else Hermes", () => {
  const xmlTemplate = { mentions: (t: string): boolean => "{{- '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}".includes(t) };
  const hermesTemplate = { mentions: (t: string): boolean => '{{- \'<tool_call>\\n{"name": "\' }}'.includes(t) };
  assert.equal(toolCallFormatOf(xmlTemplate), "xml");
  assert.equal(toolCallFormatOf(hermesTemplate), "hermes");
});
