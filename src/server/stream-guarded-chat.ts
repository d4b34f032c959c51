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
import type { Guardrail } from "./guardrail.js";
import type { Runtime } from "./runtime.js";
import { ScreenedStream, type ChoiceChunk, type Chunk, type ScreenedChoice } from "./screened-stream.js";

interface ChoiceState extends ScreenedChoice {
  moderation?: StreamModeration;
}

/** Stream `plan`'s answer through `send`, judged by the Stream guard `guard` (`guard.stream` set). */
export async function streamGuardedChat(rt: Runtime, plan: ChatPlan, guard: Guardrail, conversation: readonly GuardMessage[], signal: AbortSignal, send: (chunk: Chunk) => void): Promise<void> {
  const screen = new ScreenedStream<ChoiceState>(plan, send, guard.policy === "block", () => ({ answer: "", finished: false }));
  const judge = (chunk: Chunk, c: ChoiceChunk, s: ChoiceState): void => {
    const answer = s.answer;
    const finished = c.finish_reason !== null;
    screen.later(async () => {
      if (!screen.live || s.finished) return;
      const m = (s.moderation ??= await guard.openAnswer(conversation, screen.inner.signal));
      if (m === undefined) throw new Error("internal: streamGuardedChat needs a Stream guard");
      await m.pushText(answer);
      if (finished) await m.end();
      const unsafe = m.firstUnsafe();
      if (unsafe !== undefined && !s.finished) {
        s.finished = true;
        guard.count("response", "Unsafe");
        if (guard.stops({ target: "response", safety: "Unsafe" })) return screen.stop(chunk, c.index);
      } else if (finished && !s.finished) {
        s.finished = true;
        guard.count("response", m.verdicts[m.verdicts.length - 1]!.safety);
      }
      if (screen.block) screen.emit(chunk);
    });
  };
  await screen.run(
    rt,
    signal,
    (chunk, c, s) => {
      if (!screen.block) screen.emit(chunk);
      judge(chunk, c, s);
    },
    (states) => {
      for (const s of states) s.moderation?.close();
    },
  );
}
