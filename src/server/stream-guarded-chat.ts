/**
 * A streamed chat answer behind a Qwen3Guard-Stream guard: every chunk's text is judged token by
 * token (one guard cache per choice, `StreamModeration.pushText`) before the chunk is sent. Under
 * `block` the first Unsafe token stops generation and ends each unfinished choice with
 * `finish_reason: "content_filter"`, so no text the guard flagged reaches the client; under `flag`
 * chunks pass at once and the verdicts are only counted. One verdict per answer is counted: its
 * first Unsafe token's, else its closing token's.
 */
import type { GuardMessage } from "../chat/guard.js";
import type { StreamModeration } from "../engine/guard-stream.js";
import type { ChatPlan } from "./chat-plan.js";
import { streamChat } from "./chat.js";
import type { Guardrail } from "./guardrail.js";
import type { Runtime } from "./runtime.js";

type Chunk = Record<string, unknown>;
interface ChoiceChunk {
  index: number;
  delta: { content?: unknown };
  finish_reason: string | null;
}

interface ChoiceState {
  answer: string;
  moderation?: StreamModeration;
  finished: boolean;
}

/** Stream `plan`'s answer through `send`, judged by the Stream guard `guard` (`guard.stream` set). */
export async function streamGuardedChat(rt: Runtime, plan: ChatPlan, guard: Guardrail, conversation: readonly GuardMessage[], signal: AbortSignal, send: (chunk: Chunk) => void): Promise<void> {
  const block = guard.policy === "block";
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  const states = new Map<number, ChoiceState>();
  const stateOf = (i: number): ChoiceState => {
    let s = states.get(i);
    if (s === undefined) states.set(i, (s = { answer: "", finished: false }));
    return s;
  };
  let blocked = false;
  let failure: unknown;
  let checks = Promise.resolve();
  // Judging runs in order, off the generation loop; a failure stops generation and is rethrown.
  const later = (work: () => Promise<void> | void): void => {
    checks = checks.then(work).catch((e: unknown) => {
      failure ??= e;
      inner.abort(e);
    });
  };
  const judge = (chunk: Chunk, c: ChoiceChunk, s: ChoiceState): void => {
    const answer = s.answer;
    const finished = c.finish_reason !== null;
    later(async () => {
      if (blocked || failure !== undefined || s.finished) return;
      const m = (s.moderation ??= await guard.openAnswer(conversation, inner.signal));
      if (m === undefined) throw new Error("internal: streamGuardedChat needs a Stream guard");
      await m.pushText(answer);
      if (finished) await m.end();
      const unsafe = m.firstUnsafe();
      if (unsafe !== undefined && !s.finished) {
        s.finished = true;
        guard.count("response", "Unsafe");
        if (guard.stops({ target: "response", safety: "Unsafe" })) {
          blocked = true;
          for (let i = 0; i < plan.n; i++) {
            if (i !== c.index && stateOf(i).finished) continue;
            send({ ...chunk, choices: [{ index: i, delta: {}, logprobs: null, finish_reason: "content_filter" }] });
          }
          inner.abort(new Error("the guard stopped this answer (content_filter)"));
          return;
        }
      } else if (finished && !s.finished) {
        s.finished = true;
        guard.count("response", m.verdicts[m.verdicts.length - 1]!.safety);
      }
      if (block) send(chunk);
    });
  };
  const onChunk = (chunk: Chunk): void => {
    if (blocked) return;
    const choices = chunk.choices as ChoiceChunk[];
    if (choices.length !== 1) {
      // The usage chunk: after every judged chunk.
      if (block) later(() => (blocked ? undefined : send(chunk)));
      else send(chunk);
      return;
    }
    const c = choices[0]!;
    const s = stateOf(c.index);
    if (typeof c.delta.content === "string") s.answer += c.delta.content;
    if (!block) send(chunk);
    judge(chunk, c, s);
  };
  try {
    await streamChat(rt, plan, rt.opts.modelId, inner.signal, onChunk);
  } catch (e) {
    if (!blocked && failure === undefined) throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
    await checks;
    for (const s of states.values()) s.moderation?.close();
  }
  if (failure !== undefined) throw failure;
}
