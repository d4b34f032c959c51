import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliProcess, completeModelDir, killAllCli } from "../chat/test-helpers.js";

after(killAllCli);

// Random weights: the text is gibberish, so these tests check the structure of the transcript.
const model = completeModelDir();
const work = mkdtempSync(join(tmpdir(), "qwenrt-chat-e2e-"));

interface Turn {
  readonly body: string;
  readonly reused: number;
  readonly computed: number;
  readonly finish: string;
}

const STATS = /^\[stats\] (\d+) tokens?, \S+ tok\/s · reused (\d+) prompt tokens from cache, computed (\d+) in [\d.]+s · (.+)$/;

/** Split a plain transcript into answers (text up to each stats line) and the other lines. */
function turns(stdout: string): Turn[] {
  const out: Turn[] = [];
  let body: string[] = [];
  for (const line of stdout.split("\n")) {
    const m = STATS.exec(line);
    if (m === null) {
      body.push(line);
      continue;
    }
    out.push({ body: body.join("\n"), reused: Number(m[2]), computed: Number(m[3]), finish: m[4]! });
    body = [];
  }
  return out;
}

type Saved = { messages: { role: string; content: string; reasoning_content?: string }[]; settings: unknown };
const readSaved = (f: string): Saved => JSON.parse(readFileSync(f, "utf8")) as Saved;

