/**
 * Chat completions behind a guard. Streaming: content is held back and released only after the
 * guard has judged the answer so far (every `CHECK_EVERY` content chunks and at the end); an unsafe
 * verdict under the `block` policy stops generation and ends each choice with `finish_reason:
 * "content_filter"`, as OpenAI does, so unsafe text never reaches the client. Under `flag` chunks
 * pass at once and verdicts are only counted. Without a guard this is plain `completeChat` /
 * `streamChat`.
 */
import type { GuardMessage } from "../chat/guard.js";
import type { ChatPlan } from "./chat-plan.js";
import { completeChat, streamChat } from "./chat.js";
import type { Runtime } from "./runtime.js";

/** Content chunks (about tokens) generated between two checks of a streamed answer. */
export const CHECK_EVERY = 16;

type Chunk = Record<string, unknown>;
interface ChoiceChunk {
  index: number;
  delta: { content?: unknown };
  finish_reason: string | null;
}

interface ChoiceState {
  answer: string;
  held: Chunk[];
  sinceCheck: number;
  finished: boolean;
}

/** Run a planned chat request (`send` given: streaming), screening its answers with `rt.opts.guard`. */
export async function guardedChat(rt: Runtime, plan: ChatPlan, conversation: readonly GuardMessage[], signal: AbortSignal, send?: (chunk: Chunk) => void): Promise<Chunk | undefined> {
  const guard = rt.opts.guard;
  const modelId = rt.opts.modelId;
  if (send === undefined) {
    const body = await completeChat(rt, plan, modelId, signal);
    if (guard === undefined) return body;
    for (const choice of body.choices as { message: { content: string | null }; finish_reason: string }[]) {
      if (choice.message.content === null || choice.message.content === "") continue;
      const v = await guard.check([...conversation, { role: "assistant", content: choice.message.content }], signal);
      if (guard.stops(v)) {
        choice.message.content = "";
        choice.finish_reason = "content_filter";
      }
    }
    return body;
  }
  if (guard === undefined) {
    await streamChat(rt, plan, modelId, signal, send);
    return undefined;
  }

  const block = guard.policy === "block";
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const states = new Map<number, ChoiceState>();
  const stateOf = (i: number): ChoiceState => {
    let s = states.get(i);
    if (s === undefined) states.set(i, (s = { answer: "", held: [], sinceCheck: 0, finished: false }));
    return s;
  };
  let blocked = false;
  let failure: unknown;
  let checks = Promise.resolve();
  const later = (work: () => Promise<void> | void): void => {
    checks = checks.then(work).catch((e: unknown) => {
      failure ??= e;
      inner.abort(e);
    });
  };
  const check = (index: number): void => {
    const s = stateOf(index);
    const answer = s.answer;
    const release = s.held.splice(0);
    s.sinceCheck = 0;
    later(async () => {
      if (blocked || failure !== undefined) return;
      const v = await guard.check([...conversation, { role: "assistant", content: answer }], inner.signal);
      if (guard.stops(v)) {
        blocked = true;
        const base = release[0] ?? {};
        for (const i of Array.from({ length: plan.n }, (_, k) => k)) {
          if (stateOf(i).finished && i !== index) continue;
          send({ ...base, choices: [{ index: i, delta: {}, logprobs: null, finish_reason: "content_filter" }] });
        }
        inner.abort(new Error("the guard stopped this answer (content_filter)"));
        return;
      }
      for (const c of release) send(c);
    });
  };
  const onChunk = (chunk: Chunk): void => {
    if (blocked) return;
    const choices = chunk.choices as ChoiceChunk[];
    if (choices.length !== 1) {
      // The usage chunk: after every held chunk.
      if (block) later(() => (blocked ? undefined : send(chunk)));
      else send(chunk);
      return;
    }
    const c = choices[0]!;
    const s = stateOf(c.index);
    if (block) s.held.push(chunk);
    else send(chunk);
    if (typeof c.delta.content === "string" && c.delta.content !== "") {
      s.answer += c.delta.content;
      s.sinceCheck++;
    }
    if (c.finish_reason !== null) {
      s.finished = true;
      check(c.index);
    } else if (s.sinceCheck >= CHECK_EVERY) check(c.index);
  };
  try {
    await streamChat(rt, plan, modelId, inner.signal, onChunk);
  } catch (e) {
    if (!blocked && failure === undefined) throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  await checks;
  if (failure !== undefined) throw failure;
  return undefined;
}
