/**
 * Model management as a user runs it: `qwenrt list` and `rm` on a Hugging Face cache, `show` on a
 * model directory, `serve` opening its port before loading (a busy port fails at once), logging one
 * JSON line per request, and `ps` reading the running server; the top-level help and error lines.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { completeModelDir, removeModelDir } from "../../../test/helpers/complete-model.js";
import { blobPath, linkSnapshotFile, repoCacheDir } from "../../hub/cache.js";
import { commands } from "../command-list.js";

const root = new URL("../../../", import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), "qwenrt-models-"));
const model = completeModelDir("qwen3-dense-tiny");
after(() => {
  rmSync(home, { recursive: true, force: true });
  removeModelDir(model);
});

function qwenrt(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, HF_HOME: home, HF_HUB_CACHE: "", QWENRT_CACHE_DIR: join(home, "qwenrt") };
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr }),
    );
  });
}

function cacheFiles(repo: string, files: Record<string, string | number>): void {
  const dir = repoCacheDir(join(home, "hub"), repo);
  mkdirSync(join(dir, "blobs"), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const etag = `b${Buffer.from(`${repo}/${path}`).toString("hex").slice(-24)}`;
    writeFileSync(blobPath(dir, etag), typeof content === "number" ? Buffer.alloc(content) : content);
    linkSnapshotFile(dir, "d".repeat(40), path, etag);
  }
}

test("qwenrt list shows cached models with type, size and last use; rm removes a quant or a repo", { timeout: 180_000 }, async () => {
  const empty = await qwenrt(["list"]);
  assert.equal(empty.code, 0);
  assert.match(empty.stderr, /no models in the Hugging Face cache/);
  cacheFiles("org/Dense", { "config.json": '{"torch_dtype":"bfloat16"}', "tokenizer.json": "{}", "model.safetensors": 2_000_000 });
  cacheFiles("org/Tiny-GGUF", { "tiny-Q4_K_M.gguf": 300_000, "tiny-Q8_0.gguf": 500_000 });
  const list = await qwenrt(["list"]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^NAME +TYPE +SIZE +LAST USED$/);
  assert.match(lines[1]!, /^org\/Dense +bf16 +2\.00 MB +just now$/);
  assert.match(lines[2]!, /^org\/Tiny-GGUF:Q4_K_M +Q4_K_M +300 kB +just now$/);
  assert.match(lines[3]!, /^org\/Tiny-GGUF:Q8_0 +Q8_0 +500 kB +just now$/);
  const json = JSON.parse((await qwenrt(["list", "--json"])).stdout) as { name: string; bytes: number; format: string }[];
  assert.deepEqual(json.map((m) => [m.name, m.format, m.bytes]), [["org/Dense", "safetensors", 2_000_028], ["org/Tiny-GGUF:Q4_K_M", "gguf", 300_000], ["org/Tiny-GGUF:Q8_0", "gguf", 500_000]]);

  // The quantized-weights cache (what --dtype made): one entry from the cached repo, one from a local directory.
  const quantDir = join(home, "qwenrt", "quantized");
  mkdirSync(quantDir, { recursive: true });
  const entry = (stem: string, source: string, dtype: string, bytes: number): void => {
    writeFileSync(join(quantDir, `${stem}.gguf`), Buffer.alloc(bytes));
    writeFileSync(join(quantDir, `${stem}.json`), JSON.stringify({ source: realpathSync(source), dtype, key: "0".repeat(64), version: 1 }));
  };
  entry("org--Dense-q4_k-0123456789abcdef", join(repoCacheDir(join(home, "hub"), "org/Dense"), "snapshots", "d".repeat(40)), "q4_k", 700_000);
  entry("local-q8_0-0123456789abcdef", model, "q8_0", 900_000);
  const withQuant = (await qwenrt(["list"])).stdout.trimEnd().split("\n").slice(4); // after the hub's models, by name
  assert.equal(withQuant.length, 2, withQuant.join("\n"));
  assert.equal(withQuant[0]!.split(/ {3,}/)[0], `${realpathSync(model)} --dtype q8_0`);
  assert.match(withQuant[1]!, /^org\/Dense --dtype q4_k +q4_k \(quantized\) +700 kB +just now$/);
  const quantJson = (JSON.parse((await qwenrt(["list", "--json"])).stdout) as { name: string; repo: string | null; type: string; cache: string }[]).slice(3);
  assert.deepEqual(quantJson.map((m) => [m.repo, m.type, m.cache]), [[null, "q8_0", "quantized"], ["org/Dense", "q4_k", "quantized"]]);
  const noEntry = await qwenrt(["rm", model, "--dtype", "q4_k"]);
  assert.match(noEntry.stderr, /has no --dtype q4_k entry in the quantized-weights cache/);
  assert.equal((await qwenrt(["rm", model, "--dtype", "q8_0"])).stdout, `deleted ${model} --dtype q8_0 (900 kB)\n`);
  assert.ok(!existsSync(join(quantDir, "local-q8_0-0123456789abcdef.gguf")) && existsSync(model), "the entry goes, the local model stays");

  const rm = await qwenrt(["rm", "org/Tiny-GGUF:q8_0"]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal(rm.stdout, "deleted org/Tiny-GGUF:q8_0 (500 kB)\n");
  const missing = await qwenrt(["rm", "org/Dense", "org/Nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^qwenrt: org\/Nope: not in the Hugging Face cache/);
  assert.equal(missing.stdout, "", "nothing is removed when one name is wrong");
  assert.match((await qwenrt(["rm", model])).stderr, /is a local path; qwenrt rm only removes models from the Hugging Face cache/);
  assert.equal((await qwenrt(["rm", "org/Dense"])).stdout, "deleted org/Dense (2.70 MB, with its --dtype q4_k entry)\n");
  assert.ok(!existsSync(join(quantDir, "org--Dense-q4_k-0123456789abcdef.gguf")), "a removed repo takes its quantized entries along");
  assert.deepEqual((JSON.parse((await qwenrt(["list", "--json"])).stdout) as { name: string }[]).map((m) => m.name), ["org/Tiny-GGUF:Q4_K_M"]);
});

test("qwenrt show: architecture, parameters, context, template capabilities and sampling defaults", { timeout: 120_000 }, async () => {
  const r = await qwenrt(["show", model]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {4}architecture +qwen3 \(Qwen3ForCausalLM\)$/m);
  assert.match(r.stdout, /^ {4}context length +40,960$/m);
  assert.match(r.stdout, /^ {2}Capabilities\n {4}completion\n {4}chat\n {4}tools\n {4}thinking\n/m);
  assert.match(r.stdout, /^ {4}temperature +0\.6$/m);
  const info = JSON.parse((await qwenrt(["show", model, "--json"])).stdout) as { parameters: number; layers: number; kvHeads: number };
  assert.deepEqual([info.layers, info.kvHeads], [2, 2]);
  assert.ok(info.parameters > 4_000_000 && info.parameters < 6_000_000, String(info.parameters));
  const hub = await qwenrt(["show", "org/Not-Downloaded"]);
  assert.equal(hub.code, 1);
  assert.equal(hub.stderr, "qwenrt: org/Not-Downloaded: not downloaded yet (qwenrt pull org/Not-Downloaded)\n");
});

test("qwenrt serve: the port opens before loading, one JSON log line per request, qwenrt ps reads it, a busy port fails at once", { timeout: 240_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", model, "--port", "0", "--backend", "ref", "--log-format", "json"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /serving "[^"]+" on (http:\/\/127\.0\.0\.1:\d+\/v1)/.exec(stderr);
      if (m !== null) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}:\n${stderr}`)));
  });
  try {
    const listening = stderr.indexOf(`qwenrt listening on ${url}; loading ${model}`);
    assert.ok(listening >= 0 && listening < stderr.indexOf("· loaded in"), stderr);
    const chat = await fetch(`${url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 3, enable_thinking: false }),
    });
    assert.equal(chat.status, 200);
    await chat.json();
    const ps = await qwenrt(["ps", "--url", url]);
    assert.equal(ps.code, 0, ps.stderr);
    const [head, row] = ps.stdout.trimEnd().split("\n");
    assert.match(head!, /^NAME +STATE +BACKEND +WEIGHTS +MEMORY +CONTEXT +UPTIME +REQUESTS +URL$/);
    assert.match(row!, /^qwenrt-qwen3-dense-tiny-\w+ +ready +ref×\d+ +[\d.]+ [kMG]?B +[\d.]+ [kMG]?B +40,960 +\d+s +0\/0\/\d+ +http/);
    // The request's log line (written once its response was sent).
    const line = stderr.split("\n").find((l) => l.includes('"path":"/v1/chat/completions"'));
    assert.ok(line !== undefined, stderr);
    const rec = JSON.parse(line) as { method: string; status: number; prompt_tokens: number; completion_tokens: number; duration_ms: number };
    assert.deepEqual([rec.method, rec.status, rec.completion_tokens], ["POST", 200, 3]);
    assert.ok(rec.prompt_tokens > 5 && rec.duration_ms >= 0);

    const port = new URL(url).port;
    const busy = await qwenrt(["serve", model, "--port", port]);
    assert.equal(busy.code, 1);
    assert.equal(busy.stderr, `qwenrt: --port: 127.0.0.1:${port} is already in use\n`, "fails before loading anything");
    const gone = await qwenrt(["ps", "--url", "http://127.0.0.1:9"]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^qwenrt: http:\/\/127\.0\.0\.1:9: no qwenrt server answers there/);
  } finally {
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    assert.equal(await exited, 0);
  }
});

test("qwenrt --help lists every command with a line; errors print one prefix", { timeout: 600_000 }, async () => {
  const help = await qwenrt(["--help"]);
  assert.equal(help.code, 0);
  for (const [name, what] of Object.entries(commands)) assert.match(help.stdout, new RegExp(`^ {2}${name} +${what.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
  for (const name of Object.keys(commands)) {
    const r = await qwenrt([name, "--help"]);
    assert.ok(r.code === 0 && r.stdout.startsWith(`usage: qwenrt ${name}`), `${name} --help: ${r.stdout.slice(0, 60)}`);
  }
  const noModel = await qwenrt(["serve"]);
  assert.equal(noModel.stderr, "qwenrt serve: expected one <model> argument, got 0\n");
});
