// `openModelSource` on a .gguf: the tokenizer and chat template come from the header alone; the
// checks it makes before a load (layer counts against the checkpoint) and the non-finite weight scan.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { completeModelDir, poisonTensor } from "../test/helpers/complete-model.js";
import { fixtureGguf, truncatedCopy } from "../test/helpers/gguf-fixture.js";
import { readGguf, readGgufMetadata } from "./formats/gguf/read.js";
import { openModelSource } from "./open.js";
import { tokenizerFromGguf } from "./tokenizer/gguf.js";

test("openModelSource on a .gguf reads only the header for the tokenizer and template", async () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  // Without its data section the file cannot be fully read, so these succeed only from the header.
  const cut = truncatedCopy(path, readGgufMetadata(path).dataStart, "open-header-only.gguf");
  const src = await openModelSource(cut);
  const whole = await openModelSource(path);
  const text = "Hello, world! 你好";
  assert.deepEqual(src.tokenizer().encode(text), tokenizerFromGguf(readGguf(path)).encode(text));
  assert.equal(src.hasChatTemplate(), true);
  const req = { messages: [{ role: "user" as const, content: "hi" }] };
  assert.equal(src.chatTemplate().render(req), whole.chatTemplate().render(req));
  await assert.rejects(src.loadModel(), /lies beyond the end of the file/);
});

/** A copy of the fixture model with `edit` applied to its files. */
async function corruptedFixture(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = completeModelDir("qwen3-dense-tiny");
  await edit(dir);
  return dir;
}

test("openModelSource: a layer count the checkpoint does not hold is refused at once, naming config.json's field", async () => {
  const dir = await corruptedFixture(async (d) => {
    const path = join(d, "config.json");
    writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, "utf8")) as object), num_hidden_layers: 1e9 }));
  });
  const t0 = performance.now();
  await assert.rejects((await openModelSource(dir)).loadModel(), /config\.json: "num_hidden_layers" is 1000000000 but the checkpoint's tensors hold 2 layers/);
  assert.ok(performance.now() - t0 < 10_000, `${performance.now() - t0} ms`);
});

test("findNonFinite (--check-weights): every weight finite in the fixture; a poisoned one is named", async () => {
  assert.equal(await (await openModelSource(completeModelDir("qwen3-dense-tiny"))).findNonFinite(), undefined);
  const dir = await corruptedFixture((d) => poisonTensor(d, "model.layers.1.mlp.down_proj.weight"));
  const bad = await (await openModelSource(dir)).findNonFinite();
  assert.equal(bad?.tensor, "model.layers.1.mlp.down_proj.weight");
  assert.equal(bad?.index, 0);
  assert.ok(Number.isNaN(bad?.value));
  const gguf = await (await openModelSource(fixtureGguf("qwen3-dense-tiny", "q8_0"))).findNonFinite();
  assert.equal(gguf, undefined);
});
