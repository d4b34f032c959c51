// The harness both `serve --guard` tests share: the fixture chat model served with a guard built by
// the caller (or none), closed after the file's tests, and a streamed chat request read back whole.
import { after } from "node:test";
import OpenAI from "openai";
import type { Guardrail } from "../../src/server/guardrail.js";
import { startServer, type RunningServer } from "../../src/server/test-server.js";
import { completeModelDir } from "./complete-model.js";

const servers: RunningServer[] = [];
let chatDir: string | undefined;

after(async () => {
  for (const s of servers) {
    await s.close();
    s.runtime.model.backend.dispose();
    s.runtime.opts.guard?.model.backend.dispose();
  }
});

/** A server of the fixture chat model (qwen3-dense-tiny) behind `guard`, and an `openai` client for it. */
export async function serveGuarded(guard: Guardrail | undefined): Promise<{ server: RunningServer; client: OpenAI }> {
  chatDir ??= completeModelDir("qwen3-dense-tiny");
  const server = await startServer(chatDir, guard === undefined ? {} : { guard });
  servers.push(server);
  return { server, client: new OpenAI({ baseURL: server.url, apiKey: "unused", maxRetries: 0, timeout: 60_000 }) };
}

/** A greedy, non-thinking chat request saying "Hello", answering up to `maxTokens` tokens. */
export function helloRequest(maxTokens: number): OpenAI.ChatCompletionCreateParamsNonStreaming {
  return {
    model: "test-model",
    messages: [{ role: "user", content: "Hello" }],
    max_tokens: maxTokens,
    temperature: 0,
    chat_template_kwargs: { enable_thinking: false },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming;
}

/** Stream `request`: its non-empty content deltas and the last finish_reason. */
export async function streamed(client: OpenAI, request: OpenAI.ChatCompletionCreateParamsNonStreaming): Promise<{ content: string[]; finish: string | null }> {
  const stream = await client.chat.completions.create({ ...request, stream: true });
  const content: string[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (c === undefined) continue;
    if (typeof c.delta.content === "string" && c.delta.content !== "") content.push(c.delta.content);
    finish = c.finish_reason ?? finish;
  }
  return { content, finish };
}
