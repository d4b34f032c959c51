import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { THINKING_EARLY_STOP } from "../chat/budget.js";
import { StreamDetokenizer, Tokenizer } from "../tokenizer/index.js";
import type { Constraint } from "./constrain/index.js";
import { generateAll } from "./generate.js";
import { Thought } from "./thought.js";
import { AfterThought, TurnSteer } from "./turn-steer.js";
import type { ForwardSegment, LogitsModel } from "./types.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tok = Tokenizer.fromDir(join(root, "test/fixtures/qwen3-tokenizer"));
const VOCAB = 151_936;
const [THINK, CLOSE] = [151667, 151668];
const plain = (s: string): number[] => tok.encode(s, { addSpecialTokens: false });
const [A, B, C, X] = ["a", "b", "c", "x"].map((ch) => plain(ch)[0]!) as [number, number, number, number];
const early = plain(THINKING_EARLY_STOP);

/** Greedy-scripted model: after n output tokens, logits peak at script[n] (else X). */
function scripted(script: number[], promptLen = 1): LogitsModel<{ length: number }> {
  return {
    config: { vocabSize: VOCAB },
    newSequence: () => ({ length: 0 }),
    forward(segments: readonly ForwardSegment<{ length: number }>[]) {
      return segments.map(({ seq, ids }) => {
        seq.length += ids.length;
        const logits = new Float32Array(VOCAB);
        logits[script[seq.length - promptLen] ?? X] = 10;
        return logits;
      });
    },
  };
}

/** A grammar that allows everything and records what it was asked. */
function recorder(): Constraint & { masks: number; accepted: number[] } {
  const r = {
    masks: 0,
    accepted: [] as number[],
    mask: () => void r.masks++,
    allowedBits: () => new Uint32Array(0),
    accept: (t: number) => void r.accepted.push(t),
    canAccept: () => true,
    isComplete: () => false,
    isFinished: () => false,
    fork: () => r,
  };
  return r;
}

const textThought = (open: boolean): Thought =>
  new Thought(open, { openId: undefined, closeId: undefined }, () => new StreamDetokenizer(tok, { skipSpecialTokens: false }));

test("Thought by id: a leading <think>, the closing </think> and forced tokens are not reasoning tokens", () => {
  const t = Thought.of(tok, true);
  for (const [id, forced] of [[THINK, false], [A, false], [B, true], [C, false]] as const) t.accept(id, forced);
  assert.equal(t.open, true);
  assert.equal(t.reasoningTokens, 2); // a, c
  t.accept(CLOSE, false);
  t.accept(A, false);
  assert.equal(t.open, false);
  assert.equal(t.reasoningTokens, 2);
  const closed = Thought.of(tok, false);
  closed.accept(A, false);
  assert.deepEqual([closed.open, closed.reasoningTokens], [false, 0]);
});

test("Thought by text (no </think> token) agrees with the id path, and sees a tag split across tokens", () => {
  const ids = plain("<think>\nab c</think>\n\nok");
  assert.ok(ids.includes(CLOSE));
  const byId = Thought.of(tok, true);
  const byText = textThought(true);
  for (const id of ids) {
    byId.accept(id, false);
    byText.accept(id, false);
    assert.deepEqual([byText.open, byText.reasoningTokens], [byId.open, byId.reasoningTokens], `after ${id}`);
  }
  assert.equal(byId.open, false);
  const split = textThought(true);
  for (const id of [...plain("hm </"), ...plain("think"), ...plain(">")]) split.accept(id, false);
  assert.equal(split.open, false);
  assert.ok(split.reasoningTokens >= 2);
  assert.throws(() => new Thought(true, { openId: undefined, closeId: undefined }), /needs a text stream/);
});

test("AfterThought: the grammar sees nothing of the thought and every token after the model's </think>", async () => {
  const thought = Thought.of(tok, true);
  const inner = recorder();
  const r = await generateAll(scripted([THINK, A, CLOSE, B, C]), tok, [A], {
    temperature: 0,
    maxTokens: 5,
    interceptor: new TurnSteer(thought, undefined, early),
    constraint: new AfterThought(inner, thought, false),
  });
  assert.deepEqual(r.ids, [THINK, A, CLOSE, B, C]);
  assert.deepEqual(inner.accepted, [B, C]);
  assert.equal(inner.masks, 2);
  assert.equal(thought.reasoningTokens, 1);
});

test("TurnSteer: the budget, the grammar gate and the reasoning count read one Thought", async () => {
  const thought = Thought.of(tok, true);
  const inner = recorder();
  const r = await generateAll(scripted([A, B, C, C, C]), tok, [A], {
    temperature: 0,
    maxTokens: 2 + early.length + 2,
    interceptor: new TurnSteer(thought, 2, early),
    constraint: new AfterThought(inner, thought, false),
  });
  assert.deepEqual(r.ids, [A, B, ...early, X, X]);
  assert.equal(thought.open, false);
  assert.equal(thought.reasoningTokens, 2, "forced tokens are not reasoning tokens");
  assert.deepEqual(inner.accepted, [X, X], "the grammar starts after the forced </think>");

  // Thinking off: nothing is forced and the grammar applies from the first token.
  const off = Thought.of(tok, false);
  const all = recorder();
  const o = await generateAll(scripted([A, B]), tok, [A], {
    temperature: 0,
    maxTokens: 2,
    interceptor: new TurnSteer(off, 0, early),
    constraint: new AfterThought(all, off, false),
  });
  assert.deepEqual(o.ids, [A, B]);
  assert.deepEqual(all.accepted, [A, B]);
});
