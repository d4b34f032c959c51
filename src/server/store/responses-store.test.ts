/**
 * Stored responses survive a restart; a data directory that cannot be written, or a full disk, is
 * said once in the log and the server keeps serving without storing.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import OpenAI, { APIError } from "openai";
import { completeModelDir } from "../../../test/helpers/complete-model.js";
import { startServer } from "../test-server.js";
import { defaultDataDir } from "./data-dir.js";

const model = completeModelDir("qwen3-dense-tiny");
const ask = { model: "test-model", max_output_tokens: 3, temperature: 0, reasoning: { effort: "none" as const } };

async function notFound(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e) => e instanceof APIError && e.status === 404);
}

test("stored responses survive a restart and a continuation finds them", { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "qwenrt-store-"));
  const first = await startServer(model, { dataDir });
  const c1 = new OpenAI({ baseURL: first.url, apiKey: "unused", maxRetries: 0 });
  const r = await c1.responses.create({ ...ask, input: "Remember me" });
  await first.close();
  first.runtime.model.backend.dispose();

  const second = await startServer(model, { dataDir });
  try {
    const c2 = new OpenAI({ baseURL: second.url, apiKey: "unused", maxRetries: 0 });
    const got = await c2.responses.retrieve(r.id);
    assert.equal(got.output_text, r.output_text);
    const next = await c2.responses.create({ ...ask, input: "And now?", previous_response_id: r.id });
    assert.ok(next.usage!.input_tokens > r.usage!.input_tokens + 3);
    const items = await c2.responses.inputItems.list(next.id);
    assert.equal(items.data.length, 1);
  } finally {
    await second.close();
    second.runtime.model.backend.dispose();
  }
});

test("a data dir that cannot be written: one clear line, then serving without storing", { timeout: 120_000 }, async () => {
  // root writes through permission bits, so it gets a directory on a read-only file system instead.
  let dataDir = "/sys/qwenrt-data";
  if (process.getuid?.() !== 0) {
    dataDir = mkdtempSync(join(tmpdir(), "qwenrt-ro-"));
    chmodSync(dataDir, 0o555);
  }
  const lines: string[] = [];
  const s = await startServer(model, { dataDir, log: (l) => lines.push(l) });
  try {
    assert.equal(s.store, undefined);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`--data-dir ${dataDir}: cannot store responses there \\(.+\\); serving without storing`));
    const c = new OpenAI({ baseURL: s.url, apiKey: "unused", maxRetries: 0 });
    const r = await c.responses.create({ ...ask, input: "hi" });
    assert.equal(r.status === "completed" || r.status === "incomplete", true);
    assert.equal(Reflect.get(r, "store"), false);
    await notFound(c.responses.retrieve(r.id));
  } finally {
    await s.close();
    s.runtime.model.backend.dispose();
  }
});

test("a full disk: the write fails whole, is logged once, and requests still succeed", { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const s = await startServer(model, { dataDir: mkdtempSync(join(tmpdir(), "qwenrt-full-")), log: (l) => lines.push(l) });
  try {
    const c = new OpenAI({ baseURL: s.url, apiKey: "unused", maxRetries: 0 });
    const kept = await c.responses.create({ ...ask, input: "fits" });
    s.store!.limitPages(1); // SQLite's own page limit: every further write fails with SQLITE_FULL
    const long = "a long input that needs new pages ".repeat(200);
    const a = await c.responses.create({ ...ask, input: long });
    const b = await c.responses.create({ ...ask, input: long });
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0]!, /could not store response resp_\w+ \(database or disk is full\); serving continues without storing it/);
    await notFound(c.responses.retrieve(a.id));
    await notFound(c.responses.retrieve(b.id));
    assert.equal((await c.responses.inputItems.list(a.id).catch((e: unknown) => e)) instanceof APIError, true, "no half-written input items");
    assert.equal((await c.responses.retrieve(kept.id)).id, kept.id);
  } finally {
    await s.close();
    s.runtime.model.backend.dispose();
  }
});

test("the default data dir follows XDG_DATA_HOME, else ~/.local/share", () => {
  assert.equal(defaultDataDir({ XDG_DATA_HOME: "/data" }, "linux"), "/data/qwenrt");
  assert.match(defaultDataDir({}, "linux"), /\/\.local\/share\/qwenrt$/);
});