test("qwenrt chat through pipes: markers, stats, KV reuse, commands, /save and /load", { timeout: 90_000 }, async () => {
  const saved = join(work, "conv.json");
  const saved2 = join(work, "conv2.json");
  const missing = join(work, "missing.json");
  const script = [
    "Hello",
    "How are you?",
    `/save ${saved}`,
    "/reset",
    "After reset",
    `/load ${saved}`,
    `/load ${missing}`,
    "/no_think",
    "Plain answer",
    "/budget 2",
    "/think",
    "Budgeted",
    '"""',
    "multi",
    "line \\",
    '"""',
    "first \\",
    "second",
    "/bogus",
    `/save ${saved2}`,
    "/exit",
    "never sent",
  ];
  const p = new CliProcess(["chat", model, "--temperature", "0", "--max-tokens", "40", "--ignore-eos"]);
  p.send(`${script.join("\n")}\n`);
  p.child.stdin.end();
  assert.equal(await p.exit(60_000), 0, p.stderr);
  // A float checkpoint runs as q8_0 by default, quantized once through the cache (said on stderr).
  assert.match(p.stderr, /^q8_0 on load \(the default for float checkpoints; --dtype keep runs the checkpoint's own types\)$/m);
  assert.match(p.stderr, /^\S+ · qwen3, 2 layers, [\d.]+M params · wasm\S* backend, \d+ threads? · context 40,960 · weights [\d.]+ MB \(bf16 → q8_0, quantized once in \d+s into \S+\.gguf\) · KV [\d.]+ kB\/1k tokens \(f16\) · loaded in/m);
  assert.ok(!p.stdout.includes("\x1b"), "no escape codes when stdout is not a terminal");
  assert.ok(!p.stdout.includes("never sent"));

  const t = turns(p.stdout);
  assert.equal(t.length, 7, p.stdout);
  const [hello, again, afterReset, plain, budgeted, multi, joined] = t as [Turn, Turn, Turn, Turn, Turn, Turn, Turn];
  for (const turn of t) assert.equal(turn.finish, "length");
  // Thinking on: the (random) answer is all reasoning, between the markers.
  assert.match(hello.body, /^\[thinking\]\n[^]+\n\[\/thinking\]$/);
  assert.equal(hello.reused, 0);
  // Turn two: the first turn's prompt comes from the KV cache.
  assert.ok(again.reused > 0, `reused ${again.reused}`);
  assert.match(again.body, /^\[thinking\]\n/);
  assert.match(afterReset.body, new RegExp(`^saved 4 messages to ${saved}\nnew conversation\n\\[thinking\\]`));
  assert.ok(afterReset.reused + afterReset.computed < again.reused + again.computed, "history gone after /reset");
  // After /load and /no_think: no thinking markers; the loaded history is in the prompt.
  assert.ok(plain.body.includes(`loaded 4 messages from ${saved} (thinking on, budget off)`), plain.body);
  assert.ok(plain.body.includes("thinking off for the following turns"));
  assert.ok(!plain.body.includes("[thinking]"));
  assert.ok(plain.reused + plain.computed > afterReset.reused + afterReset.computed);
  // A budget of 2 thinking tokens: Qwen's early-stop text closes the thought, then the answer follows.
  assert.match(budgeted.body, /thinking budget: 2 tokens \(thinking is off/);
  assert.match(budgeted.body, /\[thinking\]\n[^]*Considering the limited time by the user[^]*\n\[\/thinking\]\n.+/);
  assert.match(p.stderr, new RegExp(`^/load: ${missing}: file not found$`, "m"));
  assert.match(p.stderr, /^unknown command \/bogus/m);
  assert.ok(multi.reused > 0 && joined.reused > 0);

  const conv = readSaved(saved);
  assert.deepEqual(
    conv.messages.map((m) => [m.role, m.role === "user" ? m.content : typeof m.reasoning_content]),
    [["user", "Hello"], ["assistant", "string"], ["user", "How are you?"], ["assistant", "string"]],
  );
  assert.deepEqual(conv.settings, { enable_thinking: true, thinking_budget: null });
  const conv2 = readSaved(saved2);
  assert.equal(conv2.messages.length, 12);
  assert.deepEqual(conv2.messages.slice(0, 4), conv.messages, "the loaded conversation continues");
  assert.deepEqual(
    conv2.messages.filter((m) => m.role === "user").map((m) => m.content),
    ["Hello", "How are you?", "Plain answer", "Budgeted", "multi\nline \\", "first \nsecond"],
  );
  assert.deepEqual(conv2.settings, { enable_thinking: true, thinking_budget: 2 });
  assert.equal(conv2.messages[5]?.reasoning_content, undefined, "the /no_think answer has no reasoning");
});

test("qwenrt chat: SIGINT stops a long answer and keeps it; twice at the prompt exits", { timeout: 90_000 }, async () => {
  const file = join(work, "interrupted.json");
  const p = new CliProcess(["chat", model, "--max-tokens", "100000", "--ignore-eos", "--seed", "3"]);
  p.send("Tell me everything\n");
  await p.waitFor(/\[thinking\]\n./);
  p.child.kill("SIGINT");
  const m = await p.waitFor(/^\[stats\] (\d+) tokens.*interrupted \(Ctrl-C\)$/m);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) < 100_000);
  // Still running: the answer so far is in the history.
  p.send(`/save ${file}\n`);
  await p.waitFor(/^saved 2 messages to /m);
  const conv = readSaved(file);
  assert.equal(conv.messages[1]?.role, "assistant");
  assert.ok((conv.messages[1]?.reasoning_content ?? "").length > 0);
  // The next turn goes on from the cached conversation.
  const before = p.stdout.length;
  p.send("Go on\n");
  await p.waitFor(/\[thinking\]\n./, 20_000, before);
  p.child.kill("SIGINT");
  await p.waitFor(/^\[stats\] .*reused [1-9]\d* prompt tokens.*interrupted/m, 20_000, before);
  p.send("/exit\n");
  assert.equal(await p.exit(), 0, p.stderr);

  const q = new CliProcess(["chat", model]);
  await new Promise((r) => setTimeout(r, 50));
  q.send("/help\n");
  await q.waitFor(/\/budget N/);
  q.child.kill("SIGINT");
  await q.waitFor(/press Ctrl-C again or type \/exit to quit/);
  q.child.kill("SIGINT");
  assert.equal(await q.exit(), 0, q.stderr);
  assert.ok(existsSync(file));
});
