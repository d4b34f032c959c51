import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { THINKING_EARLY_STOP } from "../../chat/budget.js";
import { loadChatTemplate } from "../../chat/template.js";
import { generateAll } from "../../engine/generate.js";
import { loadModel } from "../../models/load.js";
import { Tokenizer } from "../../tokenizer/index.js";
import { run as runGenerate } from "./generate.js";
import { createWasmBackend } from "../../kernels/wasm/index.js";
import { parseSize } from "./synth.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function qwenrt(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// One synthesized model for every case below (the synth command is under test too).
const dir = mkdtempSync(join(tmpdir(), "qwenrt-gen-cli-"));
const modelDir = join(dir, "tiny");

test("qwenrt synth writes a sharded tiny model directory with the tokenizer", () => {
  const r = qwenrt(["synth", "--preset", "tiny-qwen3", "--out", modelDir, "--seed", "4", "--shard-size", "4MB"]);
  assert.equal(r.stderr, "");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /tiny-qwen3, 0\.005B parameters, 0\.01 GB in 2 file\(s\), tokenizer: tokenizer\.json, tokenizer_config\.json/);
  const files = readdirSync(modelDir).sort();
  assert.ok(files.includes("model.safetensors.index.json") && files.includes("model-00002-of-00002.safetensors"), String(files));
  const bad = qwenrt(["synth", "--preset", "tiny-qwen3", "--out", join(dir, "x"), "--dtype", "q4"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'qwenrt: --dtype: must be bf16, f16 or f32, got "q4"\n');
  assert.ok(!existsSync(join(dir, "x")));
});

test("parseSize: decimal and binary units, errors name the flag", () => {
  assert.equal(parseSize("shard-size", "4GB"), 4e9);
  assert.equal(parseSize("shard-size", "2GiB"), 2 * 1024 ** 3);
  assert.equal(parseSize("shard-size", "1.5mb"), 1.5e6);
  assert.equal(parseSize("shard-size", "123"), 123);
  assert.throws(() => parseSize("shard-size", "4 parsecs"), { message: /^--shard-size: expected a size/ });
  assert.throws(() => parseSize("shard-size", "0"), { message: /^--shard-size: must be at least 1 byte/ });
});

