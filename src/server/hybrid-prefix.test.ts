// Multi-turn reuse through the server's prefix cache on a hybrid model (Qwen3.5 layout, random
// weights, the real Qwen3 tokenizer and template), driven by the official `openai` client: the
// second turn of a ~2,000-token conversation resumes from turn 1's recurrent-state checkpoint where
// the history ended, computes only the rest, and its first token's logprobs equal those of a full
// re-prefill of the same prompt.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { writeTinyHybrid } from "../../test/helpers/hybrid-checkpoints.js";
import { parseChatRequest } from "../chat/messages.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { DEFAULT_CHECKPOINT_INTERVAL } from "../layers/deltanet_slot.js";
import { startServer, type RunningServer } from "./test-server.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-hybrid-server-"));
let server: RunningServer;
let client: OpenAI;

before(async () => {
  writeTinyHybrid(dir, "qwen3_5", { vocab: 151936 });
  for (const f of readdirSync(QWEN3_TOKENIZER_DIR)) copyFileSync(join(QWEN3_TOKENIZER_DIR, f), join(dir, f));
  server = await startServer(dir, { backend: await createWasmBackend({ threads: 2, kv: "f32" }) });
  client = new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 300_000 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("turn 2 of a ~2,000-token conversation through the server resumes at turn 1's history end, with a full re-prefill's logprobs", async (t) => {
  const facts = Array.from({ length: 95 }, (_, i) => `Fact ${i}: the ${["red", "green", "blue", "amber"][i % 4]} door ${i * 7} opens at ${i % 24}:00.`).join(" ");
  const history = [
    { role: "system" as const, content: `You keep notes.\n${facts}` },
    { role: "user" as const, content: "Which door opens at noon?" },
  ];
  const kwargs = { chat_template_kwargs: { enable_thinking: false } };
  const r1 = await client.chat.completions.create({ model: "test-model", messages: history, max_tokens: 12, temperature: 0, ...kwargs });
  const answer = r1.choices[0]!.message.content ?? "";
  const messages = [...history, { role: "assistant" as const, content: answer }, { role: "user" as const, content: "And at one?" }];
  const r2 = await client.chat.completions.create({ model: "test-model", messages, max_tokens: 1, temperature: 0, logprobs: true, top_logprobs: 5, ...kwargs });

  const turns = server.runtime.turns;
  const turn1 = turns.prepare({ chat: parseChatRequest({ messages: history, enable_thinking: false }) });
  const turn2 = turns.prepare({ chat: parseChatRequest({ messages, enable_thinking: false }) });
  assert.ok(turn1.promptIds.length > 1900, `turn 1's prompt has ${turn1.promptIds.length} tokens`);
  assert.equal(r1.usage!.prompt_tokens, turn1.promptIds.length);
  assert.equal(r2.usage!.prompt_tokens, turn2.promptIds.length);
  const cached = r2.usage!.prompt_tokens_details?.cached_tokens ?? 0;
  // New in turn 2: everything after what it shares with turn 1's prompt.
  let shared = 0;
  while (shared < turn1.promptIds.length && turn1.promptIds[shared] === turn2.promptIds[shared]) shared++;
  const fresh = turn2.promptIds.length - shared;
  const computed = turn2.promptIds.length - cached;
  t.diagnostic(`turn 2: ${turn2.promptIds.length} prompt tokens, ${fresh} new, ${cached} reused, ${computed} computed`);
  assert.equal(cached, turn1.historyEnd, "resumed at the checkpoint turn 1 kept where its history ended");
  assert.ok(computed <= fresh + DEFAULT_CHECKPOINT_INTERVAL, `computed ${computed} > ${fresh} new + ${DEFAULT_CHECKPOINT_INTERVAL}`);

  // The same first-token distribution as a full re-prefill of turn 2's prompt.
  const model = server.runtime.model;
  const [logits] = await model.forwardAsync([{ seq: model.newSequence(), ids: Int32Array.from(turn2.promptIds) }]);
  let max = -Infinity;
  for (const x of logits!) max = Math.max(max, x);
  let sum = 0;
  for (const x of logits!) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  const top = r2.choices[0]!.logprobs!.content![0]!.top_logprobs.map((e) => e.logprob);
  const want = Array.from(logits!, (x) => x - lse).sort((a, b) => b - a).slice(0, 5);
  assert.equal(top.length, 5);
  top.forEach((lp, i) => assert.ok(Math.abs(lp - want[i]!) <= 1e-4, `top ${i}: server ${lp}, full re-prefill ${want[i]}`));
});
