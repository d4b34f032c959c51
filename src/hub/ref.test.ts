import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseModelRef } from "./ref.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-ref-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("Hub repo ids parse with optional revision and quant tag", () => {
  assert.deepEqual(parseModelRef("Qwen/Qwen3-0.6B"), { kind: "hub", repo: "Qwen/Qwen3-0.6B", revision: "main", quant: undefined });
  assert.deepEqual(parseModelRef("Qwen/Qwen3-0.6B@refs/pr/3"), { kind: "hub", repo: "Qwen/Qwen3-0.6B", revision: "refs/pr/3", quant: undefined });
  assert.deepEqual(parseModelRef("Qwen/Qwen3-8B-GGUF:Q4_K_M"), { kind: "hub", repo: "Qwen/Qwen3-8B-GGUF", revision: "main", quant: "Q4_K_M" });
  assert.deepEqual(parseModelRef("hf.co/unsloth/Qwen3-8B-GGUF@v1:UD-Q4_K_XL"), {
    kind: "hub",
    repo: "unsloth/Qwen3-8B-GGUF",
    revision: "v1",
    quant: "UD-Q4_K_XL",
  });
});

test("existing local paths win over repo ids", () => {
  const local = join(dir, "Qwen", "Qwen3-0.6B");
  mkdirSync(local, { recursive: true });
  const gguf = join(dir, "m.gguf");
  writeFileSync(gguf, "GGUF");
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.deepEqual(parseModelRef("Qwen/Qwen3-0.6B"), { kind: "local", path: "Qwen/Qwen3-0.6B", format: "dir" });
  } finally {
    process.chdir(cwd);
  }
  assert.deepEqual(parseModelRef(gguf), { kind: "local", path: gguf, format: "gguf" });
});

test("missing paths and malformed ids are errors naming the reference", () => {
  assert.throws(() => parseModelRef("./nope"), /\.\/nope: no such file or directory/);
  assert.throws(() => parseModelRef("missing.gguf"), /missing\.gguf: no such file/);
  assert.throws(() => parseModelRef("just-a-name"), /just-a-name: not a local path and not a Hub repo id/);
  assert.throws(() => parseModelRef("a/b/c"), /not a local path and not a Hub repo id/);
  assert.throws(() => parseModelRef("org/bad--name"), /not a Hub repo id/);
  const file = join(dir, "notes.txt");
  writeFileSync(file, "x");
  assert.throws(() => parseModelRef(file), /not a model directory or a \.gguf file/);
});