test("qwenrt generate: --json greedy ids and text equal the library's; streamed text equals the JSON text", async () => {
  const model = await loadModel(modelDir);
  const tok = Tokenizer.fromDir(modelDir);
  const want = await generateAll(model, tok, tok.encode("Hello there"), { temperature: 0, maxTokens: 6 });
  const json = qwenrt(["generate", modelDir, "--dtype", "keep", "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "6", "--json"]);
  assert.equal(json.stderr, "");
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout), { ids: want.ids, text: want.text, finish_reason: "length" });
  const streamed = qwenrt(["generate", modelDir, "--dtype", "keep", "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "6"]);
  // The streamed text, then a newline so the shell's prompt starts on its own line.
  assert.equal(streamed.stdout, want.text.endsWith("\n") ? want.text : `${want.text}\n`);
  const stats = qwenrt(["generate", modelDir, "--dtype", "keep", "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "6", "--stats"]);
  assert.equal(stats.stdout, streamed.stdout);
  assert.match(stats.stderr, /^prompt 2 tokens, [\d.]+ tok\/s · generated 6 tokens, [\d.]+ tok\/s · first token [\d.]+s · total [\d.]+s\n$/);

  // --ids from stdin, sampled with a seed: reproducible across runs and equal to the library's.
  const ids = JSON.stringify(tok.encode("Hi"));
  const args = ["generate", modelDir, "--dtype", "keep", "--ids", "-", "--seed", "9", "--temperature", "1.2", "--top-k", "50", "--max-tokens", "5", "--json"];
  const a = qwenrt(args, ids);
  const b = qwenrt(args, ids);
  assert.equal(a.stdout, b.stdout);
  const lib = await generateAll(model, tok, JSON.parse(ids) as number[], { seed: 9, temperature: 1.2, topK: 50, maxTokens: 5 });
  assert.deepEqual((JSON.parse(a.stdout) as { ids: number[] }).ids, lib.ids);
});

test("qwenrt generate runs a float checkpoint as q8_0 unless --dtype keep: greedy ids equal the library's on a q8_0 backend, the default said once on stderr", async () => {
  const be = await createWasmBackend({ dtype: "q8_0" });
  try {
    const model = await loadModel(modelDir, { backend: be });
    const tok = Tokenizer.fromDir(modelDir);
    const want = await generateAll(model, tok, tok.encode("Hello there"), { temperature: 0, maxTokens: 6 });
    const r = qwenrt(["generate", modelDir, "--prompt", "Hello there", "--temperature", "0", "--max-tokens", "6", "--json", "--no-quant-cache"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "q8_0 on load (the default for float checkpoints; --dtype keep runs the checkpoint's own types)\n");
    assert.deepEqual((JSON.parse(r.stdout) as { ids: number[] }).ids, want.ids);
  } finally {
    be.dispose();
  }
  const keep = qwenrt(["generate", modelDir, "--dtype", "keep", "--no-quant-cache", "--prompt", "x"]);
  assert.equal(keep.code, 1);
  assert.match(keep.stderr, /--no-quant-cache: conflicts with --dtype keep/);
});

test("qwenrt generate --chat renders one user message through the chat template", async () => {
  const model = await loadModel(modelDir);
  const tok = Tokenizer.fromDir(modelDir);
  const prompt = loadChatTemplate(modelDir).render({ messages: [{ role: "user", content: "Hi" }], enable_thinking: false });
  assert.ok(prompt.endsWith("<think>\n\n</think>\n\n"));
  const want = await generateAll(model, tok, tok.encode(prompt, { addSpecialTokens: false }), { temperature: 0, maxTokens: 4 });
  const r = qwenrt(["generate", modelDir, "--dtype", "keep", "--prompt", "Hi", "--chat", "--no-think", "--temperature", "0", "--max-tokens", "4", "--json"]);
  assert.equal(r.stderr, "");
  assert.deepEqual((JSON.parse(r.stdout) as { ids: number[] }).ids, want.ids);
  // A thinking budget of 0 closes the thought before the model's first token.
  const b = qwenrt(["generate", modelDir, "--dtype", "keep", "--prompt", "Hi", "--chat", "--thinking-budget", "0", "--max-tokens", "40", "--json", "--seed", "1"]);
  assert.equal(b.stderr, "");
  assert.ok((JSON.parse(b.stdout) as { text: string }).text.startsWith(THINKING_EARLY_STOP), b.stdout);
});

test("qwenrt generate: bad flags fail naming the flag, before loading the model", async () => {
  const idsFile = join(dir, "ids.json");
  writeFileSync(idsFile, "[1, -2]");
  const cases: Array<[string[], RegExp]> = [
    [["--prompt", "x", "--top-p", "1.5"], /^--top-p: must be in \(0, 1\], got 1\.5$/],
    [["--prompt", "x", "--temperature=-1"], /^--temperature: must be >= 0/],
    [["--prompt", "x", "--top-k", "2.5"], /^--top-k: expected an integer/],
    [["--prompt", "x", "--repetition-penalty", "0"], /^--repetition-penalty: must be > 0/],
    [["--prompt", "x", "--max-tokens", "0"], /^--max-tokens: must be >= 1/],
    [["--prompt", "x", "--seed", "abc"], /^--seed: expected an integer/],
    [["--prompt", "x", "--stop", ""], /^--stop: must not be empty/],
    [["--prompt", "x", "--no-think"], /^--no-think: only applies with --chat/],
    [["--ids", idsFile, "--chat"], /^--chat: needs --prompt/],
    [["--ids", idsFile, "--thinking-budget", "5"], /^--thinking-budget: needs --prompt/],
    [["--prompt", "x", "--thinking-budget=-1"], /^--thinking-budget: must be >= 0/],
    [["--ids", idsFile], /ids\.json: index 1: expected a non-negative integer/],
    [[], /^qwenrt generate: give exactly one of --prompt TEXT or --ids/],
  ];
  for (const [flags, re] of cases) {
    await assert.rejects(runGenerate([join(dir, "no-such-model"), ...flags]), { name: "QwenrtError", message: re }, flags.join(" "));
  }
  // Through the real entry point: one line on stderr, exit code 1.
  const r = qwenrt(["generate", join(dir, "no-such-model"), "--prompt", "x", "--min-p", "2"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "qwenrt: --min-p: must be in [0, 1], got 2\n");
});
