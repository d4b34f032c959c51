/**
 * `qwenrt serve` and `qwenrt generate` as child processes, where a hang can be timed out and killed:
 * the request of issue 16 that spun the sampler forever is answered; SIGTERM during a stream stops
 * the server cleanly; a non-loopback bind without a key warns, and QWENRT_API_KEY turns auth on;
 * --check-weights refuses a corrupt checkpoint.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { poisonTensor } from "../../../test/helpers/complete-model.js";
import { CliProcess, completeModelDir, killAllCli } from "../chat/test-helpers.js";

after(killAllCli);
const dir = completeModelDir();
const HANG = { temperature: 5e-324, top_k: 0, top_p: 0.5 };

/** Start `qwenrt serve` and wait for its URL on stderr. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<{ cli: CliProcess; url: string }> {
  const cli = new CliProcess(["serve", dir, "--port", "0", "--backend", "ref", ...args], env);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /serving "[^"]+" on (http:\/\/[^ ]+\/v1)/.exec(cli.stderr);
    if (m !== null) return { cli, url: m[1]!.replace("0.0.0.0", "127.0.0.1") };
    if (Date.now() > deadline) throw new Error(`server did not start:\n${cli.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("the sampler hang of issue 16: answered, with /health alive, in a server that a timeout would kill", { timeout: 120_000 }, async () => {
  const { cli, url } = await serve([]);
  try {
    const body = { messages: [{ role: "user", content: "hi" }], max_tokens: 4, ...HANG };
    const res = await fetch(`${url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200, await res.clone().text());
    const streamed = await fetch(`${url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }), signal: AbortSignal.timeout(30_000) });
    assert.match(await streamed.text(), /data: \[DONE\]/);
    const health = await fetch(url.replace(/\/v1$/, "/health"), { signal: AbortSignal.timeout(1_000) });
    assert.equal(health.status, 200);
  } finally {
    cli.child.kill("SIGKILL");
  }
});

test("qwenrt generate with the same parameters ends too", { timeout: 120_000 }, () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "generate", dir, "--backend", "ref", "--prompt", "hi", "--temperature", "5e-324", "--top-k", "0", "--top-p", "0.5", "--max-tokens", "4", "--json"],
    { cwd: new URL("../../../", import.meta.url).pathname, timeout: 90_000, encoding: "utf8" },
  );
  assert.equal(r.signal, null, "killed by the timeout: generate hung");
  assert.equal(r.status, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { ids: number[] }).ids.length, 4);
});

test("SIGTERM during a stream: the stream ends, the server exits 0 within seconds", { timeout: 120_000 }, async () => {
  const { cli, url } = await serve([]);
  const res = await fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "go on" }], max_tokens: 30_000, ignore_eos: true, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read(); // streaming
  const t0 = Date.now();
  cli.child.kill("SIGTERM");
  const code = await cli.exit(15_000);
  assert.equal(code, 0, cli.stderr);
  assert.ok(Date.now() - t0 < 10_000, `exited after ${Date.now() - t0} ms`);
  for (let r = await reader.read().catch(() => ({ done: true })); r.done !== true; r = await reader.read().catch(() => ({ done: true }))) {
    // drain what was sent before the stop; the stream then ends
  }
  assert.match(cli.stderr, /SIGTERM, stopping/);
});

test("a non-loopback bind without a key warns; QWENRT_API_KEY turns Bearer auth on", { timeout: 120_000 }, async () => {
  const open = await serve(["--host", "0.0.0.0"]);
  try {
    assert.match(open.cli.stderr, /warning: serving on 0\.0\.0\.0, reachable beyond this machine, without an API key/);
  } finally {
    open.cli.child.kill("SIGKILL");
  }
  const keyed = await serve(["--host", "0.0.0.0"], { QWENRT_API_KEY: "sk-env" });
  try {
    assert.doesNotMatch(keyed.cli.stderr, /warning/);
    assert.equal((await fetch(`${keyed.url}/models`)).status, 401);
    assert.equal((await fetch(`${keyed.url}/models`, { headers: { authorization: "Bearer sk-env" } })).status, 200);
  } finally {
    keyed.cli.child.kill("SIGKILL");
  }
});

test("serve --check-weights refuses a checkpoint holding NaN, naming the tensor; a sound one is said to be finite", { timeout: 120_000 }, async () => {
  const bad = completeModelDir();
  await poisonTensor(bad, "model.layers.0.self_attn.q_proj.weight");
  const refused = new CliProcess(["serve", bad, "--port", "0", "--backend", "ref", "--check-weights"]);
  assert.notEqual(await refused.exit(60_000), 0);
  assert.match(refused.stderr, /model\.layers\.0\.self_attn\.q_proj\.weight: holds NaN \(value 0\): the checkpoint is corrupt \(--check-weights\)/);
  const { cli } = await serve(["--check-weights"]);
  try {
    assert.match(cli.stderr, /every weight is finite \(--check-weights\)/);
  } finally {
    cli.child.kill("SIGKILL");
  }
});
