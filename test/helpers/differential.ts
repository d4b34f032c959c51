// The differential properties every model must have (cached vs uncached, chunked vs whole, batched
// vs single, fork / truncate / cache growth), as one suite any model test file can run, on any
// backend (through `forwardAsync`).
import assert from "node:assert/strict";
import { test } from "node:test";
import { QwenrtError } from "../../src/util/errors.js";
import type { Model } from "../../src/models/model.js";

/** Largest |a[i] - b[i]|. */
export function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** `n` seeded token ids below `vocab` (a linear congruential generator). */
export function ids(seed: number, n: number, vocab: number): Int32Array {
  const out = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s % vocab;
  }
  return out;
}

/** The differential properties every model must have, each within `EPS` of max |Δ logit|. */
export function differentialSuite(label: string, getModel: () => Model, promptLen: number, EPS = 1e-5): void {
  test(`${label}: cached incremental decode equals uncached full forward`, async () => {
    const m = getModel();
    const prompt = ids(7, promptLen, m.config.vocabSize);
    const seq = m.newSequence(8);
    const split = promptLen - 4;
    await m.forwardAsync([{ seq, ids: prompt.subarray(0, split) }]);
    for (let j = split; j < promptLen; j++) {
      const [cached] = await m.forwardAsync([{ seq, ids: prompt.subarray(j, j + 1) }]);
      const [full] = await m.forwardAsync([{ seq: m.newSequence(), ids: prompt.subarray(0, j + 1) }]);
      assert.ok(maxDiff(cached!, full!) <= EPS, `position ${j}: ${maxDiff(cached!, full!)}`);
    }
  });

  test(`${label}: chunked prefill equals whole prefill at every position`, async () => {
    const m = getModel();
    const prompt = ids(11, promptLen, m.config.vocabSize);
    const [whole] = await m.forwardAsync([{ seq: m.newSequence(), ids: prompt }], { logits: "all" });
    for (const maxChunk of [1, 3, 7]) {
      const [chunked] = await m.forwardAsync([{ seq: m.newSequence(), ids: prompt }], { logits: "all", maxChunk });
      assert.ok(maxDiff(chunked!, whole!) <= EPS, `maxChunk ${maxChunk}`);
      const [lastOnly] = await m.forwardAsync([{ seq: m.newSequence(), ids: prompt }], { maxChunk });
      assert.ok(maxDiff(lastOnly!, whole!.subarray((promptLen - 1) * m.config.vocabSize)) <= EPS, `last, maxChunk ${maxChunk}`);
    }
  });

  test(`${label}: a batch of segments from different sequences equals running them one at a time`, async () => {
    const m = getModel();
    const v = m.config.vocabSize;
    const a = ids(1, promptLen, v), b = ids(2, 5, v), c = ids(3, promptLen + 3, v);
    // Sequence B already has a prefix: a decode-like segment mixed with prefill segments.
    const single: Float32Array[] = [];
    for (const [i, p] of [a, b, c].entries()) {
      const seq = m.newSequence();
      if (i === 1) await m.forwardAsync([{ seq, ids: ids(4, 6, v) }], { logits: "none" });
      single.push((await m.forwardAsync([{ seq, ids: p }], { logits: "all" }))[0]!);
    }
    const seqs = [m.newSequence(), m.newSequence(), m.newSequence()];
    await m.forwardAsync([{ seq: seqs[1]!, ids: ids(4, 6, v) }], { logits: "none" });
    const batched = await m.forwardAsync(
      [a, b, c].map((p, i) => ({ seq: seqs[i]!, ids: p })),
      { logits: "all", maxChunk: 4 },
    );
    batched.forEach((r, i) => assert.ok(maxDiff(r, single[i]!) <= EPS, `segment ${i}`));
    assert.deepEqual(seqs.map((s) => s.length), [promptLen, 11, promptLen + 3]);
  });

  test(`${label}: fork and truncate reuse a cached prefix exactly`, async () => {
    const m = getModel();
    const v = m.config.vocabSize;
    const prefix = ids(21, promptLen, v);
    const seq = m.newSequence(2); // also grows the cache several times
    await m.forwardAsync([{ seq, ids: prefix }], { logits: "none" });
    m.checkpoint(seq); // a recurrent state (hybrid models) goes back only to a checkpoint
    const forked = m.fork(seq);
    const [x] = await m.forwardAsync([{ seq, ids: Int32Array.of(1, 2) }]);
    const [y] = await m.forwardAsync([{ seq: forked, ids: Int32Array.of(3) }]);
    const full = async (tail: number[]): Promise<Float32Array> =>
      (await m.forwardAsync([{ seq: m.newSequence(), ids: Int32Array.from([...prefix, ...tail]) }]))[0]!;
    assert.ok(maxDiff(x!, await full([1, 2])) <= EPS, "original after fork");
    assert.ok(maxDiff(y!, await full([3])) <= EPS, "fork");
    m.truncate(seq, promptLen);
    const [z] = await m.forwardAsync([{ seq, ids: Int32Array.of(3) }]);
    assert.ok(maxDiff(z!, y!) <= EPS, "truncate then continue");
    assert.throws(() => m.truncate(seq, promptLen + 5), QwenrtError);
  });
}

