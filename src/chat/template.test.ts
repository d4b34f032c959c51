import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { QwenrtError } from "../util/errors.js";
import { ChatTemplate, loadChatTemplate, promptThinkingEnabled } from "./template.js";
import { parseTemplate, pyStrip, renderPython } from "./jinja-env.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
const modelDir = join(fixtures, "qwen3-tokenizer");
const cases = JSON.parse(readFileSync(join(fixtures, "tokenizer/chat-public.json"), "utf8")) as Array<{
  name: string;
  messages: unknown[];
  tools?: unknown[];
  kwargs: { add_generation_prompt: boolean; enable_thinking?: boolean };
  rendered: string;
}>;
const qwen = loadChatTemplate(modelDir);
const fail = (msg: string): never => {
  throw new Error(msg);
};
const py = (src: string, x: unknown): string => renderPython(parseTemplate(src), { x }, fail);

test("chat template reproduces every reference rendering in chat-public.json", () => {
  assert.equal(cases.length, 9);
  for (const c of cases) {
    const { add_generation_prompt, ...kwargs } = c.kwargs;
    const body = { messages: c.messages, tools: c.tools, add_generation_prompt, chat_template_kwargs: kwargs };
    assert.equal(qwen.render(body), c.rendered, c.name);
  }
});

test("chat template: enable_thinking shorthand equals chat_template_kwargs", () => {
  const messages = [{ role: "user", content: "Hi" }];
  const a = qwen.render({ messages, enable_thinking: false });
  assert.equal(a, qwen.render({ messages, chat_template_kwargs: { enable_thinking: false } }));
  assert.ok(a.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  assert.throws(() => qwen.render({ messages, enable_thinking: true, chat_template_kwargs: { enable_thinking: false } }), {
    message: /^enable_thinking: conflicts/,
  });
});

test("chat template: add_generation_prompt defaults to true and can be turned off", () => {
  const messages = [{ role: "user", content: "Hi" }];
  assert.equal(qwen.render({ messages }), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(qwen.render({ messages, add_generation_prompt: false }), "<|im_start|>user\nHi<|im_end|>\n");
});

test("chat template: OpenAI content parts are joined; null assistant content renders as empty", () => {
  const out = qwen.render({
    messages: [
      { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x": 1}' } }] },
      { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "42" }] },
    ],
  });
  assert.equal(
    out,
    '<|im_start|>user\na\nb<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call><|im_end|>\n' +
      "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
  );
});

// Expected strings below were produced by Python Jinja 3.1 with transformers' environment.
test("python semantics: str.strip/lstrip/rstrip honour their chars argument", () => {
  const x = "\n\n  a \n";
  assert.equal(py("{{ x.lstrip('\\n') }}", x), "  a \n");
  assert.equal(py("{{ x.rstrip('\\n') }}", x), "\n\n  a ");
  assert.equal(py("{{ x.strip('\\n ') }}", x), "a");
  assert.equal(py("{{ x|trim('\\n') }}", x), "  a ");
  assert.equal(py("{{ x.strip() }}", "\x1c a \ufeff"), "a \ufeff");
  assert.equal(py("{{ x|trim }}", "\x85 b\u3000"), "b");
  assert.equal(py("{{ x.strip('😀') }}", "😀a😀"), "a");
  assert.equal(pyStrip("xxaxx", "x", "left"), "axx");
});

test("python semantics: tojson, range, slicing and namespaces", () => {
  const x = { d: '温度 "q" \n\t\x01', n: [1, 2.5, null, true], e: {} };
  assert.equal(py("{{ x|tojson }}", x), '{"d": "温度 \\"q\\" \\n\\t\\u0001", "n": [1, 2.5, null, true], "e": {}}');
  assert.equal(py("{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}", 0), "135");
  assert.equal(py("{% for i in x[::-1] %}{{ i }}{% endfor %}{{ x|length }}", [1, 2, 3]), "3213");
  assert.equal(py("{% set ns = namespace(a=1) %}{% for i in x %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}", [1, 2]), "4");
});

test("chat template: history thinking is stripped with Python's lstrip('\\n'), keeping indentation", () => {
  const messages = [
    { role: "user", content: "Q1" },
    { role: "assistant", content: "<think>\n  plan\n</think>\n\n  indented answer\n" },
    { role: "user", content: "Q2" },
    { role: "assistant", content: "\n  code\n", reasoning_content: "\n  r1 \n" },
  ];
  assert.equal(
    qwen.render({ messages, add_generation_prompt: false }),
    "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n  indented answer\n<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n" +
      "<|im_start|>assistant\n<think>\n  r1 \n</think>\n\n  code\n<|im_end|>\n",
  );
});

test("chat template: invalid requests name the field path", () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ messages: [{ role: "user", content: "a" }, { role: "user", content: "b" }, { role: "bot", content: "c" }] }, /^messages\[2\]\.role: must be one of .*got "bot"/],
    [{ messages: [{ role: "user", content: 5 }] }, /^messages\[0\]\.content: must be a string, null, or an array/],
    [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] }, /^messages\[0\]\.content\[0\]\.type: only "text"/],
    [{ messages: [] }, /^messages: must not be empty/],
    [{}, /^messages: /],
    [[], /^request: /],
    [{ messages: [{ role: "user", content: "a" }], add_generation_prompt: "yes" }, /^add_generation_prompt: must be a boolean/],
    [{ messages: [{ role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: 3 } }] }] }, /^messages\[0\]\.tool_calls\[0\]\.function\.arguments: /],
    [{ messages: [{ role: "user", content: "a" }], chat_template_kwargs: { messages: [] } }, /^chat_template_kwargs\.messages: /],
  ];
  for (const [body, re] of bad) {
    assert.throws(() => qwen.render(body), (e: unknown) => e instanceof QwenrtError && re.test(e.message), JSON.stringify(body));
  }
});

