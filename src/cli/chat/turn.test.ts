import { test } from "node:test";
import assert from "node:assert/strict";
import { loadChatTemplate } from "../../chat/template.js";
import { TurnRunner } from "../../engine/turn.js";
import { loadModel } from "../../models/load.js";
import { Tokenizer } from "../../tokenizer/index.js";
import { ChatSession } from "./session.js";
import { completeModelDir } from "./test-helpers.js";
import { runTurn, type ChatEngine, type TurnOptions } from "./turn.js";

const dir = completeModelDir();
const tokenizer = Tokenizer.fromDir(dir);
const template = loadChatTemplate(dir);

async function engine(): Promise<ChatEngine> {
  const model = await loadModel(dir);
  return new TurnRunner(model, tokenizer, template, { prefixCacheTokens: 4096 });
}

const sink = { reasoning: (): void => {}, content: (): void => {} };
const opts = (extra: Partial<TurnOptions> = {}): TurnOptions => ({
  sampling: { temperature: 0 },
  maxTokens: 8,
  ignoreEos: true,
  budget: null,
  signal: new AbortController().signal,
  ...extra,
});

test("runTurn: the second turn reuses the first turn's KV cache and answers exactly as without it", async () => {
  const e = await engine();
  const s = new ChatSession({ system: "You are a test.", enableThinking: false, budget: null });
  s.addUser("Hello");
  const first = await runTurn(e, s.request(), opts(), sink);
  assert.equal(first.stats.reusedTokens, 0);
  assert.equal(first.stats.tokens, 8);
  assert.equal(first.stats.finish, "length");
  assert.equal(first.reasoning, "");
  s.addAssistant(first.content, first.reasoning);
  s.addUser("And again");
  const second = await runTurn(e, s.request(), opts(), sink);
  assert.ok(second.stats.reusedTokens > 0, `reused ${second.stats.reusedTokens}`);
  assert.ok(second.stats.reusedTokens < second.stats.promptTokens);
  // Differential: the same prompt on a fresh cache (full prefill) gives the same greedy answer.
  const fresh = await runTurn(await engine(), s.request(), opts(), sink);
  assert.equal(fresh.stats.reusedTokens, 0);
  assert.equal(fresh.stats.promptTokens, second.stats.promptTokens);
  assert.equal(second.content, fresh.content);
});

test("runTurn: streamed pieces add up to the returned reasoning and content", async () => {
  const e = await engine();
  const s = new ChatSession({ system: null, enableThinking: true, budget: null });
  s.addUser("Think about it");
  let reasoning = "";
  let content = "";
  const r = await runTurn(e, s.request(), opts({ maxTokens: 12 }), { reasoning: (t) => (reasoning += t), content: (t) => (content += t) });
  assert.equal(reasoning, r.reasoning);
  assert.equal(content, r.content);
  assert.ok(r.reasoning.length > 0, "thinking on: random output stays inside the thought");
});

test("runTurn: a thinking budget forces the early-stop text, then the model answers", async () => {
  const e = await engine();
  const s = new ChatSession({ system: null, enableThinking: true, budget: 2 });
  s.addUser("Quick");
  const r = await runTurn(e, s.request(), opts({ maxTokens: 60, budget: 2 }), sink);
  assert.equal(r.stats.tokens, 60);
  assert.ok(r.reasoning.endsWith("I have to give the solution based on the thinking directly now."), JSON.stringify(r.reasoning));
  assert.ok(r.content.length > 0);
});

test("runTurn: an aborted signal stops the turn as interrupted and leaves the cache usable", async () => {
  const e = await engine();
  const s = new ChatSession({ system: null, enableThinking: false, budget: null });
  s.addUser("Hi");
  const ac = new AbortController();
  ac.abort();
  const r = await runTurn(e, s.request(), opts({ signal: ac.signal }), sink);
  assert.equal(r.stats.finish, "interrupted");
  assert.equal(r.stats.tokens, 0);
  const ok = await runTurn(e, s.request(), opts(), sink);
  assert.equal(ok.stats.tokens, 8);

  // Stopped mid-answer: the text so far is returned.
  const mid = new AbortController();
  let pieces = 0;
  const partial = await runTurn(e, s.request(), opts({ maxTokens: 1000, signal: mid.signal }), {
    reasoning: () => {},
    content: () => {
      if (++pieces === 3) mid.abort();
    },
  });
  assert.equal(partial.stats.finish, "interrupted");
  assert.ok(partial.stats.tokens >= 3 && partial.stats.tokens < 1000, String(partial.stats.tokens));
  assert.ok(partial.content.length > 0);
});

test("runTurn with --ctx: the answer stops where the context is full, and a full conversation is refused naming --ctx", async () => {
  const e = await engine();
  const s = new ChatSession({ system: null, enableThinking: false, budget: null });
  s.addUser("Hello");
  const free = await runTurn(e, s.request(), opts({ maxTokens: 50 }), sink);
  const ctx = free.stats.promptTokens + 3;
  const r = await runTurn(e, s.request(), opts({ maxTokens: 50, contextLength: ctx }), sink);
  assert.equal(r.stats.tokens, 3);
  assert.equal(r.stats.finish, "length");
  await assert.rejects(runTurn(e, s.request(), opts({ contextLength: free.stats.promptTokens }), sink), /^QwenrtError: --ctx: the conversation \(\d+ tokens\) fills the \d+-token context/);
});
