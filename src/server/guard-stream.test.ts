// `serve --guard` with a Qwen3Guard-Stream guard on a real server (the fixture chat model and a
// designed tiny Stream checkpoint, test/helpers/guard-checkpoint.ts), driven by the official
// `openai` client: a prompt refused with a 400 naming the category, a streamed answer cut at the
// chunk that brings the first unsafe token with `content_filter`, a safe answer passed unchanged.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import OpenAI from "openai";
import { helloRequest, serveGuarded, streamed } from "../../test/helpers/guard-server.js";
import { writeGuardCheckpoint, type GuardTrigger } from "../../test/helpers/guard-checkpoint.js";
import { loadChatTemplate } from "../chat/template.js";
import { loadStreamGuard } from "../models/load.js";
import { Tokenizer } from "../tokenizer/index.js";
import { Guardrail } from "./guardrail.js";
import type { RunningServer } from "./test-server.js";

const tmp = mkdtempSync(join(tmpdir(), "qwenrt-stream-guarded-"));

async function serveWith(trigger: GuardTrigger | undefined, name: string): Promise<{ server: RunningServer; client: OpenAI }> {
  let guard: Guardrail | undefined;
  if (trigger !== undefined) {
    const dir = writeGuardCheckpoint(join(tmp, name), trigger, "stream");
    const { model, heads } = await loadStreamGuard(dir);
    const tokenizer = Tokenizer.fromDir(dir);
    guard = new Guardrail(model, tokenizer, "block", { model, heads, tokenizer, template: loadChatTemplate(dir) });
  }
  return serveGuarded(guard);
}

const request = helloRequest(40);

describe("serve --guard with a Qwen3Guard-Stream guard", () => {
  test("an unsafe prompt is refused with a 400 naming the category; /v1/moderations flags it", async () => {
    const { server, client } = await serveWith("always", "always");
    await assert.rejects(client.chat.completions.create(request), (e: unknown) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.code, "content_policy_violation");
      assert.match(e.message, /messages: the guard flagged this prompt as unsafe \(categories: Violent\)/);
      return true;
    });
    const m = await client.moderations.create({ model: "test-model", input: "Hello" });
    assert.equal(m.results[0]!.flagged, true);
    assert.equal(m.results[0]!.categories.violence, true);
    const metrics = await (await fetch(server.url.replace(/\/v1$/, "/metrics"))).text();
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="prompt",safety="Unsafe"\} 2/);
    assert.match(metrics, /qwenrt_guard_blocked_total\{target="prompt"\} 1/);
  });

  test("a streamed answer stops at the chunk bringing the first unsafe token, with content_filter; a safe guard passes it unchanged", async () => {
    const plain = await serveWith(undefined, "plain");
    const reference = await streamed(plain.client, request);
    assert.ok(reference.content.length > 8, `the fixture answers at length (${reference.content.length} chunks)`);
    const safe = await serveWith("never", "never");
    assert.deepEqual(await streamed(safe.client, request), reference, "a safe verdict changes nothing");

    // The guard reads the answer as the assistant turn of its own template (model card: thinking off).
    const tok = plain.server.runtime.tokenizer;
    const header = "\n<|im_start|>assistant\n<think>\n\n</think>\n\n";
    const prompt = new Set(tok.encode("<|im_start|>user\nHello<|im_end|>" + header, { addSpecialTokens: false }));
    const idsAt = (k: number): number[] => tok.encode(header + reference.content.slice(0, k).join(""), { addSpecialTokens: false });
    const answerIds = idsAt(reference.content.length);
    const trigger = answerIds.find((t, i) => i >= idsAt(3).length && !prompt.has(t) && !answerIds.slice(0, i).includes(t));
    assert.ok(trigger !== undefined, "the answer has a fresh token after its third chunk");
    // The first chunk whose text, tokenized with all before it, holds the trigger is withheld.
    let cutAt = 0;
    while (!idsAt(cutAt + 1).includes(trigger)) cutAt++;
    assert.ok(cutAt >= 3 && cutAt < reference.content.length);

    const cut = await serveWith([trigger], "cut");
    const got = await streamed(cut.client, request);
    assert.equal(got.finish, "content_filter");
    assert.deepEqual(got.content, reference.content.slice(0, cutAt), "the answer's start, unchanged, up to the unsafe token");
    const metrics = await (await fetch(cut.server.url.replace(/\/v1$/, "/metrics"))).text();
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="prompt",safety="Safe"\} 1/);
    assert.match(metrics, /qwenrt_guard_verdicts_total\{target="response",safety="Unsafe"\} 1/);
    assert.match(metrics, /qwenrt_guard_blocked_total\{target="response"\} 1/);

    const whole = await cut.client.chat.completions.create(request);
    assert.equal(whole.choices[0]!.finish_reason, "content_filter");
    assert.equal(whole.choices[0]!.message.content, "");
  });
});
