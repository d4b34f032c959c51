import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyCommand } from "./repl.js";
import { ChatSession, loadChat, parseSavedChat, saveChat } from "./session.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-chat-session-"));

function sample(): ChatSession {
  const s = new ChatSession({ system: "Be brief.", enableThinking: true, budget: null });
  s.addUser("Hi");
  s.addAssistant("Hello!", "The user greets me.");
  s.addUser("Bye");
  s.addAssistant("Bye!", "");
  return s;
}

test("ChatSession.request: system first, then history, with the thinking switch", () => {
  const s = sample();
  s.addUser("Again");
  s.settings.enableThinking = false;
  assert.deepEqual(s.request(), {
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!", reasoning_content: "The user greets me." },
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Bye!" },
      { role: "user", content: "Again" },
    ],
    enable_thinking: false,
    add_generation_prompt: true,
  });
});

test("ChatSession: reset keeps the system prompt; setSystem replaces it and resets; '' clears it", () => {
  const s = sample();
  s.reset();
  assert.deepEqual(s.allMessages(), [{ role: "system", content: "Be brief." }]);
  const t = sample();
  t.setSystem("Be verbose.");
  assert.deepEqual(t.allMessages(), [{ role: "system", content: "Be verbose." }]);
  t.setSystem("");
  assert.deepEqual(t.allMessages(), []);
});

test("ChatSession.dropPendingUser removes only a trailing user message", () => {
  const s = sample();
  s.dropPendingUser();
  assert.equal(s.messages.length, 4);
  s.addUser("pending");
  s.dropPendingUser();
  assert.equal(s.messages.at(-1)?.content, "Bye!");
});

test("save then load restores messages, system prompt and settings", () => {
  const s = sample();
  s.settings.budget = 64;
  s.settings.enableThinking = false;
  const file = join(tmp, "roundtrip.json");
  saveChat(file, s);
  const json = JSON.parse(readFileSync(file, "utf8")) as { messages: unknown[]; settings: unknown };
  assert.equal(json.messages.length, 5);
  assert.deepEqual(json.settings, { enable_thinking: false, thinking_budget: 64 });
  const t = new ChatSession({ system: null, enableThinking: true, budget: null });
  t.restore(loadChat(file));
  assert.deepEqual(t.allMessages(), s.allMessages());
  assert.deepEqual(t.settings, s.settings);
});

test("loading a file without a system message clears the current system prompt", () => {
  const t = new ChatSession({ system: "old", enableThinking: true, budget: 5 });
  t.restore(parseSavedChat({ messages: [{ role: "user", content: "x" }] }, "f.json"));
  assert.equal(t.settings.system, null);
  assert.equal(t.settings.budget, null);
  assert.equal(t.settings.enableThinking, true);
});

test("parseSavedChat: errors name the file and the field", () => {
  const bad = (v: unknown, re: RegExp): void => assert.throws(() => parseSavedChat(v, "c.json"), { message: re });
  bad([], /^c\.json: must be a JSON object/);
  bad({}, /^c\.json: "messages" must be an array/);
  bad({ messages: [{ role: "user" }] }, /^c\.json: "messages"\[0\]\.content must be a string/);
  bad({ messages: [{ role: "tool", content: "" }] }, /^c\.json: "messages"\[0\]\.role must be "system", "user" or "assistant", got "tool"/);
  bad({ messages: [{ role: "user", content: "" }, { role: "system", content: "" }] }, /"messages"\[1\]: a system message may only come first/);
  bad({ messages: [{ role: "assistant", content: "", reasoning_content: 3 }] }, /"messages"\[0\]\.reasoning_content must be a string/);
  bad({ messages: [], settings: { thinking_budget: -1 } }, /"settings"\.thinking_budget must be an integer >= 0 or null/);
  bad({ messages: [], settings: { enable_thinking: "yes" } }, /"settings"\.enable_thinking must be a boolean/);
});

test("loadChat / saveChat: file errors name the file", () => {
  const missing = join(tmp, "missing.json");
  assert.throws(() => loadChat(missing), { message: new RegExp(`^${missing}: file not found`) });
  const broken = join(tmp, "broken.json");
  writeFileSync(broken, "{nope");
  assert.throws(() => loadChat(broken), { message: new RegExp(`^${broken}: malformed JSON`) });
  const unwritable = join(tmp, "no-such-dir", "x.json");
  assert.throws(() => saveChat(unwritable, sample()), { message: new RegExp(`^${unwritable}: cannot write \\(ENOENT\\)`) });
});

test("applyCommand changes the session and reports it", () => {
  const s = sample();
  assert.deepEqual(applyCommand({ kind: "think", enabled: false }, s), { message: "thinking off for the following turns" });
  assert.equal(s.settings.enableThinking, false);
  assert.match(applyCommand({ kind: "budget", budget: 32 }, s).message ?? "", /^thinking budget: 32 tokens \(thinking is off/);
  assert.equal(s.settings.budget, 32);
  assert.deepEqual(applyCommand({ kind: "budget", budget: null }, s), { message: "thinking budget: off" });
  assert.equal(s.settings.budget, null);
  assert.deepEqual(applyCommand({ kind: "reset" }, s), { message: "new conversation" });
  assert.equal(s.messages.length, 0);
  assert.deepEqual(applyCommand({ kind: "system", text: "Pirate." }, s), { message: "system prompt set; new conversation" });
  assert.equal(s.settings.system, "Pirate.");
  assert.deepEqual(applyCommand({ kind: "exit" }, s), { exit: true });
  const file = join(tmp, "cmd.json");
  const full = sample();
  assert.deepEqual(applyCommand({ kind: "save", file }, full), { message: `saved 4 messages to ${file}` });
  assert.deepEqual(applyCommand({ kind: "load", file }, s), {
    message: `loaded 4 messages from ${file} (thinking on, budget off, with a system prompt)`,
  });
  assert.deepEqual(s.allMessages(), full.allMessages());
  assert.throws(() => applyCommand({ kind: "load", file: join(tmp, "nope.json") }, s), /nope\.json: file not found/);
});
