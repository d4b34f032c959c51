/**
 * A model fault is the server's, not the client's: weights holding NaN make the logits NaN, and the
 * request gets a 500 naming the tensor (found by the checkpoint scan, once), not a 400.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { completeModelDir, poisonTensor } from "../../test/helpers/complete-model.js";
import { openModelSource } from "../open.js";
import { startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
let dir: string;
before(async () => {
  dir = completeModelDir("qwen3-dense-tiny");
  await poisonTensor(dir, "model.norm.weight");
  const source = await openModelSource(dir);
  server = await startServer(dir, { findNonFinite: () => source.findNonFinite() });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

test("NaN weights: a 500 model fault naming the tensor, streamed or not, without a local path", async () => {
  for (const stream of [false, true]) {
    const res = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 2, stream }),
    });
    const text = await res.text();
    // A stream has started before the first token is sampled: its error comes in-band, still a server_error.
    assert.equal(res.status, stream ? 200 : 500, text);
    const json = stream ? text.split("\n").find((l) => l.includes('"error"'))!.replace(/^data: /, "") : text;
    const e = (JSON.parse(json) as { error: { message: string; type: string; code: string | null } }).error;
    assert.equal(e.type, "server_error");
    assert.equal(e.code, "model_fault");
    assert.match(e.message, /model\.norm\.weight/);
    assert.ok(!text.includes(dir), text);
  }
});
