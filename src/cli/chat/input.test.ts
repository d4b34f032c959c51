import { test } from "node:test";
import assert from "node:assert/strict";
import { InputAssembler, helpText, interruptAction, parseInput, COMMAND_HELP } from "./input.js";

function feed(lines: string[]): unknown[] {
  const a = new InputAssembler();
  return lines.map((l) => a.push(l));
}

test("InputAssembler: a plain line is one input", () => {
  assert.deepEqual(feed(["hello"]), [{ kind: "done", text: "hello", block: false }]);
});

test("InputAssembler: a trailing backslash continues the input, keeping the newline", () => {
  const a = new InputAssembler();
  assert.deepEqual(a.push("first \\"), { kind: "more" });
  assert.equal(a.pending, true);
  assert.deepEqual(a.push("second\\"), { kind: "more" });
  assert.deepEqual(a.push("third"), { kind: "done", text: "first \nsecond\nthird", block: false });
  assert.equal(a.pending, false);
});

test('InputAssembler: """ blocks keep inner lines verbatim, blank lines and backslashes included', () => {
  assert.deepEqual(feed(['"""', "line one\\", "", "  indented", '"""']), [
    { kind: "more" },
    { kind: "more" },
    { kind: "more" },
    { kind: "more" },
    { kind: "done", text: "line one\\\n\n  indented", block: true },
  ]);
});

test('InputAssembler: text on the fence lines is kept; a one-line """x""" is complete', () => {
  assert.deepEqual(feed(['"""start', "mid", 'end"""']).at(-1), { kind: "done", text: "start\nmid\nend", block: true });
  assert.deepEqual(feed(['"""/reset"""']), [{ kind: "done", text: "/reset", block: true }]);
});

test("InputAssembler.clear drops a half-entered input", () => {
  const a = new InputAssembler();
  a.push('"""');
  a.push("abandoned");
  a.clear();
  assert.equal(a.pending, false);
  assert.deepEqual(a.push("new"), { kind: "done", text: "new", block: false });
});

test("parseInput: messages, empty input, and block text that looks like a command", () => {
  assert.deepEqual(parseInput("hi there", false), { kind: "message", text: "hi there" });
  assert.deepEqual(parseInput("   ", false), { kind: "empty" });
  assert.deepEqual(parseInput("/reset", true), { kind: "message", text: "/reset" });
  assert.deepEqual(parseInput("//etc/hosts", false), { kind: "message", text: "/etc/hosts" });
});

test("parseInput: every command parses to its action", () => {
  const cmd = (t: string): unknown => {
    const r = parseInput(t, false);
    assert.equal(r.kind, "command", `${t}: ${JSON.stringify(r)}`);
    return r.kind === "command" ? r.command : undefined;
  };
  assert.deepEqual(cmd("/think"), { kind: "think", enabled: true });
  assert.deepEqual(cmd("/no_think"), { kind: "think", enabled: false });
  assert.deepEqual(cmd("/budget 256"), { kind: "budget", budget: 256 });
  assert.deepEqual(cmd("/budget 0"), { kind: "budget", budget: 0 });
  assert.deepEqual(cmd("/budget off"), { kind: "budget", budget: null });
  assert.deepEqual(cmd("/system You are  terse. "), { kind: "system", text: "You are  terse." });
  assert.deepEqual(cmd("/system"), { kind: "system", text: "" });
  assert.deepEqual(cmd("/reset"), { kind: "reset" });
  assert.deepEqual(cmd("/save my chat.json"), { kind: "save", file: "my chat.json" });
  assert.deepEqual(cmd("/load chat.json"), { kind: "load", file: "chat.json" });
  assert.deepEqual(cmd("/help"), { kind: "help" });
  assert.deepEqual(cmd(" /exit "), { kind: "exit" });
});

test("parseInput: bad commands are errors that say what is wrong", () => {
  const err = (t: string): string => {
    const r = parseInput(t, false);
    assert.equal(r.kind, "invalid", t);
    return r.kind === "invalid" ? r.error : "";
  };
  assert.match(err("/budget lots"), /^\/budget expects a token count >= 0 or "off", got "lots"/);
  assert.match(err("/budget -3"), /got "-3"/);
  assert.match(err("/budget"), /got ""/);
  assert.match(err("/save"), /^\/save needs a FILE argument/);
  assert.match(err("/reset now"), /^\/reset takes no argument, got "now"/);
  assert.match(err("/frobnicate"), /^unknown command \/frobnicate \(try \/help/);
});

test("helpText lists every command", () => {
  const h = helpText();
  for (const [c] of COMMAND_HELP) assert.ok(h.includes(c), c);
});

test("interruptAction: abort while generating, clear typed input, hint then exit at an empty prompt", () => {
  const a = (generating: boolean, hasInput: boolean, previousWasInterrupt: boolean): string =>
    interruptAction({ generating, hasInput, previousWasInterrupt });
  assert.equal(a(true, false, false), "abort");
  assert.equal(a(true, true, true), "abort");
  assert.equal(a(false, true, false), "clear");
  assert.equal(a(false, true, true), "clear");
  assert.equal(a(false, false, false), "hint");
  assert.equal(a(false, false, true), "exit");
});
