// Qwen3.5's pre-tokenizer (letter runs keep their combining marks, `[\p{L}\p{M}]+`): a tokenizer.json
// with that regex converts to a GGUF naming it `qwen35`; qwenrt's `qwen35` pipeline tokenizes the
// fixture texts as that tokenizer.json does, and as llama.cpp's own `qwen35` pre-tokenizer does on
// the same GGUF (the Qwen3 vocabulary and merges, so only the split differs from Qwen3's).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { FIXTURES, QWEN3_TOKENIZER_DIR } from "../../test/helpers/gguf-fixture.js";
import { writeTinyHybrid } from "../../test/helpers/hybrid-checkpoints.js";
import { readGguf } from "../formats/gguf/read.js";
import { QWEN2_PRETOKENIZER_REGEX, QWEN35_PRETOKENIZER_REGEX } from "../tokenizer/spec.js";
import { tokenizerFromGguf } from "../tokenizer/gguf.js";
import { buildPreTokenizer } from "../tokenizer/pretokenize.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";
import { convertHfToGguf } from "./convert.js";

interface Case {
  text: string;
  ids: number[];
}
const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer/tokenizer-public.json"), "utf8")) as Case[];
const out = mkdtempSync(join(tmpdir(), "qwenrt-qwen35-tok-"));
const tokDir = join(out, "tokenizer");
const gguf = join(out, "qwen35.gguf");
let llama: Llama | undefined;
let unavailable = "";

before(async () => {
  // The Qwen3 tokenizer with Qwen3.5's split regex.
  mkdirSync(tokDir);
  const tj = readFileSync(join(QWEN3_TOKENIZER_DIR, "tokenizer.json"), "utf8");
  const from = JSON.stringify(QWEN2_PRETOKENIZER_REGEX), to = JSON.stringify(QWEN35_PRETOKENIZER_REGEX);
  assert.ok(tj.includes(from), "the fixture tokenizer.json holds the Qwen2 regex");
  writeFileSync(join(tokDir, "tokenizer.json"), tj.replace(from, to));
  copyFileSync(join(QWEN3_TOKENIZER_DIR, "tokenizer_config.json"), join(tokDir, "tokenizer_config.json"));
  const model = join(out, "model");
  writeTinyHybrid(model, "qwen3_5", { vocab: 151936 });
  await convertHfToGguf(model, gguf, { type: "f32", tokenizerDir: tokDir });
  try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  } catch (e) {
    unavailable = `node-llama-cpp's prebuilt binary cannot load here: ${(e as Error).message}`;
  }
});

after(async () => {
  await llama?.dispose();
  rmSync(out, { recursive: true, force: true });
});

test("the GGUF names the pre-tokenizer qwen35; its tokenizer equals the tokenizer.json's on every fixture text", (t) => {
  const g = readGguf(gguf);
  assert.equal(g.metadata.get("tokenizer.ggml.pre")?.value, "qwen35");
  const fromGguf = tokenizerFromGguf(g), fromJson = Tokenizer.fromDir(tokDir);
  let changed = 0;
  for (const [i, c] of cases.entries()) {
    const ids = fromGguf.encode(c.text, { addSpecialTokens: false });
    assert.deepEqual(ids, fromJson.encode(c.text, { addSpecialTokens: false }), `case ${i}`);
    assert.equal(fromGguf.decode(ids), fromJson.decode(ids), `case ${i}`);
    if (ids.join() !== c.ids.join()) changed++;
  }
  // Texts with combining marks (Devanagari, Thai, Arabic vowel marks) split differently (measured 3).
  t.diagnostic(`${changed} of ${cases.length} fixture texts tokenize differently from Qwen3's pre-tokenizer`);
  assert.ok(changed >= 3, `only ${changed} fixture texts tokenize differently from Qwen3's`);
  // Letters and their vowel signs stay one piece; Qwen3's regex cuts at every mark.
  const pieces = (regex: string): string[] => {
    const got: string[] = [];
    buildPreTokenizer([{ kind: "split", pattern: { regex }, behavior: "Isolated", invert: false }, { kind: "byteLevel", addPrefixSpace: false, useRegex: false }], "t")("हिन्दी भाषा", (p) => got.push(p));
    return got;
  };
  assert.deepEqual(pieces(QWEN35_PRETOKENIZER_REGEX), ["हिन्दी", " भाषा"]);
  assert.ok(pieces(QWEN2_PRETOKENIZER_REGEX).length > 4, pieces(QWEN2_PRETOKENIZER_REGEX).join("|"));
});

test("llama.cpp's qwen35 pre-tokenizer gives the same ids on the fixture texts (NFC-normalised: llama.cpp has no normalizer)", async (t) => {
  if (llama === undefined) return t.skip(unavailable);
  const model = await llama.loadModel({ modelPath: gguf, useMmap: false, vocabOnly: true });
  try {
    const ours = tokenizerFromGguf(readGguf(gguf));
    const differ: number[] = [];
    for (const [i, c] of cases.entries()) {
      const text = c.text.normalize("NFC");
      const theirs = [...model.tokenize(text, true)].map(Number);
      if (theirs.join() !== ours.encode(text, { addSpecialTokens: false }).join()) differ.push(i);
    }
    t.diagnostic(`qwen35: ${cases.length - differ.length} of ${cases.length} fixture texts tokenize identically${differ.length > 0 ? `; differing: ${differ.join(", ")}` : ""}`);
    assert.deepEqual(differ, []);
  } finally {
    await model.dispose();
  }
});
