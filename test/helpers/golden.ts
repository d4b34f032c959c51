/**
 * Test helper: checking a model's logits against the transformers reference of a fixture model
 * (test/fixtures/models/<name>/reference.json and last-logits-*.f32). Shared by the golden tests of
 * every backend (src/models/golden.test.ts, wasm.golden.test.ts, webgpu.golden.test.ts): through
 * `forwardAsync`, which every backend runs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { logSumExp } from "../../src/models/logit_stats.js";
import type { Model } from "../../src/models/model.js";

/** float32 engine vs float32 reference; measured max ≈ 1.1e-5 (ref backend). */
export const TOL = 1e-4;
/** Greedy steps whose reference top-1/top-2 gap is below this are not compared. */
export const NEAR_TIE = 1e-3;

export interface PromptRef {
  ids: number[];
  topk_ids: number[][];
  topk_logits: number[][];
  logsumexp: number[];
}
export interface GreedyRef {
  prompt_ids: number[];
  greedy_ids: number[];
  top1_top2_gaps: number[];
}
export interface Reference {
  prompts: Record<string, PromptRef>;
  greedy: Record<string, GreedyRef>;
  yarn?: { config: Record<string, unknown>; prompts: Record<string, PromptRef> };
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Check every position of a prompt; returns the worst |Δlogit| and |Δlogsumexp|. */
export async function checkPrompt(model: Model, p: PromptRef, name: string): Promise<{ logit: number; lse: number; last: Float32Array }> {
  const vocab = model.config.vocabSize;
  const seq = model.newSequence();
  const chunk = 100;
  let worst = 0;
  let worstLse = 0;
  let last = new Float32Array(0);
  for (let from = 0; from < p.ids.length; from += chunk) {
    const ids = Int32Array.from(p.ids.slice(from, from + chunk));
    const [logits] = await model.forwardAsync([{ seq, ids }], { logits: "all" });
    for (let r = 0; r < ids.length; r++) {
      const pos = from + r;
      const row = logits!.subarray(r * vocab, (r + 1) * vocab);
      assert.equal(argmax(row), p.topk_ids[pos]![0], `${name} pos ${pos}: top-1`);
      p.topk_ids[pos]!.forEach((id, j) => {
        worst = Math.max(worst, Math.abs(row[id]! - p.topk_logits[pos]![j]!));
      });
      worstLse = Math.max(worstLse, Math.abs(logSumExp(row) - p.logsumexp[pos]!));
      if (pos === p.ids.length - 1) last = row.slice();
    }
  }
  assert.ok(worst <= TOL, `${name}: max |Δ top-k logit| ${worst} > ${TOL}`);
  assert.ok(worstLse <= TOL, `${name}: max |Δ logsumexp| ${worstLse} > ${TOL}`);
  return { logit: worst, lse: worstLse, last };
}

/** Compare a full logits row with the reference file; returns the worst |Δ|. */
export function checkLastLogits(last: Float32Array, file: string): number {
  const buf = readFileSync(file);
  const want = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  assert.equal(last.length, want.length, `${file}: vocab`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(last[i]! - want[i]!));
  assert.ok(worst <= TOL, `${file}: max |Δ logit| ${worst} > ${TOL}`);
  return worst;
}

/** Greedy decoding with the KV cache against the reference up to the first near-tie; returns the
 * number of steps compared. */
export async function checkGreedy(model: Model, g: GreedyRef, name: string): Promise<number> {
  const seq = model.newSequence();
  let [logits] = await model.forwardAsync([{ seq, ids: Int32Array.from(g.prompt_ids) }]);
  let compared = 0;
  for (let step = 0; step < g.greedy_ids.length; step++) {
    if (g.top1_top2_gaps[step]! < NEAR_TIE) break;
    const next = argmax(logits!);
    assert.equal(next, g.greedy_ids[step], `${name} step ${step}`);
    compared++;
    [logits] = await model.forwardAsync([{ seq, ids: Int32Array.of(next) }]);
  }
  assert.ok(compared > 0, "at least one comparable step");
  return compared;
}
