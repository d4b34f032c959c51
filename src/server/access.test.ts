/**
 * Issue 16, item 5 and the connection timeouts: Bearer auth on `/v1/*` (the official `openai` client
 * with and without the key), `/health` open, browser protection (a cross-origin `text/plain` POST is
 * refused, preflight answered for allowed origins only, DNS-rebinding `Host` refused), and idle or
 * half-sent connections closed.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { completeModelDir } from "../../test/helpers/complete-model.js";
import { startServer, type RunningServer } from "./test-server.js";

const KEY = "sk-test-0123456789";
let server: RunningServer;
let base: string;
let port: number;

before(async () => {
  server = await startServer(completeModelDir("qwen3-dense-tiny"), { apiKey: KEY, corsOrigins: ["https://app.example"], headersTimeoutMs: 1_000, keepAliveTimeoutMs: 500 });
  base = server.url.replace(/\/v1$/, "");
  port = Number(new URL(base).port);
});
after(async () => {
  await server.close();
  server.runtime.model.backend.dispose();
});

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

/** A raw request with any headers (fetch may not set Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("Bearer auth", () => {
  test("the openai client with the key works; without it or with a wrong one it gets OpenAI's 401", async () => {
    const good = new OpenAI({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
    const r = await good.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    assert.equal(r.choices.length, 1);
    assert.deepEqual((await good.models.list()).data.map((m) => m.id), ["test-model"]);
    for (const apiKey of ["sk-wrong", `${KEY}x`]) {
      const bad = new OpenAI({ baseURL: server.url, apiKey, maxRetries: 0 });
      await assert.rejects(bad.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }), (e: unknown) => {
        assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
        assert.equal(e.status, 401);
        assert.equal(e.code, "invalid_api_key");
        assert.equal(e.type, "invalid_request_error");
        return true;
      });
    }
    const none = await fetch(`${server.url}/models`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), "Bearer");
    assert.match(((await none.json()) as ErrorBody).error.message, /didn't provide an API key/);
  });

  test("/health and /metrics need no key", async () => {
    assert.deepEqual(await (await fetch(`${base}/health`)).json(), { status: "ok" });
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
  });
});

describe("browser protection", () => {
  const auth = { authorization: `Bearer ${KEY}` };
  const chat = JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 1 });

  test("a page on another origin cannot POST, even a 'simple' text/plain request, even with the key", async () => {
    const evil = await raw("POST", "/v1/chat/completions", { origin: "https://evil.example", "content-type": "text/plain", ...auth }, chat);
    assert.equal(evil.status, 403);
    assert.equal((JSON.parse(evil.text) as ErrorBody).error.code, "forbidden_origin");
    assert.equal(evil.headers["access-control-allow-origin"], undefined);
    const plain = await raw("POST", "/v1/chat/completions", { "content-type": "text/plain", ...auth }, chat);
    assert.equal(plain.status, 415, "no JSON body without a JSON content type");
    assert.equal((JSON.parse(plain.text) as ErrorBody).error.code, "unsupported_media_type");
    const form = await raw("POST", "/v1/completions", { "content-type": "application/x-www-form-urlencoded", ...auth }, "prompt=hi");
    assert.equal(form.status, 415);
  });

  test("CORS: preflight and responses for an allowed origin and for local pages; other origins refused", async () => {
    for (const origin of ["https://app.example", "http://localhost:5173", "http://127.0.0.1:3000"]) {
      const pre = await raw("OPTIONS", "/v1/chat/completions", { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" });
      assert.equal(pre.status, 204, origin);
      assert.equal(pre.headers["access-control-allow-origin"], origin);
      assert.match(String(pre.headers["access-control-allow-methods"]), /POST/);
      assert.match(String(pre.headers["access-control-allow-headers"]), /authorization/);
      const post = await raw("POST", "/v1/chat/completions", { origin, "content-type": "application/json", ...auth }, chat);
      assert.equal(post.status, 200, post.text);
      assert.equal(post.headers["access-control-allow-origin"], origin);
    }
    const pre = await raw("OPTIONS", "/v1/chat/completions", { origin: "https://evil.example", "access-control-request-method": "POST" });
    assert.equal(pre.status, 403);
  });

  test("a loopback server refuses a Host that is not a loopback name (DNS rebinding)", async () => {
    const rebound = await raw("GET", "/health", { host: "attacker.example:8000" });
    assert.equal(rebound.status, 403);
    assert.equal((JSON.parse(rebound.text) as ErrorBody).error.code, "forbidden_host");
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) assert.equal((await raw("GET", "/health", { host })).status, 200, host);
  });
});

describe("connection timeouts", () => {
  /** Open a raw connection, send `bytes`, and resolve with the ms until the server closes it. */
  function closedAfter(bytes: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const s = connect(port, "127.0.0.1", () => s.write(bytes));
      s.on("data", () => undefined);
      s.on("error", () => undefined);
      s.on("close", () => resolve(performance.now() - t0));
      setTimeout(() => {
        s.destroy();
        reject(new Error("the server kept the connection open for 20 s"));
      }, 20_000);
    });
  }

  test("a connection that sends nothing, or half its headers, is closed after the header timeout", async () => {
    const [silent, half] = await Promise.all([closedAfter(""), closedAfter("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-")]);
    assert.ok(silent < 5_000, `idle connection closed after ${silent.toFixed(0)} ms`);
    assert.ok(half < 5_000, `half-sent headers closed after ${half.toFixed(0)} ms`);
  });

  test("a kept-alive connection idle after its request is closed after the keep-alive timeout", async () => {
    const ms = await closedAfter("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.ok(ms < 3_000, `closed after ${ms.toFixed(0)} ms`);
  });
});
