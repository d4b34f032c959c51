import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { MockHub, sha256Hex } from "../../hub/mock-hub.js";

const root = new URL("../../../", import.meta.url).pathname;
const commit = "c".repeat(40);
const weights = randomBytes(40_000);
let hub: MockHub;
const home = mkdtempSync(join(tmpdir(), "qwenrt-cli-pull-"));

before(async () => {
  hub = await MockHub.start([
    {
      repo: "cli-org/Tiny",
      commit,
      files: [
        { path: "config.json", content: Buffer.from('{"model_type":"qwen3"}') },
        { path: "tokenizer.json", content: Buffer.from("{}") },
        { path: "model.safetensors", content: weights, lfs: true },
        { path: "tiny-Q4_K_M.gguf", content: randomBytes(5000), lfs: true },
      ],
    },
  ]);
});
after(async () => {
  await hub.close();
  rmSync(home, { recursive: true, force: true });
});

function qwenrt(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("HF_") || k.startsWith("HUGGING")) delete env[k];
  Object.assign(env, { HF_ENDPOINT: hub.endpoint, HF_HOME: home }, extraEnv);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", ...args],
      { cwd: root, env, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}

test("qwenrt pull downloads into the HF cache and prints the snapshot path", { timeout: 90_000 }, async () => {
  const r = await qwenrt(["pull", "cli-org/Tiny"]);
  assert.equal(r.code, 0, r.stderr);
  const snap = join(home, "hub", "models--cli-org--Tiny", "snapshots", commit);
  assert.equal(r.stdout, `${snap}\n`);
  assert.match(r.stderr, /downloading model\.safetensors \(40\.0 kB\)/);
  assert.match(r.stderr, /done model\.safetensors/);
  assert.match(r.stderr, /cli-org\/Tiny@c{40}: 3 files ready/);
  assert.equal(readlinkSync(join(snap, "model.safetensors")), `../../blobs/${sha256Hex(weights)}`);
  assert.deepEqual(readFileSync(join(snap, "model.safetensors")), weights);

  const gguf = await qwenrt(["pull", "cli-org/Tiny:q4_k_m", "--revision", commit]);
  assert.equal(gguf.code, 0, gguf.stderr);
  assert.equal(gguf.stdout, `${join(snap, "tiny-Q4_K_M.gguf")}\n`);

  const offline = await qwenrt(["pull", "cli-org/Tiny"], { HF_HUB_OFFLINE: "1" });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.stdout, `${snap}\n`);
});

test("qwenrt pull fails with one line naming the repo or the flag", { timeout: 90_000 }, async () => {
  const missing = await qwenrt(["pull", "cli-org/Missing"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, "");
  assert.match(missing.stderr, /^qwenrt: cli-org\/Missing: repository not found/);
  const offline = await qwenrt(["pull", "cli-org/Other"], { HF_HUB_OFFLINE: "1" });
  assert.equal(offline.code, 1);
  assert.match(offline.stderr, /cli-org\/Other: not in the Hugging Face cache/);
  const conflict = await qwenrt(["pull", "cli-org/Tiny@v1", "--revision", "v2"]);
  assert.match(conflict.stderr, /--revision: "v2" conflicts with "@v1"/);
});
