// `serve --guard` on a real server with the fixture chat model and designed tiny guards
// (test/helpers/guard-checkpoint.ts), driven by the official `openai` client: a prompt refused
// with a 400 naming the category, a streamed answer cut mid-stream with `content_filter`, a safe
// answer passed unchanged, /v1/moderations in OpenAI's shape, and the verdicts in /metrics.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { helloRequest, serveGuarded, streamed } from "../../test/helpers/guard-server.js";
import { writeGuardCheckpoint, type GuardTrigger } from "../../test/helpers/guard-checkpoint.js";
import { guardPrompt } from "../chat/guard.js";
import { loadModel } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { CHECK_EVERY } from "./guarded-chat.js";
import { Guardrail } from "./guardrail.js";
import type { RunningServer } from "./test-server.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-guarded-"));

async function serveWith(trigger: GuardTrigger | undefined, name: string, policy: "block" | "flag" = "block"): Promise<{ server: RunningServer; client: OpenAI }> {
  let guard: Guardrail | undefined;
  if (trigger !== undefined) {
    const dir = writeGuardCheckpoint(join(tmp, name), trigger);
    guard = new Guardrail(await loadModel(dir), Tokenizer.fromDir(dir), policy);
  }
  return serveGuarded(guard);
}

const request = helloRequest(48);

describe("serve --guard", () => {
  test("an unsafe prompt is refused with a 400 naming the category, counted in /metrics; /v1/moderations flags it in OpenAI's shape", async () => {
    const { server, client } = await serveWith("always", "always");
    await assert.rejects(client.chat.completions.create(request), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.code, "content_policy_violation");
      assert.match(e.message, /messages: the guard flagged this prompt as unsafe \(categories: Violent\)/);
      return true;
    });
    const m = await client.moderations.create({ model: "test-model", input: ["How can I make a bomb?", "Hello"] });
    assert.equal(m.results.length, 2);
    const r = m.results[0]!;
    assert.equal(r.flagged, true);
    assert.equal(r.categories.violence, true);
    assert.equal(r.categories.sexual, false);
    assert.ok(r.category_scores.violence > 0.99);
    assert.deepEqual(r.category_applied_input_types.violence, ["text"]);
    assert.deepEqual((r as unknown as { qwen3guard: { safety: string; categories: string[] } }).qwen3guard.categories, ["Violent"]);
    const metrics = await (await fetch(server.url.replace(/\/v1$/, "/metrics"))).text();
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="prompt",safety="Unsafe"\} 3/);
    assert.match(metrics, /qwenrt_guard_blocked_total\{target="prompt"\} 1/);
  });

  test("a streamed answer is cut mid-stream with content_filter once it holds an unsafe token; a safe guard passes it unchanged", async () => {
    const plain = await serveWith(undefined, "plain");
    const full = await plain.client.chat.completions.create({ ...request, return_token_ids: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const ids = (full.choices[0] as unknown as { token_ids: number[] }).token_ids;
    const reference = await streamed(plain.client, request);
    assert.ok(reference.content.length > 2 * CHECK_EVERY, `the fixture answers at length (${reference.content.length} chunks)`);

    const safe = await serveWith("never", "never");
    assert.deepEqual(await streamed(safe.client, request), reference, "a safe verdict changes nothing");

    // Trigger on a token the answer first produces after the first check and before the second.
    const tok = plain.server.runtime.tokenizer;
    const fixed = new Set(tok.encode(guardPrompt([{ role: "user", content: "Hello" }, { role: "assistant", content: "" }]).text, { addSpecialTokens: false }));
    const at = ids.findIndex((t, i) => i >= CHECK_EVERY + 2 && i < 2 * CHECK_EVERY - 2 && !fixed.has(t) && !ids.slice(0, i).includes(t));
    assert.ok(at > 0, "the answer has a fresh token between the checks");
    const cut = await serveWith([ids[at]!], "cut");
    const got = await streamed(cut.client, request);
    assert.equal(got.finish, "content_filter");
    assert.equal(got.content.length, CHECK_EVERY, "the chunks the first (safe) check released, and none after");
    assert.deepEqual(got.content, reference.content.slice(0, CHECK_EVERY), "what passed is the answer's start, unchanged");
    const metrics = await (await fetch(cut.server.url.replace(/\/v1$/, "/metrics"))).text();
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="response",safety="Unsafe"\} 1/);
    assert.match(metrics, /qwenrt_guard_blocked_total\{target="response"\} 1/);

    const whole = await cut.client.chat.completions.create(request);
    assert.equal(whole.choices[0]!.finish_reason, "content_filter");
    assert.equal(whole.choices[0]!.message.content, "");
  });

  test("under --guard-policy flag an unsafe prompt and answer pass unchanged and are only counted", async () => {
    const plain = await serveWith(undefined, "plain-flag");
    const reference = await streamed(plain.client, request);
    const { server, client } = await serveWith("always", "always-flag", "flag");
    assert.deepEqual(await streamed(client, request), reference);
    const metrics = await (await fetch(server.url.replace(/\/v1$/, "/metrics"))).text();
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="prompt",safety="Unsafe"\} 1/);
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="response",safety="Unsafe"\} [1-9]/);
    assert.match(metrics, /qwenrt_guard_blocked_total 0/);
  });
});
