/**
 * Issue 16: what one request may ask of the server. Invalid parameters are 400s before any stream
 * starts; a completions request counts every sequence against admission; a huge prompt is refused
 * by a cheap bound and tokenized in slices, so `/health` keeps answering; 405s, 429s with
 * `Retry-After`, one metrics label for unknown routes, decimal `logit_bias` keys, the `developer` role;
 * schemas, bodies and chat templates within bounds, and no local path in an error.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { healthWhile, startServer, type RunningServer } from "./test-server.js";

let server: RunningServer;
let base: string;

before(async () => {
  server = await startServer(completeModelDir("qwen3-dense-tiny"), { maxRunning: 8, maxWaiting: 8 });
  base = server.url.replace(/\/v1$/, "");
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

async function post(path: string, body: unknown): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const errorOf = (text: string): ErrorBody["error"] => (JSON.parse(text) as ErrorBody).error;
const user = (content: string) => [{ role: "user", content }];

const health = <T>(work: Promise<T>) => healthWhile(base, () => work);

describe("parameters are checked before a stream starts", () => {
  test("invalid sampling parameters, seeds and stop strings: the same 400 streamed or not, naming the parameter", async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ top_p: 0 }, "top_p"],
      [{ top_p: 1.5 }, "top_p"],
      [{ seed: -1 }, "seed"],
      [{ stop: [""] }, "stop[0]"],
      [{ stop: "" }, "stop"],
      [{ temperature: -0.5 }, "temperature"],
      [{ top_k: -3 }, "top_k"],
      [{ min_p: 2 }, "min_p"],
      [{ repetition_penalty: 0 }, "repetition_penalty"],
      [{ temperature: "hot" }, "temperature"],
    ];
    for (const [extra, param] of bad) {
      for (const stream of [false, true]) {
        const r = await post("/chat/completions", { messages: user("x"), max_tokens: 2, stream, ...extra });
        assert.equal(r.status, 400, `${JSON.stringify(extra)} stream=${stream}: ${r.text}`);
        assert.match(r.headers.get("content-type") ?? "", /application\/json/, "a JSON error, not an event stream");
        assert.equal(errorOf(r.text).param, param, r.text);
        const c = await post("/completions", { prompt: "x", max_tokens: 2, stream, ...extra });
        assert.equal(c.status, 400, `completions ${JSON.stringify(extra)}: ${c.text}`);
        assert.equal(errorOf(c.text).param, param);
      }
    }
  });

  test("logit_bias keys must be decimal token ids; each bad key is named", async () => {
    for (const key of ["0x10", "1e3", "", "__proto__", "-1", "01", " 7", "151936"]) {
      const r = await post("/chat/completions", { messages: user("x"), max_tokens: 1, logit_bias: JSON.parse(`{${JSON.stringify(key)}: 1}`) as unknown });
      assert.equal(r.status, 400, `${JSON.stringify(key)}: ${r.text}`);
      assert.equal(errorOf(r.text).param, `logit_bias.${key}`);
    }
    const big = await post("/chat/completions", { messages: user("x"), max_tokens: 1, logit_bias: { "42": 101 } });
    assert.equal(errorOf(big.text).param, "logit_bias.42");
    const ok = await post("/chat/completions", { messages: user("x"), max_tokens: 1, logit_bias: { "42": -100, "0": 5 } });
    assert.equal(ok.status, 200, ok.text);
  });

  test("the developer role is OpenAI's name for system", async () => {
    const ids = async (role: string) => {
      const r = await post("/chat/completions", { messages: [{ role, content: "Be brief." }, ...user("Hi")], max_tokens: 1, return_token_ids: true });
      assert.equal(r.status, 200, r.text);
      return (JSON.parse(r.text) as { prompt_token_ids: number[] }).prompt_token_ids;
    };
    assert.deepEqual(await ids("developer"), await ids("system"));
  });
});

describe("admission counts sequences", () => {
  test("completions: a prompt array or prompts × n past the limits is a 400 naming it, before any work", async () => {
    const t0 = performance.now();
    const many = await post("/completions", { prompt: Array.from({ length: 160 }, (_, i) => `prompt ${i}`), n: 16, max_tokens: 4 });
    assert.equal(many.status, 400, many.text);
    assert.equal(errorOf(many.text).param, "prompt");
    const product = await post("/completions", { prompt: ["a", "b", "c"], n: 3, max_tokens: 4 });
    assert.equal(product.status, 400, product.text);
    assert.equal(errorOf(product.text).code, "too_many_sequences");
    assert.match(errorOf(product.text).message, /9 sequences at once; this server runs at most 8/);
    const n = await post("/chat/completions", { messages: user("x"), n: 9, max_tokens: 1 });
    assert.equal(errorOf(n.text).param, "n");
    assert.ok(performance.now() - t0 < 5_000);
    const fits = await post("/completions", { prompt: ["a", "b"], n: 4, max_tokens: 2, temperature: 1, seed: 1 });
    assert.equal(fits.status, 200, fits.text);
    assert.equal((JSON.parse(fits.text) as { choices: unknown[] }).choices.length, 8);
  });

  test("a flood of full-width requests: all answered (200 or 429 with Retry-After), RSS bounded, others served", { timeout: 300_000 }, async (t) => {
    const rss0 = process.memoryUsage().rss;
    const flood = Array.from({ length: 40 }, (_, i) => post("/completions", { prompt: [`flood ${i} a`, `flood ${i} b`], n: 4, max_tokens: 6, temperature: 1, seed: i }));
    const { result, worstMs } = await health(
      (async () => {
        const chat = await post("/chat/completions", { messages: user("still served?"), max_tokens: 2 });
        return { answers: await Promise.all(flood), chat };
      })(),
    );
    const statuses = result.answers.map((a) => a.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429), statuses.join(","));
    assert.ok(statuses.filter((s) => s === 200).length >= 8, statuses.join(","));
    for (const a of result.answers.filter((x) => x.status === 429)) assert.equal(a.headers.get("retry-after"), "2");
    assert.ok(result.chat.status === 200 || result.chat.status === 429, result.chat.text);
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
    t.diagnostic(`RSS grew ${grew.toFixed(0)} MiB; slowest /health ${worstMs.toFixed(0)} ms; ${statuses.filter((s) => s === 429).length} of 40 refused with 429`);
    assert.ok(grew < 512, `RSS grew ${grew.toFixed(0)} MiB`);
    assert.ok(worstMs < 5_000, `/health took ${worstMs.toFixed(0)} ms during the flood`);
    assert.equal(server.runtime.runningCount, 0);
    assert.equal(server.runtime.waitingCount, 0);
  });
});

describe("a huge prompt does not freeze the server", () => {
  test("10 MB of content: refused by the byte bound before tokenizing, /health answering meanwhile", { timeout: 120_000 }, async () => {
    const content = "lorem ipsum dolor sit amet ".repeat(400_000); // 10.8 MB
    const { result, worstMs } = await health(post("/chat/completions", { messages: user(content), max_tokens: 4 }));
    assert.equal(result.status, 400, result.text.slice(0, 300));
    assert.equal(errorOf(result.text).code, "context_length_exceeded");
    assert.match(errorOf(result.text).message, /hold 10800\d* bytes of text/);
    assert.ok(worstMs < 1_000, `/health took ${worstMs.toFixed(0)} ms`);
  });

  test("4 MB under the byte bound: tokenized in slices, stopped past the context, /health answering meanwhile", { timeout: 120_000 }, async () => {
    const content = "lorem ipsum dolor sit amet ".repeat(150_000); // 4 MB, about 750K tokens
    for (const [path, body] of [
      ["/chat/completions", { messages: user(content), max_tokens: 4, stream: true }],
      ["/completions", { prompt: content, max_tokens: 4 }],
    ] as const) {
      const { result, worstMs, polls } = await health(post(path, body));
      assert.equal(result.status, 400, result.text.slice(0, 300));
      assert.match(errorOf(result.text).message, /maximum context length is 40960 tokens\. However, you requested at least \d+ tokens/);
      assert.ok(worstMs < 1_000, `${path}: /health took ${worstMs.toFixed(0)} ms over ${polls} polls`);
    }
  });
});

describe("routes, methods and metrics", () => {
  test("wrong methods are 405 with Allow; unknown routes 404; metrics label them all 'other'", async () => {
    const get = await fetch(`${server.url}/chat/completions`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    assert.equal(((await get.json()) as ErrorBody).error.code, "method_not_allowed");
    const del = await fetch(`${server.url}/models`, { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get("allow"), "GET, HEAD");
    const put = await fetch(`${server.url}/responses/resp_abc`, { method: "PUT" });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get("allow"), "GET, HEAD, DELETE");
    for (let i = 0; i < 50; i++) assert.equal((await fetch(`${server.url}/no-such-route-${i}`)).status, 404);
    for (let i = 0; i < 5; i++) await fetch(`${server.url}/responses/resp_missing_${i}`);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.ok(!metrics.includes("no-such-route") && !metrics.includes("resp_missing"), "no series per unknown path or id");
    assert.match(metrics, /qwenrt_requests_total\{endpoint="\/v1\/responses\/\{id\}",status="404"\} 5/);
    assert.match(metrics, /qwenrt_requests_total\{endpoint="other",status="404"\} (\d+)/);
    assert.match(metrics, /qwenrt_requests_total\{endpoint="\/v1\/chat\/completions",status="405"\} 1/);
  });

  test("a full queue is a 429 with Retry-After", { timeout: 120_000 }, async () => {
    const tight = await startServer(completeModelDir("qwen3-dense-tiny"), { maxRunning: 1, maxWaiting: 0 });
    try {
      const ac = new AbortController();
      const long = fetch(`${tight.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ messages: user("go"), max_tokens: 2000, ignore_eos: true, stream: true }),
        signal: ac.signal,
      });
      const res = await long;
      const reader = res.body!.getReader();
      await reader.read(); // the stream started: the one slot is taken
      const busy = await fetch(`${tight.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: user("x"), max_tokens: 1 }) });
      assert.equal(busy.status, 429);
      assert.equal(busy.headers.get("retry-after"), "2");
      assert.equal(((await busy.json()) as ErrorBody).error.code, "rate_limit_exceeded");
      ac.abort();
      await reader.cancel().catch(() => undefined);
    } finally {
      await tight.close();
      tight.runtime.model.backend.dispose();
    }
  });
});

describe("schemas, bodies and templates within bounds", () => {
  const nest = (levels: number): Record<string, unknown> => {
    let s: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < levels; i++) s = { type: "object", properties: { a: s }, required: ["a"] };
    return s;
  };

  test("json_schema nested 1,000 levels or with 200k properties: a 400 naming the limit, not a 500", async () => {
    const fmt = (schema: unknown) => ({ type: "json_schema", json_schema: { name: "x", schema } });
    // Built first: on a busy machine building it takes seconds, and a kept-alive connection idle that
    // long meets the server's keep-alive timeout as the next request reuses it (ECONNRESET).
    const wide = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`p${i}`, { type: "integer" }]));
    const wideBody = JSON.stringify({ messages: user("x"), max_tokens: 1, response_format: fmt({ type: "object", properties: wide }) });
    const deep = await post("/chat/completions", { messages: user("x"), max_tokens: 1, response_format: fmt(nest(1_000)) });
    assert.equal(deep.status, 400, deep.text.slice(0, 300));
    assert.equal(errorOf(deep.text).param, "response_format");
    assert.match(errorOf(deep.text).message, /deeper than the 128 levels/);
    const deep50 = await post("/chat/completions", { messages: user("x"), max_tokens: 1, response_format: fmt(nest(50)) }); // 101 JSON levels
    assert.equal(deep50.status, 400, deep50.text.slice(0, 300));
    assert.equal(errorOf(deep50.text).param, "response_format.json_schema.schema");
    assert.match(errorOf(deep50.text).message, /deeper than 64 levels/);
    const wideRes = await fetch(`${server.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: wideBody });
    const big = { status: wideRes.status, text: await wideRes.text() };
    assert.equal(big.status, 400, big.text.slice(0, 300));
    assert.match(errorOf(big.text).message, /more than 20000 values/);
    const tool = await post("/chat/completions", {
      messages: user("x"),
      max_tokens: 1,
      tools: [{ type: "function", function: { name: "f", parameters: nest(40) } }],
      tool_choice: "required",
    });
    assert.equal(tool.status, 400, tool.text.slice(0, 300));
    assert.equal(errorOf(tool.text).param, "tools[0].function.parameters");
    const deepText = `{"messages": [{"role": "user", "content": "x"}], "metadata": ${"[".repeat(5_000)}${"]".repeat(5_000)}}`; // too deep for JSON.stringify
    const res = await fetch(`${server.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: deepText });
    const body = { status: res.status, text: await res.text() };
    assert.equal(body.status, 400, body.text);
    assert.equal(errorOf(body.text).param, "metadata");
    const ok = await post("/chat/completions", { messages: user("x"), max_tokens: 1, response_format: fmt(nest(10)) });
    assert.equal(ok.status, 200, ok.text.slice(0, 300));
  });

  test("a chat template that loops is a 500 within its time limit, naming no local path; one that refuses is a 400 on messages", { timeout: 120_000 }, async () => {
    const dir = completeModelDir("qwen3-dense-tiny");
    const cfgPath = join(dir, "tokenizer_config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>;
    const loop = "{% set ns = namespace(s='x') %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: `{% if messages[0].content == 'loop' %}${loop}{% elif messages[0].content == 'refuse' %}{{ raise_exception('roles must alternate') }}{% endif %}${String(cfg.chat_template)}` }));
    const hostile = await startServer(dir, {});
    try {
      const t0 = performance.now();
      const res = await fetch(`${hostile.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: user("loop"), max_tokens: 1 }) });
      const text = await res.text();
      assert.equal(res.status, 500, text);
      assert.ok(performance.now() - t0 < 30_000, `answered after ${performance.now() - t0} ms`);
      assert.equal(errorOf(text).code, "template_limit");
      assert.ok(!text.includes(dir) && !text.includes("/tmp/"), text);
      const refused = await fetch(`${hostile.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: user("refuse"), max_tokens: 1 }) });
      const r = await refused.text();
      assert.equal(refused.status, 400, r);
      assert.equal(errorOf(r).param, "messages");
      assert.match(errorOf(r).message, /roles must alternate/);
      assert.ok(!r.includes(dir), r);
      const fine = await fetch(`${hostile.url}/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: user("hello"), max_tokens: 1 }) });
      assert.equal(fine.status, 200);
    } finally {
      await hostile.close();
      hostile.runtime.model.backend.dispose();
    }
  });
});
