// Golden tests: the float32 forward pass against transformers' logits for every fixture model
// (test/fixtures/models; see its README): per-position top-k and logsumexp, full last-position
// logits, and greedy continuations with the KV cache up to the first near-tie.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadModel } from "./load.js";
import { logSumExp } from "./logit_stats.js";
import type { Model } from "./model.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));
const TOL = 1e-4; // float32 engine vs float32 reference; measured max ≈ 1.1e-5
const NEAR_TIE = 1e-3;

interface PromptRef {
  ids: number[];
  topk_ids: number[][];
  topk_logits: number[][];
  logsumexp: number[];
}
interface GreedyRef {
  prompt_ids: number[];
  greedy_ids: number[];
  top1_top2_gaps: number[];
}
interface Reference {
  prompts: Record<string, PromptRef>;
  greedy: Record<string, GreedyRef>;
  yarn?: { config: Record<string, unknown>; prompts: Record<string, PromptRef> };
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Check every position of a prompt; returns the worst |Δlogit| and |Δlogsumexp|. */
function checkPrompt(model: Model, p: PromptRef, name: string): { logit: number; lse: number; last: Float32Array } {
  const vocab = model.config.vocabSize;
  const seq = model.newSequence();
  const chunk = 100;
  let worst = 0;
  let worstLse = 0;
  let last = new Float32Array(0);
  for (let from = 0; from < p.ids.length; from += chunk) {
    const ids = Int32Array.from(p.ids.slice(from, from + chunk));
    const [logits] = model.forward([{ seq, ids }], { logits: "all" });
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

function checkLastLogits(last: Float32Array, file: string): number {
  const buf = readFileSync(file);
  const want = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  assert.equal(last.length, want.length, `${file}: vocab`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(last[i]! - want[i]!));
  assert.ok(worst <= TOL, `${file}: max |Δ logit| ${worst} > ${TOL}`);
  return worst;
}

for (const name of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) {
  describe(`${name} matches the transformers reference`, async () => {
    const dir = join(fixtures, name);
    const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
    const model = await loadModel(dir);

    for (const [prompt, p] of Object.entries(ref.prompts)) {
      test(`prompt "${prompt}": top-1 at every position, top-k logits and logsumexp within ${TOL}, full last logits`, (t) => {
        const r = checkPrompt(model, p, `${name}/${prompt}`);
        const full = checkLastLogits(r.last, join(dir, `last-logits-${prompt}.f32`));
        t.diagnostic(`max |Δ top-k logit| ${r.logit.toExponential(2)}, |Δ lse| ${r.lse.toExponential(2)}, |Δ last logits| ${full.toExponential(2)}`);
      });
    }

    for (const [prompt, g] of Object.entries(ref.greedy)) {
      test(`greedy "${prompt}" with the KV cache equals the reference up to the first near-tie`, (t) => {
        const seq = model.newSequence();
        let [logits] = model.forward([{ seq, ids: Int32Array.from(g.prompt_ids) }]);
        let compared = 0;
        for (let step = 0; step < g.greedy_ids.length; step++) {
          if (g.top1_top2_gaps[step]! < NEAR_TIE) break;
          const next = argmax(logits!);
          assert.equal(next, g.greedy_ids[step], `${name}/${prompt} step ${step}`);
          compared++;
          [logits] = model.forward([{ seq, ids: Int32Array.of(next) }]);
        }
        assert.ok(compared > 0, "at least one comparable step");
        t.diagnostic(`${compared} of ${g.greedy_ids.length} steps compared`);
      });
    }

    if (ref.yarn !== undefined) {
      const yarn = ref.yarn;
      const yarnDir = mkdtempSync(join(tmpdir(), "qwenrt-yarn-"));
      after(() => rmSync(yarnDir, { recursive: true, force: true }));
      writeFileSync(join(yarnDir, "config.json"), JSON.stringify(yarn.config));
      symlinkSync(join(dir, "model.safetensors"), join(yarnDir, "model.safetensors"));
      for (const [prompt, p] of Object.entries(yarn.prompts)) {
        test(`YaRN variant, prompt "${prompt}": top-1, top-k logits, logsumexp and last logits match`, async (t) => {
          const yarnModel = await loadModel(yarnDir);
          assert.equal(yarnModel.config.ropeScaling.type, "yarn");
          const r = checkPrompt(yarnModel, p, `${name}/yarn/${prompt}`);
          const full = checkLastLogits(r.last, join(dir, `yarn-last-logits-${prompt}.f32`));
          t.diagnostic(`max |Δ top-k logit| ${r.logit.toExponential(2)}, |Δ lse| ${r.lse.toExponential(2)}, |Δ last logits| ${full.toExponential(2)}`);
        });
      }
    }
  });
}
