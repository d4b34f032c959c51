import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gv } from "../formats/gguf/arch.js";
import { readGguf, type GgufFile } from "../formats/gguf/read.js";
import { FIXTURES, QWEN3_TOKENIZER_DIR, fixtureGguf } from "../../test/helpers/gguf-fixture.js";
import { QwenrtError } from "../util/errors.js";
import { chatTemplateFromGguf, ggufHasChatTemplate } from "./gguf.js";
import { loadChatTemplate } from "./template.js";

const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer/chat-public.json"), "utf8")) as Array<{
  name: string;
  messages: unknown[];
  tools?: unknown[];
  kwargs: { add_generation_prompt: boolean; enable_thinking?: boolean };
  rendered: string;
}>;
const g = readGguf(fixtureGguf("qwen3-dense-tiny", "q8_0"));

test("the GGUF's chat template renders every chat-public.json case as the reference and the directory do", () => {
  const fromGguf = chatTemplateFromGguf(g);
  const fromDir = loadChatTemplate(QWEN3_TOKENIZER_DIR);
  assert.equal(cases.length, 9);
  for (const c of cases) {
    const { add_generation_prompt, ...kwargs } = c.kwargs;
    const body = { messages: c.messages, tools: c.tools, add_generation_prompt, chat_template_kwargs: kwargs };
    assert.equal(fromGguf.render(body), c.rendered, c.name);
    assert.equal(fromGguf.render(body), fromDir.render(body), c.name);
  }
});

test("special tokens from tokenizer.ggml.*_token_id reach the template; named variants are selected", () => {
  const metadata = new Map(g.metadata);
  metadata.set("tokenizer.chat_template", gv.str("[{{ eos_token }}|{{ pad_token }}] {{ messages[0].content }}"));
  metadata.set("tokenizer.chat_templates", { type: "array", value: { itemType: "string", items: ["tool_use"] } });
  metadata.set("tokenizer.chat_template.tool_use", gv.str("tools: {{ tools | length }}"));
  const t = chatTemplateFromGguf({ ...g, metadata });
  const messages = [{ role: "user", content: "hi" }];
  assert.equal(t.render({ messages }), "[<|im_end|>|<|endoftext|>] hi");
  assert.equal(t.render({ messages, tools: [{ type: "function", function: { name: "f", parameters: {} } }] }), "tools: 1");
});

test("a GGUF without a chat template, or naming a missing variant, is an error naming the file and key", () => {
  const without: GgufFile = { ...g, metadata: new Map([...g.metadata].filter(([k]) => k !== "tokenizer.chat_template")) };
  assert.equal(ggufHasChatTemplate(without), false);
  assert.equal(ggufHasChatTemplate(g), true);
  assert.throws(() => chatTemplateFromGguf(without), (e: unknown) => e instanceof QwenrtError && e.message.includes(g.path) && e.message.includes('"tokenizer.chat_template" is missing'));
  const metadata = new Map(g.metadata);
  metadata.set("tokenizer.chat_templates", { type: "array", value: { itemType: "string", items: ["rag"] } });
  assert.throws(() => chatTemplateFromGguf({ ...g, metadata }), /tokenizer\.chat_templates: lists "rag" but "tokenizer\.chat_template\.rag" is missing/);
});
