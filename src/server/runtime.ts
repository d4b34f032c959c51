/**
 * What the server serves: one model behind one batching engine loop, its tokenizer and chat template,
 * a prefix cache shared by all requests, admission control (bounded running + waiting), and counters.
 * HTTP handlers only call `run` and stream what it yields.
 */
import { BatchingModel } from "../engine/batcher.js";
import { generate, type GenerateOptions, type GenerateResult, type GenerateStep } from "../engine/generate.js";
import { PrefixCache } from "../engine/prefix-cache.js";
import { compileConstraint, prepareVocab, type CompiledConstraint, type ConstraintSpec, type PreparedVocab } from "../engine/constrain/index.js";
import type { ChatTemplate } from "../chat/template.js";
import type { Model, Sequence } from "../models/model.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { ApiError } from "./errors.js";

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

/** The outcome of one choice. */
export interface ChoiceOutcome {
  readonly result: GenerateResult;
  /** Prompt tokens served from the prefix cache. */
  readonly cachedTokens: number;
}

/** A loaded, ready-to-serve model. */
export class Runtime {
  readonly engine: BatchingModel<Sequence>;
  readonly prefixCache: PrefixCache<Sequence>;
  readonly contextLength: number;
  readonly counters: Counters = { requests: new Map(), promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, aborted: 0 };
  readonly created = Math.floor(Date.now() / 1000);
  /** Whether the model emits `<think>` blocks (its vocabulary has the tags). */
  readonly thinks: boolean;
  private running = 0;
  private vocab: PreparedVocab | undefined;
  private readonly grammars = new Map<string, CompiledConstraint>();
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly template: ChatTemplate,
    readonly opts: ServeOptions,
  ) {
    this.engine = new BatchingModel(model, { maxBatchTokens: opts.maxBatchTokens ?? 512 });
    this.prefixCache = new PrefixCache(model, { maxTokens: opts.prefixCacheTokens ?? defaultPrefixCacheTokens(model) });
    this.contextLength = Math.min(opts.contextLength ?? Infinity, model.config.maxPositionEmbeddings);
    this.thinks = tokenizer.tokenToId("<think>") !== undefined && tokenizer.tokenToId("</think>") !== undefined;
  }

  get runningCount(): number {
    return this.running;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Compile a grammar for this model's vocabulary (cached by spec: repeated schemas cost nothing). */
  compileConstraint(spec: ConstraintSpec): CompiledConstraint {
    const key = JSON.stringify(spec);
    const hit = this.grammars.get(key);
    if (hit !== undefined) return hit;
    this.vocab ??= prepareVocab({
      tokenStrings: Array.from({ length: this.tokenizer.vocabSize }, (_, id) => this.tokenizer.tokenBytes(id) ?? new Uint8Array(0)),
      specialIds: this.tokenizer.addedTokenIds(),
      eosIds: [...new Set([...(this.model.generation.eosTokenIds ?? []), ...(this.tokenizer.eosTokenId === undefined ? [] : [this.tokenizer.eosTokenId])])],
      vocabSize: this.model.config.vocabSize,
    });
    const compiled = compileConstraint(spec, this.vocab);
    if (this.grammars.size >= 64) this.grammars.delete(this.grammars.keys().next().value as string);
    this.grammars.set(key, compiled);
    return compiled;
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
   * Generate one choice for `promptIds`, starting from the longest cached prefix and returning the
   * sequence to the cache afterwards (also when the client went away). Yields each step.
   */
  async *run(promptIds: readonly number[], opts: GenerateOptions): AsyncGenerator<GenerateStep, ChoiceOutcome, undefined> {
    const { seq, cached } = this.prefixCache.acquire(promptIds);
    const held = [...promptIds];
    let done = false;
    try {
      const gen = generate(this.engine, this.tokenizer, promptIds, { prefillChunk: 256, ...opts, sequence: { seq, cached } });
      for (;;) {
        const r = await gen.next();
        if (r.done === true) {
          done = true;
          this.counters.promptTokens += promptIds.length;
          this.counters.cachedPromptTokens += cached;
          this.counters.completionTokens += r.value.completionTokens;
          return { result: r.value, cachedTokens: cached };
        }
        held.push(r.value.token);
        yield r.value;
      }
    } finally {
      if (!done) this.counters.aborted++;
      // The cache holds every fed token: the prompt and all generated tokens but the last.
      if (seq.length <= held.length) this.prefixCache.release(seq, held.slice(0, seq.length));
      else this.model.release(seq); // cannot name what it holds: free it rather than cache it
    }
  }
}
