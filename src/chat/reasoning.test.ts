import { test } from "node:test";
import assert from "node:assert/strict";
import { ReasoningStream, parseReasoning, partialTagSuffix, type ReasoningSplit } from "./reasoning.js";

/** All ways to cut `text` into 1, 2 and 3 pieces, plus one character per piece. */
function* splits(text: string): Generator<string[]> {
  yield [text];
  for (let i = 0; i <= text.length; i++) {
    yield [text.slice(0, i), text.slice(i)];
    if (text.length <= 60) for (let j = i; j <= text.length; j++) yield [text.slice(0, i), text.slice(i, j), text.slice(j)];
  }
  yield Array.from(text);
}

function stream(pieces: string[], thinkingEnabled: boolean): { total: ReasoningSplit; deltas: ReasoningSplit[] } {
  const p = new ReasoningStream({ thinkingEnabled });
  const deltas = [...pieces.map((d) => p.push(d)), p.finish()];
  const total = { reasoning: deltas.map((d) => d.reasoning).join(""), content: deltas.map((d) => d.content).join("") };
  return { total, deltas };
}

const cases: Array<[string, boolean, ReasoningSplit]> = [
  ["<think>\nLet me think.\n</think>\n\nThe answer is 4.", true, { reasoning: "Let me think.", content: "The answer is 4." }],
  // The prompt opened <think> (Qwen3-Thinking-2507, QwQ): no opening tag in the output.
  ["Let me think.\n</think>\n\nAnswer", true, { reasoning: "Let me think.", content: "Answer" }],
  ["<think>\n\n</think>\n\nDirect.", true, { reasoning: "", content: "Direct." }],
  ["<think>\nstill thinking when cut off\n", true, { reasoning: "still thinking when cut off\n", content: "" }],
  ["no tags at all", true, { reasoning: "no tags at all", content: "" }],
  ["<think>\nA</think>B</think>C", true, { reasoning: "A", content: "B</think>C" }],
  ["<think>\n a \n\n</think>\n\n  indented\n", true, { reasoning: " a ", content: "  indented\n" }],
  ["x <think> y </think> z", true, { reasoning: "x <think> y ", content: " z" }],
  ["<thin", true, { reasoning: "<thin", content: "" }],
  ["<think>\nabc\n</thi", true, { reasoning: "abc\n</thi", content: "" }],
  ["<think>\n😀 思考\n</think>\n\n答案 😀", true, { reasoning: "😀 思考", content: "答案 😀" }],
  ["<think>\nA\n</think>\n\nB", false, { reasoning: "", content: "<think>\nA\n</think>\n\nB" }],
  ["", true, { reasoning: "", content: "" }],
  ["", false, { reasoning: "", content: "" }],
];

test("parseReasoning splits reasoning and content like Qwen's template", () => {
  for (const [text, thinkingEnabled, want] of cases) assert.deepEqual(parseReasoning(text, { thinkingEnabled }), want, JSON.stringify(text));
});

test("ReasoningStream equals parseReasoning at every split and never leaks a tag fragment", () => {
  for (const [text, thinkingEnabled, want] of cases) {
    for (const pieces of splits(text)) {
      const { total, deltas } = stream(pieces, thinkingEnabled);
      assert.deepEqual(total, want, JSON.stringify(pieces));
      if (want.reasoning.includes("<") || want.content.includes("<")) continue;
      for (const d of deltas) assert.ok(!d.reasoning.includes("<") && !d.content.includes("<"), JSON.stringify(pieces));
    }
  }
});

test("ReasoningStream emits reasoning and content as soon as they are resolved", () => {
  const p = new ReasoningStream({ thinkingEnabled: true });
  assert.deepEqual(p.push("<thi"), { reasoning: "", content: "" });
  assert.deepEqual(p.push("nk>\nStep 1"), { reasoning: "Step 1", content: "" });
  assert.deepEqual(p.push("\n</thi"), { reasoning: "", content: "" });
  assert.equal(p.inContent, false);
  assert.deepEqual(p.push("nk>"), { reasoning: "", content: "" });
  assert.equal(p.inContent, true);
  assert.deepEqual(p.push("\n\nHi"), { reasoning: "", content: "Hi" });
  assert.deepEqual(p.push("\n"), { reasoning: "", content: "\n" });
  assert.deepEqual(p.finish(), { reasoning: "", content: "" });
  assert.throws(() => p.push("x"));
});

test("partialTagSuffix finds a cut-off tag", () => {
  assert.equal(partialTagSuffix("abc</th", "</think>"), 4);
  assert.equal(partialTagSuffix("abc<", "</think>"), 1);
  assert.equal(partialTagSuffix("abc</think>", "</think>"), 0);
  assert.equal(partialTagSuffix("abc", "</think>"), 0);
});
