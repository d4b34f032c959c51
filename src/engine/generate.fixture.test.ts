import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { generateAll } from "./generate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const modelDir = join(root, "test/fixtures/models/qwen3-dense-tiny");

interface Greedy {
  prompt_ids: number[];
  greedy_ids: number[];
  top1_top2_gaps: number[];
}

test("generate: greedy on qwen3-dense-tiny reproduces the reference continuation up to the first near-tie", async () => {
  const ref = JSON.parse(readFileSync(join(modelDir, "reference.json"), "utf8")) as { greedy: Record<string, Greedy> };
  const model = await loadModel(modelDir);
  const tokenizer = Tokenizer.fromDir(join(root, "test/fixtures/qwen3-tokenizer"));
  for (const name of ["chat", "text"]) {
    const g = ref.greedy[name]!;
    const tie = g.top1_top2_gaps.findIndex((gap) => gap < 1e-3);
    const comparable = tie === -1 ? g.greedy_ids.length : tie;
    assert.ok(comparable >= 10, `${name}: too few comparable steps (${comparable})`);
    // The reference generated a fixed count: ignore EOS so an early EOS id would still be compared.
    const result = await generateAll(model, tokenizer, g.prompt_ids, {
      temperature: 0,
      maxTokens: comparable,
      ignoreEos: true,
      prefillChunk: 7, // chunked prefill must not change the result
    });
    assert.deepEqual(result.ids, g.greedy_ids.slice(0, comparable), name);
    assert.equal(result.text, tokenizer.decode(g.greedy_ids.slice(0, comparable), { skipSpecialTokens: true }));
  }
});
