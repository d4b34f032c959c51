/**
 * What the server serves: one model behind the engine's turn pipeline (its batching engine loop,
 * prefix cache shared by all requests, grammar cache), its tokenizer and chat template, admission
 * control (sequences running, requests waiting), the cheap bounds checked before admission, a stop
 * signal for shutdown, and counters. HTTP handlers only call `runTurn` / `run` and stream what they
 * report.
 */
import type { GenerateOptions, GenerateResult, GenerateStep } from "../engine/generate.js";
import { TurnRunner, type PreparedTurn, type TurnGenerateOptions, type TurnOutcome, type TurnStep } from "../engine/turn.js";
import type { ChatTemplate } from "../chat/template.js";
import type { Model, Sequence } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { QwenrtError } from "../util/errors.js";
import { ApiError } from "./errors.js";
import type { Guardrail } from "./guardrail.js";

/** Server settings (CLI flags). */
export interface ServeOptions {
  /** Model id shown by `/v1/models` and accepted in requests. */
  readonly modelId: string;
  /** Sequences generating at once; more wait in the queue. */
  readonly maxRunning?: number;
  /** Requests allowed to wait; past that → 429. */
  readonly maxWaiting?: number;
  /** Context window (default: the model's `max_position_embeddings`). */
  readonly contextLength?: number;
  /** Tokens the prefix cache may hold. */
  readonly prefixCacheTokens?: number;
  /** Default thinking budget for requests that do not set one. */
  readonly thinkingBudget?: number;
  /** Largest model step in tokens (prefill chunks of concurrent requests share it). */
  readonly maxBatchTokens?: number;
  /** Prompt tokens per model step of one request (default 256): smaller keeps `/health` and other
   * streams responsive during a long prompt (a step's attention grows with the context), at some
   * prefill speed. */
  readonly prefillChunk?: number;
  /** A Qwen3Guard-Gen model screening prompts and answers (`serve --guard`). */
  readonly guard?: Guardrail;
  /** Encode special-token text in message content as control tokens (the old, unsafe behaviour). */
  readonly allowSpecialInContent?: boolean;
  /** Scans the checkpoint for non-finite weights (`ModelSource.findNonFinite`): a model fault's
   * 500 then names the tensor. Run once, at the first fault. */
  readonly findNonFinite?: () => Promise<{ readonly tensor: string; readonly index: number; readonly value: number } | undefined>;
}

/** Prompts up to this many bytes skip the byte bound and are tokenized whole: that costs little. */
export const SMALL_PROMPT_BYTES = 64 * 1024;

/** Counters exported at `/metrics`. */
export interface Counters {
  requests: Map<string, number>; // "endpoint status" → count
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  aborted: number;
}


/** Default prefix-cache size: 1 GiB of KV (about 9,300 tokens for Qwen3-0.6B with an f16 cache,
 * 4,600 with f32), at least 1,024 tokens. */
export function defaultPrefixCacheTokens(model: Model): number {
  return Math.max(1024, Math.floor(2 ** 30 / model.kvBytesPerToken));
}

/** The outcome of one text completion. */
export interface ChoiceOutcome {
  readonly result: GenerateResult;
  /** Prompt tokens served from the prefix cache. */
  readonly cachedTokens: number;
}

/** A chat turn that ran to its end (a request whose client went away throws instead). */
export type FinishedTurn = TurnOutcome & { readonly finishReason: GenerateResult["finishReason"] };

