// `qwenrt chat` in a real terminal (tmux): prompt, dim thinking output, Ctrl-C stopping a long answer
// while the program keeps running. Skipped, with the reason printed, where tmux is not installed.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { ROOT, completeModelDir } from "../chat/test-helpers.js";

const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
const skip = hasTmux ? false : "tmux is not installed (apt-get install -y tmux)";
if (!hasTmux) process.stderr.write(`chat.tmux.test.ts: skipped: ${skip}\n`);

const session = `qwenrt-chat-test-${process.pid}`;

function tmux(...args: string[]): string {
  const r = spawnSync("tmux", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** The whole pane with its scrollback; `escapes` keeps the SGR codes (colours, dim). */
const capture = (escapes = false): string => tmux("capture-pane", "-p", "-J", ...(escapes ? ["-e"] : []), "-S", "-", "-t", session);

async function waitForPane(pred: (pane: string) => boolean, what: string, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const pane = capture();
    if (pred(pane)) return pane;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; pane:\n${pane.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

after(() => {
  if (hasTmux) spawnSync("tmux", ["kill-session", "-t", session]);
});

test("qwenrt chat in tmux: prompt, dim thinking, Ctrl-C stops the answer and the chat goes on", { skip, timeout: 90_000 }, async () => {
  const model = completeModelDir();
  const cmd = `cd '${ROOT}' && node --import tsx src/cli/main.ts chat '${model}' --max-tokens 100000 --ignore-eos --seed 5; echo "[exited $?]"; sleep 60`;
  tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "50", "-e", "NO_COLOR=", cmd);
  tmux("set-option", "-t", session, "history-limit", "50000");
  await waitForPane((p) => /^>>> $/m.test(p), "the prompt");
  assert.match(capture(), /· qwen3, 2 layers, .* · loaded in [\d.]+s\nType \/help for commands/);

  tmux("send-keys", "-t", session, "Hello there", "Enter");
  await waitForPane((p) => /thinking…\n.+/.test(p), "streamed reasoning");
  assert.match(capture(true), /\x1b\[2mthinking…/, "reasoning is drawn dim");
  await new Promise((r) => setTimeout(r, 500));
  tmux("send-keys", "-t", session, "C-c");
  const pane = await waitForPane((p) => /interrupted \(Ctrl-C\)\n(.*\n)*>>> $/m.test(p), "the stats line and a new prompt");
  assert.match(pane, /\d+ tokens, [\d.]+ tok\/s · reused 0 prompt tokens from cache, computed \d+ in [\d.]+s · interrupted \(Ctrl-C\)/);
  assert.ok(!pane.includes("[exited"), "still running after Ctrl-C");

  // Multi-line input shows the continuation prompt; the next answer reuses the cache.
  tmux("send-keys", "-t", session, "-l", "one \\");
  tmux("send-keys", "-t", session, "Enter");
  await waitForPane((p) => /^\.\.\. $/m.test(p), "the continuation prompt");
  tmux("send-keys", "-t", session, "two", "Enter");
  await waitForPane((p) => (p.match(/thinking…/g) ?? []).length >= 2, "the second answer");
  tmux("send-keys", "-t", session, "C-c");
  await waitForPane((p) => /reused [1-9]\d* prompt tokens from cache.*interrupted \(Ctrl-C\)\n(.*\n)*>>> $/m.test(p), "a second stats line with reuse");

  tmux("send-keys", "-t", session, "/exit", "Enter");
  await waitForPane((p) => p.includes("[exited 0]"), "exit status 0");
});
