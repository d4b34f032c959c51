import { test } from "node:test";
import assert from "node:assert/strict";
import { AnswerPrinter, formatStats, promptText, terminalSafe, type TurnStats } from "./view.js";

const stats: TurnStats = { tokens: 11, decodeSeconds: 2, promptTokens: 50, reusedTokens: 40, promptSeconds: 0.25, finish: "stop" };

function collect(color: boolean, run: (p: AnswerPrinter) => void): string {
  let out = "";
  run(new AnswerPrinter({ write: (t: string) => (out += t) }, { color }));
  return out;
}

test("formatStats: tokens, decode rate, reused vs computed prompt tokens, finish", () => {
  assert.equal(formatStats(stats), "11 tokens, 5.0 tok/s · reused 40 prompt tokens from cache, computed 10 in 0.25s · stop");
  assert.equal(
    formatStats({ ...stats, tokens: 1, finish: "interrupted" }),
    "1 token, - tok/s · reused 40 prompt tokens from cache, computed 10 in 0.25s · interrupted (Ctrl-C)",
  );
});

test("AnswerPrinter, plain: [thinking] markers around the reasoning, no escape codes", () => {
  const out = collect(false, (p) => {
    p.reasoning("Let me");
    p.reasoning(" see.");
    p.content("Hello");
    p.content("!");
    p.end(stats);
  });
  assert.equal(out, `[thinking]\nLet me see.\n[/thinking]\nHello!\n[stats] ${formatStats(stats)}\n`);
  assert.ok(!out.includes("\x1b"));
});

test("AnswerPrinter, plain: reasoning cut off is closed at the end; no thinking means no markers", () => {
  assert.equal(
    collect(false, (p) => {
      p.reasoning("unfinished\n");
      p.end(stats);
    }),
    `[thinking]\nunfinished\n[/thinking]\n[stats] ${formatStats(stats)}\n`,
  );
  assert.equal(
    collect(false, (p) => {
      p.reasoning("");
      p.content("Just the answer.");
      p.end(stats);
    }),
    `Just the answer.\n[stats] ${formatStats(stats)}\n`,
  );
});

test("AnswerPrinter, colour: dim reasoning under a thinking header, answer in normal text", () => {
  const out = collect(true, (p) => {
    p.reasoning("Hmm\x1b[31m");
    p.content("Hi");
    p.end(stats);
  });
  assert.equal(out, `\x1b[2mthinking…\x1b[22m\n\x1b[2mHmm^[[31m\x1b[22m\n\nHi\n\x1b[2m${formatStats(stats)}\x1b[0m\n`);
});

test("terminalSafe shows control characters in caret notation, keeps newlines, tabs and text", () => {
  assert.equal(terminalSafe("a\x1b[2Jb\r\x07\x7f\u0085"), "a^[[2Jb^M^G^?\\x85");
  assert.equal(terminalSafe("line\n\tтекст 文字 🙂"), "line\n\tтекст 文字 🙂");
});

test("promptText: >>> or ... for continuation, bold only with colour", () => {
  assert.equal(promptText(false, false), ">>> ");
  assert.equal(promptText(true, false), "... ");
  assert.equal(promptText(false, true), "\x1b[1m>>> \x1b[0m");
});

test("AnswerPrinter.ids: one JSON line of prompt and answer ids, marked when plain, dim in colour", () => {
  assert.equal(collect(false, (p) => p.ids([1, 2], [3])), '[ids] {"prompt_ids":[1,2],"ids":[3]}\n');
  assert.equal(collect(true, (p) => p.ids([1], [])), '\x1b[2m{"prompt_ids":[1],"ids":[]}\x1b[0m\n');
});
