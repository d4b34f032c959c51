/**
 * The machinery both streamed guards share (guarded-chat.ts judges the answer every few chunks,
 * stream-guarded-chat.ts token by token): per-choice state, judging queued in order off the
 * generation loop (a failure stops generation and is rethrown), the usage chunk held behind every
 * judged chunk under `block`, and stopping every unfinished choice with `finish_reason:
 * "content_filter"` when the guard says so.
 */
import type { ChatPlan } from "./chat-plan.js";
import { streamChat } from "./chat.js";
import type { Runtime } from "./runtime.js";

export type Chunk = Record<string, unknown>;
export interface ChoiceChunk {
  index: number;
  delta: { content?: unknown };
  finish_reason: string | null;
}

/** What every screened choice keeps: its answer so far and whether it has ended. */
export interface ScreenedChoice {
  answer: string;
  finished: boolean;
}

/**
 * One screened streaming request.
 *
 * @example
 * const s = new ScreenedStream(plan, send, true, () => ({ answer: "", finished: false }));
 * await s.run(rt, signal, (chunk, c, st) => s.later(async () => { … }));
 */
export class ScreenedStream<S extends ScreenedChoice> {
  /** Aborted when the client goes, when the guard stops the answer, or when judging fails. */
  readonly inner = new AbortController();
  private readonly states = new Map<number, S>();
  private blocked = false;
  private failure: unknown;
  private checks = Promise.resolve();

  constructor(
    private readonly plan: ChatPlan,
    private readonly send: (chunk: Chunk) => void,
    /** Hold chunks until judged (policy `block`), else they pass at once. */
    readonly block: boolean,
    private readonly newState: () => S,
  ) {}

  /** Whether judging should go on (nothing stopped or failed yet). */
  get live(): boolean {
    return !this.blocked && this.failure === undefined;
  }

  stateOf(i: number): S {
    let s = this.states.get(i);
    if (s === undefined) this.states.set(i, (s = this.newState()));
    return s;
  }

  /** Queue `work` after every earlier judgement; a failure stops generation. */
  later(work: () => Promise<void> | void): void {
    this.checks = this.checks.then(work).catch((e: unknown) => {
      this.failure ??= e;
      this.inner.abort(e);
    });
  }

  /** Send `chunk` now (a judged, released chunk). */
  emit(chunk: Chunk): void {
    this.send(chunk);
  }

  /** The guard stopped choice `index`: end it and every unfinished choice with content_filter. */
  stop(base: Chunk, index: number): void {
    this.blocked = true;
    for (let i = 0; i < this.plan.n; i++) {
      if (i !== index && this.stateOf(i).finished) continue;
      this.send({ ...base, choices: [{ index: i, delta: {}, logprobs: null, finish_reason: "content_filter" }] });
    }
    this.inner.abort(new Error("the guard stopped this answer (content_filter)"));
  }

  /**
   * Generate, calling `onChoice` for each choice chunk (its text already added to the answer);
   * waits for every queued judgement, then `cleanup`, and rethrows a judging failure.
   */
  async run(rt: Runtime, signal: AbortSignal, onChoice: (chunk: Chunk, c: ChoiceChunk, s: S) => void, cleanup?: (states: Iterable<S>) => void): Promise<void> {
    const onAbort = (): void => this.inner.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const onChunk = (chunk: Chunk): void => {
      if (this.blocked) return;
      const choices = chunk.choices as ChoiceChunk[];
      if (choices.length !== 1) {
        // The usage chunk: after every judged chunk.
        if (this.block) this.later(() => (this.blocked ? undefined : this.send(chunk)));
        else this.send(chunk);
        return;
      }
      const c = choices[0]!;
      const s = this.stateOf(c.index);
      if (typeof c.delta.content === "string") s.answer += c.delta.content;
      onChoice(chunk, c, s);
    };
    try {
      await streamChat(rt, this.plan, rt.opts.modelId, this.inner.signal, onChunk);
    } catch (e) {
      if (this.live) throw e;
    } finally {
      signal.removeEventListener("abort", onAbort);
      await this.checks;
      cleanup?.(this.states.values());
    }
    if (this.failure !== undefined) throw this.failure;
  }
}
