import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = join(import.meta.dirname, "../../..");
const modelDir = join(root, "test/fixtures/qwen3-tokenizer");

function cli(args: string[], input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "tokenize", ...args], {
    cwd: root,
    input,
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("qwenrt tokenize", () => {
  it("prints stdin's ids as one JSON array", () => {
    const r = cli([modelDir], "The quick brown fox jumps over the lazy dog.");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[785,3974,13876,38835,34208,916,279,15678,5562,13]\n");
  });

  it("--jsonl: one id array per JSON-string line", () => {
    const r = cli([modelDir, "--jsonl"], '"The quick brown fox jumps over the lazy dog."\n"<think>\\n"\n""\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[785,3974,13876,38835,34208,916,279,15678,5562,13]\n[151667,198]\n[]\n");
  });

  it("--jsonl: a malformed line is an error naming its line number", () => {
    const r = cli([modelDir, "--jsonl"], '"ok"\n{"not": "a string"}\n');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^qwenrt: stdin line 2: expected a JSON string\n$/);
  });

  it("names the missing directory or the malformed tokenizer.json", () => {
    const missing = cli([join(root, "no-such-model")], "x");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no-such-model: no such file or directory\n$/);
    const dir = mkdtempSync(join(tmpdir(), "qwenrt-tok-"));
    const empty = cli([dir], "x");
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /tokenizer\.json: file not found\n$/);
    writeFileSync(join(dir, "tokenizer.json"), "{ nope");
    const bad = cli([dir], "x");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tokenizer\.json: malformed JSON/);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
  });
});
