/**
 * What the server serves: one model behind the engine's turn pipeline (its batching engine loop,
 * prefix cache shared by all requests, grammar cache), its tokenizer and chat template, admission
 * control (bounded running + waiting), and counters. HTTP handlers only call `runTurn` / `run` and
 * stream what they report.
 */
import type { GenerateOptions, GenerateResult, GenerateStep } from "../engine/generate.js";
import { TurnRunner, type PreparedTurn, type TurnGenerateOptions, type TurnOutcome, type TurnStep } from "../engine/turn.js";
import type { ChatTemplate } from "../chat/template.js";
import type { Model, Sequence } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { ApiError } from "./errors.js";
import { noteTokens } from "./request-log.js";

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
}

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
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly template: ChatTemplate,
    readonly opts: ServeOptions,
  ) {
    this.turns = new TurnRunner(model, tokenizer, template, {
      prefixCacheTokens: opts.prefixCacheTokens ?? defaultPrefixCacheTokens(model),
      maxBatchTokens: opts.maxBatchTokens ?? 512,
    });
    this.contextLength = Math.min(opts.contextLength ?? Infinity, model.config.maxPositionEmbeddings);
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

  /** Check the prompt fits the context with room for `maxTokens`; a 400 that states the numbers. */
  checkContext(promptTokens: number, maxTokens: number | undefined, param: string): void {
    const want = promptTokens + (maxTokens ?? 1);
    if (want > this.contextLength) {
      const detail = maxTokens === undefined ? `${promptTokens} in the prompt` : `${promptTokens} in the prompt, ${maxTokens} for the completion`;
      throw new ApiError(
        400,
        `This model's maximum context length is ${this.contextLength} tokens. However, you requested ${want} tokens (${detail}). Please reduce the length of the ${param} or of max_tokens.`,
        "invalid_request_error",
        param,
        "context_length_exceeded",
      );
    }
  }

  /** Wait for a running slot (429 when the queue is full); returns the release function. */
  async admit(signal: AbortSignal | undefined): Promise<() => void> {
    const maxRunning = this.opts.maxRunning ?? 16;
    const maxWaiting = this.opts.maxWaiting ?? 64;
    if (this.running >= maxRunning) {
      if (this.waiting.length >= maxWaiting) {
        throw new ApiError(429, `server busy: ${this.running} requests running and ${this.waiting.length} waiting; retry later`, "rate_limit_error", null, "rate_limit_exceeded");
      }
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(wake);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal?.reason ?? new Error("aborted"));
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(wake);
      });
    }
    this.running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.waiting.shift()?.();
    };
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
      noteTokens(r.prompt, r.completion); // the request's log line
      return r.outcome;
    } finally {
      if (!done) this.counters.aborted++;
    }
  }
}
