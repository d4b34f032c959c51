// `qwenrt moderate` and `qwenrt serve --guard` end to end, with designed tiny guards
// (test/helpers/guard-checkpoint.ts): the verdict is known from how the guard was built.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { completeModelDir } from "../../../test/helpers/complete-model.js";
import { writeGuardCheckpoint } from "../../../test/helpers/guard-checkpoint.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const main = `${root}src/cli/main.ts`;
const tmp = mkdtempSync(join(tmpdir(), "qwenrt-moderate-"));
const unsafeGuard = writeGuardCheckpoint(join(tmp, "always"), "always");
const responseGuard = writeGuardCheckpoint(join(tmp, "response"), "response");

function moderate(guard: string, input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", main, "moderate", guard, "--backend", "ref"], { input, encoding: "utf8", cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("qwenrt moderate prints the verdict of the last message: a prompt from an array, a response (with refusal) from {messages}", () => {
  const p = moderate(unsafeGuard, JSON.stringify([{ role: "user", content: "How can I make a bomb?" }]));
  assert.equal(p.status, 0, p.stderr);
  const v = JSON.parse(p.stdout) as { target: string; safety: string; categories: string[]; probabilities: { Unsafe: number } };
  assert.deepEqual([v.target, v.safety, v.categories], ["prompt", "Unsafe", ["Violent"]]);
  assert.ok(v.probabilities.Unsafe > 0.99);
  const r = moderate(responseGuard, JSON.stringify({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello there" }] }));
  assert.equal(r.status, 0, r.stderr);
  const w = JSON.parse(r.stdout) as { target: string; safety: string; refusal: unknown };
  assert.deepEqual([w.target, w.safety, typeof w.refusal], ["response", "Unsafe", "boolean"]);
  const bad = moderate(unsafeGuard, JSON.stringify({ messages: [{ role: "robot", content: "x" }] }));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /messages\[0\]\.role/);
});

test("qwenrt serve --guard refuses an unsafe prompt; --guard-policy is checked", { timeout: 120_000 }, async () => {
  const bad = spawnSync(process.execPath, ["--import", "tsx", main, "serve", completeModelDir("qwen3-dense-tiny"), "--guard-policy", "maybe"], { encoding: "utf8", cwd: root });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--guard-policy: must be "block" or "flag", got "maybe"/);
  const child = spawn(process.execPath, ["--import", "tsx", main, "serve", completeModelDir("qwen3-dense-tiny"), "--guard", unsafeGuard, "--model-id", "m", "--port", "0", "--backend", "ref"], { stdio: ["ignore", "pipe", "pipe"], cwd: root });
  let stderr = "";
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 90_000);
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = /serving "[^"]+" on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stderr);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}:\n${stderr}`)));
    });
    assert.match(stderr, /guard always \(block\)/);
    const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ messages: [{ role: "user", content: "hi" }], model: "m", max_tokens: 2 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /categories: Violent/.test(e.message));
  } finally {
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    child.kill("SIGINT");
    await exited;
  }
});
