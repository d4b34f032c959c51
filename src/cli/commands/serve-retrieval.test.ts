// `qwenrt serve` of a model without a chat template (as an embedding model may ship): the
// retrieval routes answer through the openai client, the chat route a 400 naming the reason.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { completeModelDir } from "../../../test/helpers/complete-model.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

test("serve a model without a chat template: /v1/embeddings works, chat is a 400 that says why", { timeout: 120_000 }, async () => {
  const dir = completeModelDir("qwen3-dense-tiny");
  const cfgFile = join(dir, "tokenizer_config.json");
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
  delete cfg.chat_template;
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const child = spawn(process.execPath, ["--import", "tsx", `${root}src/cli/main.ts`, "serve", dir, "--model-id", "emb", "--port", "0", "--backend", "ref"], { stdio: ["ignore", "pipe", "pipe"], cwd: root });
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
    const client = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
    const e = await client.embeddings.create({ model: "emb", input: ["a", "b"], dimensions: 16 });
    assert.deepEqual(e.data.map((d) => d.embedding.length), [16, 16]);
    assert.ok(Math.abs(Math.hypot(...e.data[0]!.embedding) - 1) < 1e-5);
    await assert.rejects(
      client.chat.completions.create({ model: "emb", messages: [{ role: "user", content: "hi" }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && /has no chat template: this model serves \/v1\/embeddings and \/v1\/rerank/.test(err.message),
    );
  } finally {
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    child.kill("SIGINT");
    await exited;
  }
});
