/**
 * `qwenrt serve <hub repo id>` end to end, as a new user runs it: the model downloads from a mock
 * Hub on 127.0.0.1 into a fresh HF cache, the server starts and answers the openai client under
 * the repo's name, and SIGINT stops it cleanly.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import OpenAI from "openai";
import { MockHub, type MockFile } from "../../hub/mock-hub.js";

const fixtures = new URL("../../../test/fixtures/", import.meta.url).pathname;
const main = new URL("../main.ts", import.meta.url).pathname;
let hub: MockHub;

before(async () => {
  const files: MockFile[] = [
    ...["config.json", "generation_config.json"].map((f) => ({ path: f, content: readFileSync(join(fixtures, "models/qwen3-dense-tiny", f)) })),
    { path: "model.safetensors", content: readFileSync(join(fixtures, "models/qwen3-dense-tiny/model.safetensors")), lfs: true },
    ...readdirSync(join(fixtures, "qwen3-tokenizer")).map((f) => ({ path: f, content: readFileSync(join(fixtures, "qwen3-tokenizer", f)) })),
    { path: "README.md", content: Buffer.from("# a model card the runtime does not need") },
  ];
  hub = await MockHub.start([{ repo: "test-org/Qwen3-Tiny", commit: "c".repeat(40), files }]);
});
after(() => hub.close());

test("serve a Hub repo id: download with progress, serve under the repo name, stop on SIGINT", { timeout: 120_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), "qwenrt-serve-hf-"));
  const child = spawn(process.execPath, ["--import", "tsx", main, "serve", "test-org/Qwen3-Tiny", "--port", "0", "--backend", "ref"], {
    env: { ...process.env, HF_HOME: home, HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
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
  try {
    assert.match(stderr, /downloading model\.safetensors/);
    assert.match(stderr, /test-org\/Qwen3-Tiny: \d+ files downloaded/);
    assert.match(stderr, /^test-org\/Qwen3-Tiny · qwen3, 2 layers/m);
    const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ["test-org/Qwen3-Tiny"]);
    const r = await client.chat.completions.create({ model: "test-org/Qwen3-Tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
    assert.equal(r.choices.length, 1);
    assert.ok(!hub.requests.some((q) => q.path.includes("README.md")), "only the files a model needs are fetched");
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
  }
});
