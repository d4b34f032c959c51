import assert from "node:assert/strict";
import { test } from "node:test";
import { QwenrtError } from "../util/errors.js";
import { toErrorResponse } from "./errors.js";
import { allOrNone } from "./runtime.js";

test("toErrorResponse: client faults are 4xx naming the parameter; server faults 5xx without local paths; exhaustion 503 + Retry-After", () => {
  const client = toErrorResponse(new QwenrtError("top_p", "must be in (0, 1], got 0", { code: "invalid_request" }));
  assert.deepEqual([client.status, client.body.error.param, client.headers], [400, "top_p", {}]);

  const where = "/home/someone/.cache/huggingface/hub/models--Qwen--Qwen3-0.6B/snapshots/abc/tokenizer_config.json chat_template";
  const broken = toErrorResponse(new QwenrtError(where, "Unknown operator in /home/someone/models/x.jinja", { code: "invalid_template" }));
  assert.equal(broken.status, 500);
  assert.equal(broken.body.error.param, null);
  assert.ok(!JSON.stringify(broken.body).includes("/home/someone"), JSON.stringify(broken.body));
  const limit = toErrorResponse(new QwenrtError(where, "rendering took longer than 5000 ms", { code: "template_limit" }));
  assert.deepEqual([limit.status, limit.body.error.type], [500, "server_error"]);
  assert.ok(!JSON.stringify(limit.body).includes("/home"));
  const refused = toErrorResponse(new QwenrtError(where, "Conversation roles must alternate", { code: "template_rejected" }));
  assert.deepEqual([refused.status, refused.body.error.param], [400, "messages"]);
  assert.ok(!JSON.stringify(refused.body).includes("/home"));

  const fault = toErrorResponse(new QwenrtError("logits", "the model produced NaN at token 3", { code: "model_fault" }));
  assert.deepEqual([fault.status, fault.body.error.type], [500, "server_error"]);
  assert.equal(toErrorResponse(new QwenrtError("logits", "every token is masked", { code: "no_candidates" })).status, 500);

  for (const e of [new RangeError("Array buffer allocation failed"), new RangeError("Invalid typed array length: 4294967296"), new QwenrtError("wasm backend", "out of memory: needs 5 GiB", { code: "out_of_memory" })]) {
    const r = toErrorResponse(e);
    assert.equal(r.status, 503, String(e));
    assert.equal(r.headers["retry-after"], "2");
    assert.equal(r.body.error.type, "server_error");
  }
  const internal = toErrorResponse(new Error("ENOENT: no such file, open '/srv/models/qwen/model.safetensors'"));
  assert.equal(internal.status, 500);
  assert.ok(!internal.body.error.message.includes("/srv/"), internal.body.error.message);
  assert.match(internal.body.error.message, /model\.safetensors/);
});

test("allOrNone: the first failure stops the siblings and is the error thrown, once all have settled", async () => {
  const ac = new AbortController();
  const stoppedBy: unknown[] = [];
  let settled = 0;
  const sibling = (signal: AbortSignal) =>
    new Promise<string>((_, reject) => {
      signal.addEventListener("abort", () => {
        stoppedBy.push(signal.reason);
        setTimeout(() => {
          settled++;
          reject(signal.reason);
        }, 20);
      });
    });
  const boom = new Error("choice 1 failed");
  const failing = async (): Promise<string> => {
    await new Promise((r) => setTimeout(r, 10));
    throw boom;
  };
  await assert.rejects(allOrNone(ac.signal, [sibling, failing, sibling]), (e: unknown) => e === boom);
  assert.deepEqual(stoppedBy, [boom, boom]);
  assert.equal(settled, 2, "returned only after the siblings settled");
  assert.deepEqual(await allOrNone(ac.signal, [async () => 1, async () => 2]), [1, 2]);
  const gone = new AbortController();
  const pending = allOrNone(gone.signal, [sibling]);
  gone.abort(new Error("client gone"));
  await assert.rejects(pending, { message: "client gone" });
});