test("chat template: Jinja errors and raise_exception name the template", () => {
  const t = new ChatTemplate({ template: "{{ raise_exception('no system allowed') }}", where: "cfg chat_template" });
  assert.throws(() => t.render({ messages: [{ role: "user", content: "a" }] }), {
    name: "QwenrtError",
    message: "cfg chat_template: no system allowed",
  });
  const u = new ChatTemplate({ template: "{{ messages[0].content.nosuch() }}", where: "cfg chat_template" });
  assert.throws(() => u.render({ messages: [{ role: "user", content: "a" }] }), { name: "QwenrtError", message: /^cfg chat_template: / });
  assert.throws(() => new ChatTemplate({ template: "{% if %}", where: "cfg chat_template" }), {
    message: /^cfg chat_template: cannot parse template/,
  });
});

test("chat template: named variants pick tool_use when tools are given; special tokens are variables", () => {
  const t = new ChatTemplate({
    template: [
      { name: "default", template: "D{{ bos_token }}{{ eos_token }}{{ custom }}" },
      { name: "tool_use", template: "T{{ tools|length }}" },
    ],
    where: "x",
    specialTokens: { bos_token: "<s>", eos_token: "</s>" },
  });
  const messages = [{ role: "user", content: "a" }];
  assert.equal(t.render({ messages, chat_template_kwargs: { custom: "!" } }), "D<s></s>!");
  assert.equal(t.render({ messages, tools: [{ type: "function", function: { name: "f" } }] }), "T1");
});

test("loadChatTemplate reads list templates and AddedToken special tokens, and names bad files", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-chat-"));
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({
      chat_template: [{ name: "default", template: "{{ bos_token }}|{{ eos_token }}|{{ messages[0].content }}" }],
      bos_token: { __type: "AddedToken", content: "<s>" },
      eos_token: "</s>",
    }),
  );
  assert.equal(loadChatTemplate(dir).render({ messages: [{ role: "user", content: "hi" }] }), "<s>|</s>|hi");
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: "</s>" }));
  assert.throws(() => loadChatTemplate(dir), { message: /tokenizer_config\.json: no "chat_template"/ });
  writeFileSync(join(dir, "chat_template.jinja"), "J{{ messages|length }}");
  assert.equal(loadChatTemplate(dir).render({ messages: [{ role: "user", content: "hi" }] }), "J1");
  writeFileSync(join(dir, "tokenizer_config.json"), "{ nope");
  assert.throws(() => loadChatTemplate(dir), { message: /tokenizer_config\.json: malformed JSON/ });
  assert.throws(() => loadChatTemplate(join(dir, "missing")), { message: /tokenizer_config\.json: file not found/ });
});

test("promptThinkingEnabled reads the last turn of the rendered prompt", () => {
  const messages = [
    { role: "user", content: "Q" },
    { role: "assistant", content: "A", reasoning_content: "r" },
    { role: "user", content: "Q2" },
  ];
  assert.equal(promptThinkingEnabled(qwen.render({ messages })), true);
  assert.equal(promptThinkingEnabled(qwen.render({ messages, enable_thinking: false })), false);
  assert.equal(promptThinkingEnabled("<|im_start|>assistant\n<think>\n"), true);
});

test("ChatTemplate.mentions searches every variant's source (whether a model writes </think> at all)", () => {
  assert.equal(qwen.mentions("</think>"), true);
  const plain = new ChatTemplate({ template: "{{ messages[0].content }}", where: "t" });
  assert.equal(plain.mentions("</think>"), false);
  const variants = new ChatTemplate({ template: [{ name: "default", template: "a" }, { name: "tool_use", template: "<think></think>" }], where: "t" });
  assert.equal(variants.mentions("</think>"), true);
});

test("chat template: a template that loops or grows without end stops at its render limits (template_limit)", () => {
  const limits = { timeMs: 300, outputChars: 1_000_000 };
  const messages = [{ role: "user", content: "a" }];
  const hostile = [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", // time
    "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}", // one value doubling
    "{% for i in range(100000) %}{% for j in range(100) %}{{ messages[0].content }}xxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfor %}", // output of a long loop
    "{% for i in range(10**9) %}x{% endfor %}", // a range too large to build
  ];
  for (const source of hostile) {
    const t0 = performance.now();
    const t = new ChatTemplate({ template: source, where: "cfg chat_template", limits });
    assert.throws(() => t.render({ messages }), { name: "QwenrtError", code: "template_limit", message: /^cfg chat_template: / }, source);
    assert.ok(performance.now() - t0 < 5_000, `${source}: stopped after ${performance.now() - t0} ms`);
  }
  const raise = new ChatTemplate({ template: "{{ raise_exception('no') }}", where: "cfg" });
  assert.throws(() => raise.render({ messages }), { code: "template_rejected", detail: "no" });
  assert.equal(new ChatTemplate({ template: "{% for i in range(3) %}{{ i }}{% endfor %}", where: "x", limits }).render({ messages }), "012");
});
