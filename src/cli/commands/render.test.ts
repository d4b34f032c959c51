import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const modelDir = join(root, "test/fixtures/qwen3-tokenizer");
const cases = JSON.parse(readFileSync(join(root, "test/fixtures/tokenizer/chat-public.json"), "utf8")) as Array<{
  name: string;
  messages: unknown[];
  tools?: unknown[];
  kwargs: Record<string, unknown>;
  rendered: string;
}>;

function qwenrt(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("qwenrt render prints the exact reference prompt from stdin and from --request FILE", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-render-"));
  const c = cases.find((x) => x.name === "parallel_tool_calls_and_responses");
  assert.ok(c !== undefined);
  // enable_thinking as the top-level shorthand, add_generation_prompt left to its default (true).
  const body = { model: "qwen3", messages: c.messages, tools: c.tools, enable_thinking: c.kwargs.enable_thinking, temperature: 0.6 };
  const viaStdin = qwenrt(["render", modelDir], JSON.stringify(body));
  assert.equal(viaStdin.stderr, "");
  assert.equal(viaStdin.code, 0);
  assert.equal(viaStdin.stdout, c.rendered);
  const file = join(dir, "req.json");
  const r = cases.find((x) => x.name === "reasoning_content_field");
  assert.ok(r !== undefined);
  writeFileSync(file, JSON.stringify({ messages: r.messages, add_generation_prompt: false }));
  const viaFile = qwenrt(["render", modelDir, "--request", file]);
  assert.equal(viaFile.code, 0);
  assert.equal(viaFile.stdout, r.rendered);
});

test("qwenrt render: bad input gives one line naming the file or field, non-zero exit", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-render-"));
  const bad = join(dir, "bad.json");
  writeFileSync(bad, JSON.stringify({ messages: [{ role: "user", content: "a" }, { role: "robot", content: "b" }] }));
  const broken = join(dir, "broken.json");
  writeFileSync(broken, "{ messages: ");
  const tplDir = join(dir, "model");
  mkdirSync(tplDir);
  writeFileSync(join(tplDir, "tokenizer_config.json"), JSON.stringify({ chat_template: "{% for m in messages %}{{ m.content.nope() }}{% endfor %}" }));
  const runs: Array<[string[], string | undefined, RegExp]> = [
    [["render", modelDir, "--request", bad], undefined, /bad\.json: messages\[1\]\.role: must be one of .*"robot"/],
    [["render", modelDir, "--request", broken], undefined, /broken\.json: malformed JSON/],
    [["render", modelDir, "--request", join(dir, "nope.json")], undefined, /nope\.json: file not found/],
    [["render", modelDir], "not json", /stdin: malformed JSON/],
    [["render", join(dir, "no-model")], "{}", /no-model: no such file or directory/],
    [["render", dir], "{}", /tokenizer_config\.json: file not found/],
    [["render", tplDir], JSON.stringify({ messages: [{ role: "user", content: "a" }] }), /tokenizer_config\.json chat_template: /],
    [["render", modelDir, "--bogus"], "{}", /qwenrt render: .*--bogus/],
  ];
  for (const [args, input, re] of runs) {
    const r = qwenrt(args, input);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? "", re);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
