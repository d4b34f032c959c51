// Golden tests: the float32 forward pass against transformers' logits for every fixture model
// (test/fixtures/models; see its README): per-position top-k and logsumexp, full last-position
// logits, and greedy continuations with the KV cache up to the first near-tie. Every fixture
// directory with a reference.json is checked, so transformers' numbers for new architectures (the
// hybrid Qwen3.5 / Qwen3-Next ones, when the shared fixtures gain them) are held to the same checks.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { TOL, checkGreedy, checkLastLogits, checkPrompt, type Reference } from "../../test/helpers/golden.js";
import { loadModel } from "./load.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/models/", import.meta.url));

const names = readdirSync(fixtures).filter((d) => existsSync(join(fixtures, d, "reference.json"))).sort();

test("every fixture model with a reference is checked, the three published ones included", () => {
  for (const n of ["qwen3-dense-tiny", "qwen3-moe-tiny", "qwen2-tiny"]) assert.ok(names.includes(n), n);
});

for (const name of names) {
  describe(`${name} matches the transformers reference`, async () => {
    const dir = join(fixtures, name);
    const ref = JSON.parse(readFileSync(join(dir, "reference.json"), "utf8")) as Reference;
    const model = await loadModel(dir);

    for (const [prompt, p] of Object.entries(ref.prompts)) {
      test(`prompt "${prompt}": top-1 at every position, top-k logits and logsumexp within ${TOL}, full last logits`, async (t) => {
        const r = await checkPrompt(model, p, `${name}/${prompt}`);
        const full = checkLastLogits(r.last, join(dir, `last-logits-${prompt}.f32`));
        t.diagnostic(`max |Δ top-k logit| ${r.logit.toExponential(2)}, |Δ lse| ${r.lse.toExponential(2)}, |Δ last logits| ${full.toExponential(2)}`);
      });
    }

    for (const [prompt, g] of Object.entries(ref.greedy)) {
      test(`greedy "${prompt}" with the KV cache equals the reference up to the first near-tie`, async (t) => {
        const compared = await checkGreedy(model, g, `${name}/${prompt}`);
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
          const r = await checkPrompt(yarnModel, p, `${name}/yarn/${prompt}`);
          const full = checkLastLogits(r.last, join(dir, `yarn-last-logits-${prompt}.f32`));
          t.diagnostic(`max |Δ top-k logit| ${r.logit.toExponential(2)}, |Δ lse| ${r.lse.toExponential(2)}, |Δ last logits| ${full.toExponential(2)}`);
        });
      }
    }
  });
}
