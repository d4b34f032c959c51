// Every model-taking command accepts a `.gguf` file as `<model>`: same output as the HF directory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FIXTURES, QWEN3_TOKENIZER_DIR, fixtureGguf, ggufTempDir } from "../../../test/helpers/gguf-fixture.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const modelDir = join(FIXTURES, "models/qwen3-dense-tiny");
const gguf = fixtureGguf("qwen3-dense-tiny", "f32");

function qwenrt(args: string[], input = ""): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], { cwd: root, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("qwenrt tokenize <file.gguf> prints the reference ids", () => {
  const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer/tokenizer-public.json"), "utf8")) as Array<{ text: string; ids: number[] }>;
  const some = cases.filter((_, i) => i % 10 === 0);
  const r = qwenrt(["tokenize", gguf, "--jsonl"], some.map((c) => `${JSON.stringify(c.text)}\n`).join(""));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as number[]), some.map((c) => c.ids));
});

test("qwenrt logits <file.gguf> prints the reference top-k at every position", () => {
  const ref = JSON.parse(readFileSync(join(modelDir, "reference.json"), "utf8")) as {
    prompts: { chat: { ids: number[]; topk_ids: number[][]; topk_logits: number[][]; logsumexp: number[] } };
  };
  const p = ref.prompts.chat;
  const r = qwenrt(["logits", gguf, "--ids", "-", "--top-k", "4", "--kv-type", "f32"], JSON.stringify(p.ids)); // f32 KV: 1e-4 tolerance
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { pos: number; topk_ids: number[]; topk_logits: number[]; logsumexp: number });
  assert.equal(lines.length, p.ids.length);
  lines.forEach((l, i) => {
    assert.equal(l.pos, i);
    assert.deepEqual(l.topk_ids, p.topk_ids[i]!.slice(0, 4));
    l.topk_logits.forEach((v, j) => assert.ok(Math.abs(v - p.topk_logits[i]![j]!) < 1e-4));
    assert.ok(Math.abs(l.logsumexp - p.logsumexp[i]!) < 1e-4);
  });
});

test("qwenrt render and generate accept a .gguf file and match the directory", () => {
  const body = JSON.stringify({ messages: [{ role: "user", content: "Hi" }], enable_thinking: false });
  const a = qwenrt(["render", gguf], body);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  // A full directory (weights + tokenizer) beside the GGUF converted from it: same greedy ids.
  const dir = join(ggufTempDir(), "qwen3-dense-tiny-dir");
  mkdirSync(dir, { recursive: true });
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) symlinkSync(join(modelDir, f), join(dir, f));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) symlinkSync(join(QWEN3_TOKENIZER_DIR, f), join(dir, f));
  const args = ["--prompt", "Hello", "--chat", "--max-tokens", "6", "--temperature", "0", "--ignore-eos", "--json"];
  const g = qwenrt(["generate", gguf, ...args]);
  assert.equal(g.code, 0, g.stderr);
  const d = qwenrt(["generate", dir, ...args]);
  assert.equal(d.code, 0, d.stderr);
  const ids = (JSON.parse(g.stdout) as { ids: number[] }).ids;
  assert.equal(ids.length, 6);
  assert.deepEqual(ids, (JSON.parse(d.stdout) as { ids: number[] }).ids);
});

test("a broken .gguf fails with one line naming the file", () => {
  const bad = join(ggufTempDir(), "cli-truncated.gguf");
  writeFileSync(bad, readFileSync(gguf).subarray(0, 64));
  for (const cmd of [["tokenize", bad], ["logits", bad, "--ids", "-"], ["render", bad]]) {
    const r = qwenrt(cmd, "[1]");
    assert.equal(r.code, 1, cmd.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^qwenrt: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: truncated: .*\n$`));
  }
});
