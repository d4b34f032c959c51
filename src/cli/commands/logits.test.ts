import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const model = `${root}test/fixtures/models/qwen2-tiny`;

function cli(args: string[], input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", `${root}src/cli/main.ts`, "logits", ...args], { input, encoding: "utf8", cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("qwenrt logits prints one JSON line per position matching the reference", () => {
  const ref = JSON.parse(readFileSync(`${model}/reference.json`, "utf8")) as {
    prompts: { chat: { ids: number[]; topk_ids: number[][]; topk_logits: number[][]; logsumexp: number[] } };
  };
  const p = ref.prompts.chat;
  // The logits command defaults to an f32 KV cache (exactness check): the 1e-4 reference tolerance holds.
  const r = cli([model, "--ids", "-", "--top-k", "4", "--chunk", "5"], JSON.stringify(p.ids));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { pos: number; topk_ids: number[]; topk_logits: number[]; logsumexp: number });
  assert.equal(lines.length, p.ids.length);
  lines.forEach((l, i) => {
    assert.equal(l.pos, i);
    assert.deepEqual(l.topk_ids, p.topk_ids[i]!.slice(0, 4));
    l.topk_logits.forEach((v, j) => assert.ok(Math.abs(v - p.topk_logits[i]![j]!) < 1e-4));
    assert.ok(Math.abs(l.logsumexp - p.logsumexp[i]!) < 1e-4);
  });
});

test("qwenrt logits names the index and value of a bad id, and a missing --ids", () => {
  const r = cli([model, "--ids", "-"], "[1, 2, 151936]");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /stdin: index 2: token id 151936 is out of range \[0, 151936\)/);
  const bad = cli([model, "--ids", "-"], '[1, "x"]');
  assert.match(bad.stderr, /index 1: expected a non-negative integer token id, got "x"/);
  const none = cli([model], "");
  assert.match(none.stderr, /--ids: is required/);
});
