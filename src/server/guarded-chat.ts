/**
 * Chat completions behind a guard. Streaming: content is held back and released only after the
 * guard has judged the answer so far (every `CHECK_EVERY` content chunks and at the end); an unsafe
 * verdict under the `block` policy stops generation and ends each choice with `finish_reason:
 * "content_filter"`, as OpenAI does, so unsafe text never reaches the client. Under `flag` chunks
 * pass at once and verdicts are only counted. A Stream guard judges every token instead
 * (stream-guarded-chat.ts). Without a guard this is plain `completeChat` / `streamChat`.
 */
import type { GuardMessage } from "../chat/guard.js";
import type { ChatPlan } from "./chat-plan.js";
import { completeChat, streamChat } from "./chat.js";
import { streamGuardedChat } from "./stream-guarded-chat.js";
import type { Runtime } from "./runtime.js";
import { ScreenedStream, type Chunk, type ScreenedChoice } from "./screened-stream.js";

/** Content chunks (about tokens) generated between two checks of a streamed answer. */
export const CHECK_EVERY = 16;

interface ChoiceState extends ScreenedChoice {
  held: Chunk[];
  sinceCheck: number;
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
  if (guard.stream !== undefined) {
    await streamGuardedChat(rt, plan, guard, conversation, signal, send);
    return undefined;
  }

  const screen = new ScreenedStream<ChoiceState>(plan, send, guard.policy === "block", () => ({ answer: "", held: [], sinceCheck: 0, finished: false }));
  const check = (index: number): void => {
    const s = screen.stateOf(index);
    const answer = s.answer;
    const release = s.held.splice(0);
    s.sinceCheck = 0;
    screen.later(async () => {
      if (!screen.live) return;
      const v = await guard.check([...conversation, { role: "assistant", content: answer }], screen.inner.signal);
      if (guard.stops(v)) return screen.stop(release[0] ?? {}, index);
      for (const c of release) screen.emit(c);
    });
  };
  await screen.run(rt, signal, (chunk, c, s) => {
    if (screen.block) s.held.push(chunk);
    else screen.emit(chunk);
    if (typeof c.delta.content === "string" && c.delta.content !== "") s.sinceCheck++;
    if (c.finish_reason !== null) {
      s.finished = true;
      check(c.index);
    } else if (s.sinceCheck >= CHECK_EVERY) check(c.index);
  });
  return undefined;
}
