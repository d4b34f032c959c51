import { test } from "node:test";
import assert from "node:assert/strict";
import { THINKING_EARLY_STOP, ThinkingBudget, budgetExhausted } from "./budget.js";
import { parseReasoning } from "./reasoning.js";

test("budgetExhausted compares the count with the budget", () => {
  assert.equal(budgetExhausted(0, 0), true);
  assert.equal(budgetExhausted(9, 10), false);
  assert.equal(budgetExhausted(10, 10), true);
});

test("early-stop text is Qwen's documented sentence and closes the thought", () => {
  assert.equal(
    THINKING_EARLY_STOP,
    "\n\nConsidering the limited time by the user, I have to give the solution based on the thinking directly now.\n</think>\n\n",
  );
  const out = parseReasoning(`<think>\nStep one${THINKING_EARLY_STOP}Answer.`, { thinkingEnabled: true });
  assert.deepEqual(out, {
    reasoning: "Step one\n\nConsidering the limited time by the user, I have to give the solution based on the thinking directly now.",
    content: "Answer.",
  });
});

test("ThinkingBudget forces exactly when the budget is used, not counting a leading <think>", () => {
  const b = new ThinkingBudget({ budget: 3, thinkingEnabled: true });
  assert.deepEqual(b.start(), { kind: "continue" });
  assert.deepEqual(b.onToken("<think>"), { kind: "continue" });
  assert.deepEqual(b.onToken("\n"), { kind: "continue" });
  assert.deepEqual(b.onToken("a"), { kind: "continue" });
  assert.equal(b.reasoningTokens, 2);
  assert.deepEqual(b.onToken("b"), { kind: "force", text: THINKING_EARLY_STOP });
  assert.equal(b.phase, "forced");
  assert.deepEqual(b.onToken("answer"), { kind: "continue" });
  assert.equal(b.reasoningTokens, 3);
});

test("ThinkingBudget: prompt-opened thought counts from the first token; budget 0 forces at start", () => {
  const b = new ThinkingBudget({ budget: 1, thinkingEnabled: true });
  assert.deepEqual(b.onToken("Okay"), { kind: "force", text: THINKING_EARLY_STOP });
  const z = new ThinkingBudget({ budget: 0, thinkingEnabled: true });
  assert.deepEqual(z.start(), { kind: "force", text: THINKING_EARLY_STOP });
  assert.deepEqual(z.onToken("x"), { kind: "continue" });
});

test("ThinkingBudget stays quiet when the model closes the thought or thinking is off", () => {
  const b = new ThinkingBudget({ budget: 4, thinkingEnabled: true });
  for (const t of ["<think>", "a", "</thi"]) assert.deepEqual(b.onToken(t), { kind: "continue" });
  assert.deepEqual(b.onToken("nk>"), { kind: "continue" });
  assert.equal(b.phase, "done");
  for (const t of ["x", "y", "z", "w"]) assert.deepEqual(b.onToken(t), { kind: "continue" });
  const off = new ThinkingBudget({ budget: 0, thinkingEnabled: false });
  assert.deepEqual(off.start(), { kind: "continue" });
  assert.deepEqual(off.onToken("<think>"), { kind: "continue" });
  assert.equal(off.phase, "done");
  assert.throws(() => new ThinkingBudget({ budget: -1, thinkingEnabled: true }), RangeError);
  assert.throws(() => new ThinkingBudget({ budget: 1.5, thinkingEnabled: true }), RangeError);
});
