/**
 * Issue 16's proof: a seeded fuzz of bad request bodies. Each body is a valid request with one to
 * three fields replaced by values that field must refuse (or a broken body as a whole); every answer
 * must be a 4xx with an OpenAI-shaped error naming one of the broken fields, no stack trace and no
 * local path, and `/health` must answer within 1 s after each batch.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { createRng, type Rng } from "../engine/rng.js";
import { startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
before(async () => {
  server = await startServer(completeModelDir("qwen3-dense-tiny"), { maxRunning: 8, maxWaiting: 64 });
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

/** Values each chat field must refuse (JSON-serializable; `1e309` parses to Infinity). */
const badChat: Record<string, readonly unknown[]> = {
  messages: [[], "hi", [{}], [{ role: "wizard", content: "x" }], [{ role: "user", content: 5 }], [{ role: "user", content: [{ type: "image_url" }] }], null, {}, [{ role: "assistant", tool_calls: [{ function: { name: 5 } }] }]],
  temperature: ["hot", -1, -1e308, [], {}, true],
  top_p: [0, -0.1, 1.0001, 1e308, "0.5", [0.5]],
  top_k: [1.5, -2, "5", -1e9],
  min_p: [-0.1, 1.1, "x"],
  presence_penalty: ["x", {}, [1]],
  frequency_penalty: ["x", true],
  repetition_penalty: [0, -1, "x"],
  seed: [-1, 1.5, "7", 2 ** 64],
  max_tokens: [0, -1, 1.5, "10"],
  max_completion_tokens: [0, "x"],
  n: [0, 17, 1.5, "2", 9],
  stop: ["", [""], 5, Array.from({ length: 17 }, () => "x"), [1]],
  logit_bias: ["x", [1], { "0x1": 1 }, { a: 1 }, { "1": "x" }, { "1": 1e3 }, { "1e3": 1 }, { "": 2 }],
  logprobs: ["yes", 1],
  top_logprobs: [21, -1, 1.5],
  tool_choice: ["sometimes", { function: {} }, 5, "required"],
  tools: ["x", [{ function: 5 }], [5]],
  response_format: ["json", { type: "xml" }, { type: "json_schema" }, { type: "json_schema", json_schema: { schema: { type: "nope" } } }],
  stream: ["yes", 1],
  stream_options: ["x", { include_usage: "y" }],
  thinking_budget: [-1, 1.5, "x"],
  enable_thinking: ["yes", 0],
  chat_template_kwargs: ["x", { messages: [] }, [1]],
  model: [5, "no-such-model"],
};

const badCompletion: Record<string, readonly unknown[]> = {
  prompt: [5, [], [[-1]], [[151936]], "", [1.5], [[]], Array.from({ length: 65 }, () => "p")],
  echo: ["yes"],
  logprobs: [21, "x"],
  suffix: ["tail"],
  temperature: ["x", -2],
  n: [0, 17],
};

/** Whole bodies that are not a request at all. */
const brokenBodies: readonly { body: string; type?: string; status: number }[] = [
  { body: "{not json", status: 400 },
  { body: "", status: 400 },
  { body: "[]", status: 400 },
  { body: '"x"', status: 400 },
  { body: "null", status: 400 },
  { body: "5", status: 400 },
  { body: '{"messages": [{"role": "user", "content": "x"}]}', type: "text/plain", status: 415 },
  { body: "messages=x", type: "application/x-www-form-urlencoded", status: 415 },
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.float() * xs.length)]!;

interface Case {
  readonly path: string;
  readonly body: string;
  readonly type: string;
  /** Fields replaced: the error must name one of them (or a path under it). Empty: any param. */
  readonly fields: readonly string[];
  readonly status?: number;
}

function makeCase(rng: Rng): Case {
  const r = rng.float();
  if (r < 0.08) {
    const b = pick(rng, brokenBodies);
    return { path: "/chat/completions", body: b.body, type: b.type ?? "application/json", fields: [], status: b.status };
  }
  const chat = r < 0.8;
  const table = chat ? badChat : badCompletion;
  const body: Record<string, unknown> = chat ? { messages: [{ role: "user", content: "hello" }], max_tokens: 2 } : { prompt: "hello", max_tokens: 2 };
  if (rng.float() < 0.3) body.stream = true; // a bad parameter must still be a 4xx, not an error inside a 200 stream
  const fields = new Set<string>();
  const count = 1 + Math.floor(rng.float() * 3);
  for (let i = 0; i < count; i++) {
    const field = pick(rng, Object.keys(table));
    fields.add(field);
    body[field] = pick(rng, table[field]!);
  }
  if (fields.has("top_logprobs")) body.logprobs = fields.has("logprobs") ? body.logprobs : false;
  return { path: chat ? "/chat/completions" : "/completions", body: JSON.stringify(body), type: "application/json", fields: [...fields] };
}

/** The error must name one of the fields (tool_choice "required" may blame tools; a bad n on completions the prompt). */
function names(param: string | null, fields: readonly string[]): boolean {
  if (fields.length === 0) return true;
  const related: Record<string, readonly string[]> = { tool_choice: ["tools"], tools: ["tool_choice"], n: ["prompt"], prompt: ["n"], logprobs: ["top_logprobs"], top_logprobs: ["logprobs"] };
  const ok = fields.flatMap((f) => [f, ...(related[f] ?? [])]);
  return param !== null && ok.some((f) => param === f || param.startsWith(`${f}.`) || param.startsWith(`${f}[`));
}

test("fuzz: 400 seeded bad bodies all get a 4xx naming the parameter; /health answers within 1 s after every batch", { timeout: 600_000 }, async (t) => {
  const rng = createRng(16_2026);
  const base = server.url.replace(/\/v1$/, "");
  let worstHealthMs = 0;
  const statuses = new Map<number, number>();
  for (let batch = 0; batch < 8; batch++) {
    const cases = Array.from({ length: 50 }, () => makeCase(rng));
    const answers = await Promise.all(
      cases.map(async (c) => {
        const res = await fetch(`${server.url}${c.path}`, { method: "POST", headers: { "content-type": c.type }, body: c.body });
        return { c, status: res.status, text: await res.text() };
      }),
    );
    for (const { c, status, text } of answers) {
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const what = `${c.path} ${c.body.slice(0, 200)} → ${status} ${text.slice(0, 300)}`;
      assert.ok(status >= 400 && status < 500, what);
      if (c.status !== undefined) assert.equal(status, c.status, what);
      const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } };
      const e = body.error;
      assert.ok(e !== undefined && typeof e.message === "string" && typeof e.type === "string", what);
      assert.ok(e.param === null || typeof e.param === "string", what);
      assert.ok(e.code === null || typeof e.code === "string", what);
      assert.ok(names(e.param as string | null, c.fields), `param ${String(e.param)} names none of ${c.fields.join(", ")}: ${what}`);
      assert.ok(!/\n\s+at /.test(e.message) && !/\/(home|tmp|root|usr)\//.test(text), `a stack or a path leaked: ${what}`);
    }
    const t0 = performance.now();
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(1_000) });
    assert.deepEqual(await health.json(), { status: "ok" });
    worstHealthMs = Math.max(worstHealthMs, performance.now() - t0);
  }
  const ok = await fetch(`${server.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "alive?" }], max_tokens: 2 }) });
  assert.equal(ok.status, 200);
  assert.equal(server.runtime.runningCount, 0);
  t.diagnostic(`400 bodies: ${[...statuses].map(([s, n]) => `${n}×${s}`).join(", ")}; slowest /health after a batch ${worstHealthMs.toFixed(0)} ms`);
});