/** A loaded, ready-to-serve model. */
export class Runtime {
  /** The turn pipeline; its engine loop and prefix cache are shared by every request. */
  readonly turns: TurnRunner<Sequence>;
  readonly contextLength: number;
  readonly counters: Counters = { requests: new Map(), promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, aborted: 0 };
  readonly created = Math.floor(Date.now() / 1000);
  /** Most sequences generating at once (`--max-running`); one request's `n` × prompts may not pass it. */
  readonly maxRunning: number;
  /** Bytes of the tokenizer's longest token: a prompt of more than context × this bytes cannot fit. */
  readonly maxTokenBytes: number;
  private running = 0;
  private readonly waiting: Array<{ readonly need: number; readonly wake: () => void }> = [];
  private readonly stopping = new AbortController();
  private weightFault: ReturnType<NonNullable<ServeOptions["findNonFinite"]>> | undefined;

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly template: ChatTemplate,
    readonly opts: ServeOptions,
  ) {
    this.turns = new TurnRunner(model, tokenizer, template, {
      prefixCacheTokens: opts.prefixCacheTokens ?? defaultPrefixCacheTokens(model),
      maxBatchTokens: opts.maxBatchTokens ?? 512,
      ...(opts.prefillChunk === undefined ? {} : { prefillChunk: opts.prefillChunk }),
      allowSpecialInContent: opts.allowSpecialInContent === true,
    });
    this.contextLength = Math.min(opts.contextLength ?? Infinity, model.contextLength);
    this.maxRunning = opts.maxRunning ?? 16;
    this.maxTokenBytes = tokenizer.maxTokenBytes;
  }

  /** Fires on shutdown: every request's generation stops (see `stop`). */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Stop serving: running and waiting requests are cancelled (their clients see the stream end). */
  stop(): void {
    this.stopping.abort(new ApiError(503, "server shutting down", "server_error", null, "shutting_down"));
  }

  /** The batching engine loop (its counters are exported at `/metrics`). */
  get engine(): TurnRunner<Sequence>["engine"] {
    return this.turns.engine;
  }

  get prefixCache(): TurnRunner<Sequence>["prefixCache"] {
    return this.turns.prefixCache;
  }

  get runningCount(): number {
    return this.running;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }
  /** Count a finished HTTP request for `/metrics`. */
  countRequest(endpoint: string, status: number): void {
    const key = `${endpoint} ${status}`;
    this.counters.requests.set(key, (this.counters.requests.get(key) ?? 0) + 1);
  }

  /** Most prompt tokens a request with this `maxTokens` leaves room for. */
  maxPromptTokens(maxTokens: number | undefined): number {
    return Math.max(0, this.contextLength - (maxTokens ?? 1));
  }

  /** One request may run at most `maxRunning` sequences at once: a 400 naming `param` past that. */
  checkSequences(sequences: number, param: string): void {
    if (sequences > this.maxRunning) {
      throw new ApiError(
        400,
        `${param}: this request asks for ${sequences} sequences at once; this server runs at most ${this.maxRunning} (--max-running)`,
        "invalid_request_error",
        param,
        "too_many_sequences",
      );
    }
  }

  /**
   * The cheap bound, before admission and any tokenizing: text of `bytes` UTF-8 bytes needs at least
   * `bytes / maxTokenBytes` tokens, so more bytes than the room × that cannot fit. (Small prompts are
   * left to the exact check after tokenizing, whose message counts their tokens.)
   */
  checkPromptBytes(bytes: number, maxTokens: number | undefined, param: string): void {
    const room = this.maxPromptTokens(maxTokens);
    if (bytes <= SMALL_PROMPT_BYTES || bytes <= room * this.maxTokenBytes) return;
    throw new ApiError(
      400,
      `This model's maximum context length is ${this.contextLength} tokens. However, the ${param} hold ${bytes} bytes of text: more than the ${room} tokens left by max_tokens can carry (no token holds more than ${this.maxTokenBytes} bytes). Please reduce the length of the ${param} or of max_tokens.`,
      "invalid_request_error",
      param,
      "context_length_exceeded",
    );
  }

  /** Check the prompt fits the context with room for `maxTokens`; a 400 that states the numbers. */
  checkContext(promptTokens: number, maxTokens: number | undefined, param: string, opts: { atLeast?: boolean } = {}): void {
    const want = promptTokens + (maxTokens ?? 1);
    if (want > this.contextLength) {
      const least = opts.atLeast === true ? "at least " : ""; // tokenizing stopped once past the room left
      const detail = maxTokens === undefined ? `${least}${promptTokens} in the prompt` : `${least}${promptTokens} in the prompt, ${maxTokens} for the completion`;
      throw new ApiError(
        400,
        `This model's maximum context length is ${this.contextLength} tokens. However, you requested ${least}${want} tokens (${detail}). Please reduce the length of the ${param} or of max_tokens.`,
        "invalid_request_error",
        param,
        "context_length_exceeded",
      );
    }
  }

  /**
   * Wait until `sequences` more sequences may run (429 when the queue is full), first come first
   * served; returns the release function. A request is admitted before its prompt is rendered or
   * tokenized, so heavy work never runs for more requests than the limit.
   */
  async admit(signal: AbortSignal | undefined, sequences = 1): Promise<() => void> {
    const maxWaiting = this.opts.maxWaiting ?? 64;
    const need = Math.min(Math.max(1, sequences), this.maxRunning);
    if (this.waiting.length > 0 || this.running + need > this.maxRunning) {
      if (this.waiting.length >= maxWaiting) {
        throw new ApiError(429, `server busy: ${this.running} sequences running and ${this.waiting.length} requests waiting; retry later`, "rate_limit_error", null, "rate_limit_exceeded");
      }
      await new Promise<void>((resolve, reject) => {
        const entry = {
          need,
          wake: (): void => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason ?? new Error("aborted"));
          this.wakeWaiting();
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(entry);
      }); // `wakeWaiting` reserved the sequences before waking us
    } else this.running += need;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= need;
      this.wakeWaiting();
    };
  }

  /** Admit waiting requests in order while their sequences fit, reserving them as they are woken. */
  private wakeWaiting(): void {
    for (let head = this.waiting[0]; head !== undefined && this.running + head.need <= this.maxRunning; head = this.waiting[0]) {
      this.waiting.shift();
      this.running += head.need;
      head.wake();
    }
  }

  /**
   * Run one choice of a chat turn through the engine's pipeline, counting its tokens. When the
   * client goes away (`opts.signal` fires) it throws the signal's reason, as `generate` does.
   */
  async runTurn(turn: PreparedTurn, opts: TurnGenerateOptions, onStep?: (step: TurnStep) => void): Promise<FinishedTurn> {
    return this.counted(async () => {
      const o = await this.turns.run(turn, opts, onStep);
      if (o.finishReason === "interrupted") throw opts.signal?.reason ?? new Error("aborted");
      return { outcome: { ...o, finishReason: o.finishReason }, prompt: o.promptTokens, cached: o.cachedTokens, completion: o.ids.length };
    });
  }

  /** Generate one text completion of `promptIds` from the longest cached prefix, counting its tokens. */
  async run(promptIds: readonly number[], opts: GenerateOptions, onStep?: (step: GenerateStep) => void): Promise<ChoiceOutcome> {
    return this.counted(async () => {
      const o = await this.turns.generate(promptIds, opts, onStep);
      return { outcome: o, prompt: promptIds.length, cached: o.cachedTokens, completion: o.result.completionTokens };
    });
  }

  private async counted<T>(work: () => Promise<{ outcome: T; prompt: number; cached: number; completion: number }>): Promise<T> {
    let done = false;
    try {
      const r = await work();
      done = true;
      this.counters.promptTokens += r.prompt;
      this.counters.cachedPromptTokens += r.cached;
      this.counters.completionTokens += r.completion;
      return r.outcome;
    } catch (e) {
      throw await this.named(e);
    } finally {
      if (!done) this.counters.aborted++;
    }
  }

  /** A model fault (NaN logits) named by the tensor that causes it, when `findNonFinite` can tell. */
  private async named(e: unknown): Promise<unknown> {
    const find = this.opts.findNonFinite;
    if (!(e instanceof QwenrtError) || e.code !== "model_fault" || find === undefined) return e;
    this.weightFault ??= find().catch(() => undefined);
    const bad = await this.weightFault;
    if (bad === undefined) return e;
    return new QwenrtError(bad.tensor, `holds ${bad.value} (value ${bad.index}): the model's weights are corrupt, so its logits are not finite`, { code: "model_fault" });
  }
}

/**
 * Run the jobs of one request (its choices, its prompts × n) under one abort: the request's signal
 * stops them all, and so does the first job that fails — its siblings stop at their next step and
 * the first error is thrown once every job has settled (so their sequences are back when it returns).
 *
 * @example
 * const texts = await allOrNone(signal, [0, 1].map((i) => (s: AbortSignal) => runChoice(i, s)));
 */
export async function allOrNone<T>(signal: AbortSignal, jobs: ReadonlyArray<(signal: AbortSignal) => Promise<T>>): Promise<T[]> {
  const shared = new AbortController();
  const onAbort = (): void => shared.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  try {
    const settled = await Promise.allSettled(
      jobs.map(async (job) => {
        try {
          return await job(shared.signal);
        } catch (e) {
          if (!shared.signal.aborted) shared.abort(e);
          throw e;
        }
      }),
    );
    if (shared.signal.aborted) throw shared.signal.reason;
    const out: T[] = [];
    for (const r of settled) {
      if (r.status === "rejected") throw r.reason;
      out.push(r.value);
    }
    return out;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
