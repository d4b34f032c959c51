/**
 * `qwenrt chat --session NAME`: the conversation is kept in the data dir's SQLite store after every
 * answer, resumed by the next run with the same name, and `/sessions` lists the sessions.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { CliProcess, completeModelDir, killAllCli } from "../chat/test-helpers.js";

after(killAllCli);

const model = completeModelDir();
const STATS = /^\[stats\] .* computed (\d+) in/gm;

async function chat(args: string[], lines: string[]): Promise<CliProcess> {
  const p = new CliProcess(["chat", model, "--temperature", "0", "--max-tokens", "6", "--no-think", "--threads", "1", ...args]);
  p.send(`${lines.join("\n")}\n`);
  p.child.stdin.end();
  assert.equal(await p.exit(60_000), 0, p.stderr);
  return p;
}

const computed = (stdout: string): number[] => [...stdout.matchAll(STATS)].map((m) => Number(m[1]));

test("chat --session keeps, resumes and lists named conversations", { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "qwenrt-sessions-"));
  const first = await chat(["--session", "work", "--data-dir", dataDir], ["Hello there", "/sessions"]);
  assert.match(first.stderr, new RegExp(`new session work \\(kept in ${dataDir}/qwenrt.db\\)`));
  assert.match(first.stdout, /^\* work {2}2 messages {2}\d{4}-\d\d-\d\d \d\d:\d\d$/m);
  const [alone] = computed(first.stdout);

  const second = await chat(["--session", "work", "--data-dir", dataDir], ["Hello there"]);
  assert.match(second.stderr, /resumed session work: 2 messages/);
  const [withHistory] = computed(second.stdout);
  assert.ok(withHistory! > alone! + 6, `the resumed prompt holds the first exchange: ${alone} then ${withHistory} tokens`);

  const other = await chat(["--session", "notes", "--data-dir", dataDir], ["/sessions", "/no_think", "/sessions"]);
  assert.match(other.stderr, /new session notes/);
  const listing = other.stdout.split("\n").filter((l) => / messages {2}/.test(l));
  assert.equal(listing.length, 3, "work alone at first; then notes (saved by /no_think) and work");
  assert.ok(listing.some((l) => /^\* notes {2}0 messages/.test(l)), listing.join("\n"));
  assert.ok(listing.some((l) => /^ {2}work {2}4 messages/.test(l)), listing.join("\n"));

  const plain = await chat([], ["/sessions"]);
  assert.match(plain.stdout, /this chat is not a named session/);
});

test("chat --session rejects a bad name before loading the model", async () => {
  const p = new CliProcess(["chat", model, "--session", "no/slashes"]);
  p.child.stdin.end();
  assert.notEqual(await p.exit(20_000), 0);
  assert.match(p.stderr, /--session: names are 1 to 64 letters/);
});
