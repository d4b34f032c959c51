// Multi-turn reuse on a hybrid model (Qwen3.5 layout, random weights, the real Qwen3 tokenizer and
// template): a recurrent state cannot go back to any length, so the prefix cache resumes from the
// nearest checkpoint (every 256 positions, each prompt's end, each turn's end). The second turn of a
// ~2,000-token conversation computes only its new tokens plus at most one checkpoint interval, and
// its logits equal a full re-prefill of the same prompt.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { writeTinyHybrid } from "../../test/helpers/hybrid-checkpoints.js";
import { parseChatRequest } from "../chat/messages.js";
import { loadChatTemplate } from "../chat/template.js";
import { createWasmBackend } from "../kernels/wasm/index.js";
import { DEFAULT_CHECKPOINT_INTERVAL } from "../layers/deltanet_slot.js";
import { loadModel } from "../models/load.js";
import type { Sequence } from "../models/model.js";
import { Tokenizer } from "../tokenizer/index.js";
import { TurnRunner, type TurnModel } from "./turn.js";
import type { ForwardSegment } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-hybrid-turns-"));
writeTinyHybrid(dir, "qwen3_5", { vocab: 151936 });
for (const f of readdirSync(QWEN3_TOKENIZER_DIR)) copyFileSync(join(QWEN3_TOKENIZER_DIR, f), join(dir, f));
const backend = await createWasmBackend({ threads: 2, kv: "f32" });
const model = await loadModel(dir, { backend });
const tokenizer = Tokenizer.fromDir(dir);
const template = loadChatTemplate(dir);
after(() => {
  backend.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** The model with every forwarded token counted, and the logits row that completes a chosen length. */
function counting(): { model: TurnModel<Sequence>; tokens: () => number; reset: () => void; watch: (len: number) => void; row: () => Float32Array | undefined } {
  let tokens = 0;
  let watchLen = -1;
  let row: Float32Array | undefined;
  const forward = (segments: readonly ForwardSegment<Sequence>[]): Float32Array[] => {
    tokens += segments.reduce((a, s) => a + s.ids.length, 0);
    const rows = model.forward(segments);
    segments.forEach((s, i) => {
      if (s.seq.length === watchLen) row = rows[i];
    });
    return rows;
  };
  return {
    model: {
      config: model.config,
      generation: model.generation,
      newSequence: () => model.newSequence(),
      forward,
      fork: (s) => model.fork(s),
      truncate: (s, n) => model.truncate(s, n),
      release: (s) => model.release(s),
      restorableLength: (s, n) => model.restorableLength(s, n),
      checkpoint: (s) => model.checkpoint(s),
    },
    tokens: () => tokens,
    reset: () => (tokens = 0),
    watch: (len) => {
      watchLen = len;
      row = undefined;
    },
    row: () => row,
  };
}

test("turn 2 of a ~2,000-token conversation re-reads at most one checkpoint interval, with a full re-prefill's logits", async (t) => {
  const c = counting();
  const runner = new TurnRunner(c.model, tokenizer, template, { prefixCacheTokens: 16384 });
  const facts = Array.from({ length: 95 }, (_, i) => `Fact ${i}: the ${["red", "green", "blue", "amber"][i % 4]} door ${i * 7} opens at ${i % 24}:00.`).join(" ");
  const history = [
    { role: "system", content: `You keep notes.\n${facts}` },
    { role: "user", content: "Which door opens at noon?" },
  ];
  const turn1 = runner.prepare({ chat: parseChatRequest({ messages: history, enable_thinking: false }) });
  assert.ok(turn1.promptIds.length > 1900 && turn1.promptIds.length < 2600, `prompt of ${turn1.promptIds.length} tokens`);
  const out1 = await runner.run(turn1, { temperature: 0, maxTokens: 12 });

  const turn2 = runner.prepare({
    chat: parseChatRequest({ messages: [...history, { role: "assistant", content: out1.message.content }, { role: "user", content: "And at one?" }], enable_thinking: false }),
  });
  // What the cache holds of turn 1 (prompt and answer but its last token), and how much of turn 2's
  // prompt repeats it: the rest is new.
  const held = [...turn1.promptIds, ...out1.ids].slice(0, turn1.promptIds.length + out1.ids.length - 1);
  let shared = 0;
  while (shared < held.length && held[shared] === turn2.promptIds[shared]) shared++;
  const fresh = turn2.promptIds.length - shared;

  c.reset();
  c.watch(turn2.promptIds.length);
  const out2 = await runner.run(turn2, { temperature: 0, maxTokens: 1 });
  const computed = c.tokens(); // prompt tokens run in turn 2 (one sampled token is never fed back)
  t.diagnostic(`turn 1: ${turn1.promptIds.length} prompt tokens; turn 2: ${turn2.promptIds.length} prompt tokens, ${shared} shared with the cache, ${fresh} new; reused ${out2.cachedTokens}, computed ${computed}`);
  assert.equal(computed, turn2.promptIds.length - out2.cachedTokens, "the forward calls ran exactly the uncached part");
  // Turn 1 kept its state where the history ended (before "<|im_start|>assistant"), which turn 2's
  // re-rendered history reaches: it resumes there, not at an older interval checkpoint.
  assert.equal(out2.cachedTokens, turn1.historyEnd);
  assert.ok(computed <= fresh + DEFAULT_CHECKPOINT_INTERVAL, `computed ${computed} > ${fresh} new + ${DEFAULT_CHECKPOINT_INTERVAL}`);

  const reused = c.row();
  assert.ok(reused !== undefined, "logits at turn 2's prompt end");
  const [full] = model.forward([{ seq: model.newSequence(), ids: Int32Array.from(turn2.promptIds) }]);
  let d = 0;
  for (let i = 0; i < full!.length; i++) d = Math.max(d, Math.abs(full![i]! - reused[i]!));
  t.diagnostic(`max |Δ logit| resumed vs full re-prefill: ${d.toExponential(2)}`);
  assert.ok(d <= 1e-4, `${d}`);
});

test("a new request sharing only the ~2,000-token system prompt resumes at the nearest interval checkpoint below it, with a full re-prefill's logits", async (t) => {
  const c = counting();
  const runner = new TurnRunner(c.model, tokenizer, template, { prefixCacheTokens: 16384 });
  const facts = Array.from({ length: 95 }, (_, i) => `Fact ${i}: the ${["red", "green", "blue", "amber"][i % 4]} door ${i * 7} opens at ${(i * 5) % 24}:00.`).join(" ");
  const system = { role: "system", content: `You keep notes.\n${facts}` };
  const first = runner.prepare({ chat: parseChatRequest({ messages: [system, { role: "user", content: "Which door opens at noon?" }], enable_thinking: false }) });
  await runner.run(first, { temperature: 0, maxTokens: 4 });

  // Another user question after the same system prompt: the state at the shared prefix's end was
  // never kept, so the request resumes from the last interval checkpoint at or below it.
  const second = runner.prepare({ chat: parseChatRequest({ messages: [system, { role: "user", content: "Name every amber door." }], enable_thinking: false }) });
  let shared = 0;
  while (shared < first.promptIds.length && first.promptIds[shared] === second.promptIds[shared]) shared++;
  const fresh = second.promptIds.length - shared;
  c.reset();
  c.watch(second.promptIds.length);
  const out = await runner.run(second, { temperature: 0, maxTokens: 1 });
  const computed = c.tokens();
  t.diagnostic(`shared prefix ${shared} of ${second.promptIds.length} tokens (${fresh} new); reused ${out.cachedTokens}, computed ${computed}`);
  assert.ok(shared > 1900, `the system prompt is shared (${shared} tokens)`);
  assert.equal(computed, second.promptIds.length - out.cachedTokens, "the forward calls ran exactly the uncached part");
  assert.equal(out.cachedTokens, Math.floor(shared / DEFAULT_CHECKPOINT_INTERVAL) * DEFAULT_CHECKPOINT_INTERVAL, "resumed at the interval checkpoint at or below the shared prefix");
  assert.ok(computed <= fresh + DEFAULT_CHECKPOINT_INTERVAL, `computed ${computed} > ${fresh} new + ${DEFAULT_CHECKPOINT_INTERVAL}`);

  const reused = c.row();
  assert.ok(reused !== undefined, "logits at the prompt's end");
  const [full] = model.forward([{ seq: model.newSequence(), ids: Int32Array.from(second.promptIds) }]);
  let d = 0;
  for (let i = 0; i < full!.length; i++) d = Math.max(d, Math.abs(full![i]! - reused[i]!));
  t.diagnostic(`max |Δ logit| resumed vs full re-prefill: ${d.toExponential(2)}`);
  assert.ok(d <= 1e-4, `${d}`);
});
