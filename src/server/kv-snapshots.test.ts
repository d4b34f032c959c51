/**
 * KV snapshots across a crash: `qwenrt serve` is killed with SIGKILL after a stored response,
 * restarted on the same data dir, and a `previous_response_id` continuation starts from the
 * snapshot (few prompt tokens computed) with the same greedy answer as a full re-prefill. A
 * snapshot of another model file is refused, a corrupted one detected; both are logged, never loaded.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import OpenAI from "openai";
import { completeModelDir } from "../../test/helpers/complete-model.js";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

interface Served {
  readonly client: OpenAI;
  readonly child: ChildProcess;
  stderr(): string;
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  kill(): Promise<void>;
}

async function serve(model: string, flags: string[]): Promise<Served> {
  const child = spawn(process.execPath, ["--import", "tsx", main, "serve", model, "--port", "0", "--threads", "1", "--model-id", "m", ...flags], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  let err = "";
  const waiters: (() => void)[] = [];
  let exited = false;
  child.on("exit", () => {
    exited = true;
    for (const w of [...waiters]) w();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) w();
  });
  const waitFor = (re: RegExp): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} in:\n${err}`)), 90_000);
      const check = (): void => {
        const m = re.exec(err);
        if (m === null && exited) {
          clearTimeout(timer);
          reject(new Error(`the server exited before ${re}:\n${err}`));
        }
        if (m === null) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(m);
      };
      waiters.push(check);
      check();
    });
  const m = await waitFor(/serving "m" on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
  return {
    client: new OpenAI({ baseURL: m[1]!, apiKey: "unused", maxRetries: 0, timeout: 120_000 }),
    child,
    stderr: () => err,
    waitFor,
    kill: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

const history = "Here is a long story about a lighthouse keeper, her cat and the sea. ".repeat(40);
const ask = { model: "m", temperature: 0, max_output_tokens: 8, reasoning: { effort: "none" as const } };

test("SIGKILL, restart: previous_response_id resumes from the KV snapshot with the re-prefill's greedy answer", { timeout: 300_000 }, async () => {
  const model = completeModelDir("qwen3-dense-tiny");
  const dataDir = mkdtempSync(join(tmpdir(), "qwenrt-kv-"));
  const a = await serve(model, ["--data-dir", dataDir]);
  const r1 = await a.client.responses.create({ ...ask, input: history });
  await a.waitFor(new RegExp(`KV snapshot of ${r1.id}: \\d+ tokens saved`));
  await a.kill();

  const b = await serve(model, ["--data-dir", dataDir]);
  assert.match(b.stderr(), /KV snapshots in .*: 1 on disk/);
  const r2 = await b.client.responses.create({ ...ask, input: "And then?", previous_response_id: r1.id });
  const computed = r2.usage!.input_tokens - r2.usage!.input_tokens_details.cached_tokens;
  assert.ok(r2.usage!.input_tokens > r1.usage!.input_tokens);
  assert.ok(computed * 10 < r2.usage!.input_tokens, `computed ${computed} of ${r2.usage!.input_tokens} prompt tokens`);
  assert.doesNotMatch(b.stderr(), /not loaded|ignored/);
  await b.waitFor(new RegExp(`KV snapshot of ${r2.id}: \\d+ tokens saved`)); // it replaces r1's (a prefix of it)

  // The same conversation sent whole to a server with nothing stored: a full re-prefill.
  const c = await serve(model, ["--no-store"]);
  const whole = await c.client.responses.create({
    ...ask,
    input: [{ role: "user", content: history }, ...r1.output.map((o) => o as OpenAI.Responses.ResponseInputItem), { role: "user", content: "And then?" }],
  });
  assert.equal(whole.usage!.input_tokens, r2.usage!.input_tokens);
  assert.equal(whole.usage!.input_tokens_details.cached_tokens, 0);
  assert.equal(r2.output_text, whole.output_text);
  await c.kill();
  await b.kill();

  // Another model file (one weight byte changed) on a copy of the data dir: the snapshot is refused.
  const other = completeModelDir("qwen3-dense-tiny");
  const weights = join(other, "model.safetensors");
  flipByte(weights, statSync(weights).size - 3);
  const otherDir = mkdtempSync(join(tmpdir(), "qwenrt-kv-other-"));
  cpSync(dataDir, otherDir, { recursive: true });
  const d = await serve(other, ["--data-dir", otherDir]);
  const r3 = await d.client.responses.create({ ...ask, input: "And then?", previous_response_id: r1.id });
  assert.match(d.stderr(), /KV snapshot .*\.qkv: made from another model file \(hash [0-9a-f]{12}…, this model's [0-9a-f]{12}…\); not loaded/);
  assert.ok(r3.usage!.input_tokens_details.cached_tokens < r1.usage!.input_tokens / 2);
  await d.kill();

  // Corrupted snapshots (one byte flipped in each one's KV data): detected by its checksum, logged, removed.
  const kvDir = join(dataDir, "kv");
  const snaps = readdirSync(kvDir).filter((f) => f.endsWith(".qkv"));
  assert.ok(snaps.length >= 1);
  const corrupted = new Map<string, Buffer>();
  for (const f of snaps) {
    flipByte(join(kvDir, f), Math.floor(statSync(join(kvDir, f)).size / 2));
    corrupted.set(f, readFileSync(join(kvDir, f)));
  }
  const e = await serve(model, ["--data-dir", dataDir]);
  const r4 = await e.client.responses.create({ ...ask, input: "And then?", previous_response_id: r1.id });
  assert.match(e.stderr(), /KV snapshot .*\.qkv: checksum mismatch \(the file is corrupted\); ignored and removed/);
  assert.ok(r4.usage!.input_tokens_details.cached_tokens < r1.usage!.input_tokens / 2);
  // r4 re-computes r2's tokens exactly, so its own snapshot is written under the same content-derived
  // name once it finishes: wait for that, then no corrupted bytes may be left under any name.
  await e.waitFor(new RegExp(`KV snapshot of ${r4.id}: \\d+ tokens saved`));
  for (const [f, bad] of corrupted) {
    const now = readdirSync(kvDir).includes(f) ? readFileSync(join(kvDir, f)) : undefined;
    assert.ok(now === undefined || !now.equals(bad), `${f} was removed or rewritten whole`);
  }
  assert.equal(r4.output_text, whole.output_text, "the answer does not depend on where the prefix came from");
  await e.kill();
});

function flipByte(file: string, at: number): void {
  const fd = openSync(file, "r+");
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0x01;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}
