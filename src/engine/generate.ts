/**
 * The generate loop, after mlx-lm's `generate_step`: an async generator that prefills the prompt in
 * chunks, then samples one token at a time, yielding each token with its text delta (from a
 * streaming detokenizer, through the stop-string matcher) and returning a finish reason and usage.
 */
import { QwenrtError } from "../util/errors.js";
import { yieldToEventLoop } from "../util/event-loop.js";
import { stepLogprobs, type StepLogprobs } from "./logprobs.js";
import { applyLogitsProcessors, makeLogitsProcessors } from "./processors.js";
import { createRng, randomSeed } from "./rng.js";
import { makeSampler, validateSamplingParams, type ResolvedSamplingParams, type SamplingParams } from "./sampler.js";
import { StopStringMatcher } from "./stop.js";
import { StreamDetokenizer, type Tokenizer } from "../tokenizer/index.js";
import { stepModel, type DetokenizerSource, type LogitsConstraint, type LogitsModel, type SequenceLike, type TokenInterceptor } from "./types.js";

/** Options of one generation; unset sampling fields come from the model's `generation_config.json`. */
export interface GenerateOptions extends SamplingParams {
  /** Most tokens to generate (forced tokens included). Default: until EOS or the context is full. */
  maxTokens?: number;
  /** Text-level stop strings; the returned text ends before the first one. */
  stop?: readonly string[];
  /** RNG seed: the same seed, prompt and options give the same tokens. Default: random. */
  seed?: number | bigint;
  /** Keep going past EOS tokens (benchmarks). */
  ignoreEos?: boolean;
  /** Cancels generation: the generator throws the signal's reason at the next step. The loop yields to
   * the event loop before every model step, so a timer or a signal handler can fire it. */
  signal?: AbortSignal;
  /** Return log-probabilities with each step: the chosen token's and this many alternatives (0–20). */
  logprobs?: number;
  /** Prompt tokens per prefill forward call. Default 512. */
  prefillChunk?: number;
  /** Steering hook (e.g. a thinking budget): may force tokens in after any accepted token. */
  interceptor?: TokenInterceptor;
  /** Grammar constraint (structured output, forced tool calls): masks each step's logits. */
  constraint?: LogitsConstraint;
}

/** Options that also name the sequence to continue (prefix reuse). */
export interface SequenceOptions<S> {
  /** Start from this sequence, whose cache already holds the prompt's first `cached` tokens
   * (from a prefix cache). The caller keeps ownership: after generation its cache holds the prompt
   * and every generated token but the last. Default: a new sequence. */
  sequence?: { readonly seq: S; readonly cached: number };
  /** Prompt lengths at which to checkpoint the sequence while prefilling (prefill stops there; see
   * `LogitsModel.checkpoint`); the prompt's end always is one. */
  checkpointAt?: readonly number[];
}

/** One generated token. */
export interface GenerateStep {
  readonly token: number;
  /** Text this step releases (may be empty while UTF-8 or a possible stop string is held back). */
  readonly text: string;
  /** True when the token was forced in by the interceptor rather than sampled. */
  readonly forced?: boolean;
  /** Present when `logprobs` was asked for and the token was sampled (from the raw model logits). */
  readonly logprobs?: StepLogprobs;
}

/** How a generation ended. */
export interface GenerateResult {
  /** `stop`: an EOS token or a stop string; `length`: `maxTokens` or the context window. */
  readonly finishReason: "stop" | "length";
  /** The EOS id or stop string that ended it (absent for `length`). */
  readonly stoppedBy?: number | string;
  readonly promptTokens: number;
  /** Generated tokens, including a final EOS and any forced tokens (what `ids` holds). */
  readonly completionTokens: number;
  readonly ids: readonly number[];
  /** All emitted text (stop string and EOS excluded). */
  readonly text: string;
  readonly seed: number | bigint;
}

const DEFAULT_PREFILL_CHUNK = 512;

/** Sampling parameters: explicit options over the checkpoint's defaults (do_sample false → greedy). */
function resolveSampling(model: LogitsModel, opts: GenerateOptions): SamplingParams {
  const g = model.generation;
  const greedyDefault = g?.doSample === false;
  return {
    temperature: opts.temperature ?? (greedyDefault ? 0 : g?.temperature),
    topP: opts.topP ?? g?.topP,
    topK: opts.topK ?? g?.topK,
    minP: opts.minP ?? g?.minP,
    repetitionPenalty: opts.repetitionPenalty ?? g?.repetitionPenalty,
    presencePenalty: opts.presencePenalty,
    frequencyPenalty: opts.frequencyPenalty,
    logitBias: opts.logitBias,
  };
}

/**
 * The generate loop's view of a `Tokenizer`: its EOS id and a streaming detokenizer that skips
 * special tokens (`<|im_end|>`), keeping added non-special ones such as `<think>`.
 */
export function detokenizerSource(tokenizer: Tokenizer): DetokenizerSource {
  return {
    eosTokenIds: tokenizer.eosTokenId === undefined ? [] : [tokenizer.eosTokenId],
    newTextStream: () => new StreamDetokenizer(tokenizer, { skipSpecialTokens: true }),
  };
}

function asSource(t: Tokenizer | DetokenizerSource): DetokenizerSource {
  return "newTextStream" in t ? t : detokenizerSource(t);
}

/** EOS ids: generation_config.json's (else config.json's) plus the tokenizer's. */
export function eosIdsOf(model: Pick<LogitsModel, "config" | "generation">, tokenizer: DetokenizerSource): Set<number> {
  const fromModel = model.generation?.eosTokenIds.length ? model.generation.eosTokenIds : model.config.eosTokenIds;
  return new Set([...(fromModel ?? []), ...tokenizer.eosTokenIds]);
}

function checkPrompt(model: LogitsModel, promptIds: ArrayLike<number>): void {
  const vocab = model.config.vocabSize;
  if (promptIds.length === 0) throw new QwenrtError("prompt", "must hold at least one token", { code: "invalid_request" });
  for (let i = 0; i < promptIds.length; i++) {
    const id = promptIds[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new QwenrtError("prompt", `token ${i} is ${id}, not an id below the vocabulary size ${vocab}`, { code: "invalid_request" });
    }
  }
}

/**
 * Check every option of a generation (sampling parameters over the model's defaults, counts, stop
 * strings, seed) without running it, and return the resolved sampling parameters. `generate` calls
 * it first; a server calls it where a request enters, so that a streaming request with a bad
 * parameter gets a 400 before its stream starts. Errors name the parameter (OpenAI's names).
 *
 * @example
 * validateGenerateOptions(model, { topP: 0 }); // throws QwenrtError "top_p: must be in (0, 1], got 0"
 */
export function validateGenerateOptions(model: LogitsModel, opts: GenerateOptions): ResolvedSamplingParams {
  const posInt = (name: string, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      throw new QwenrtError(name, `must be an integer >= ${min}, got ${v}`, { code: "invalid_request" });
    }
  };
  posInt("max_tokens", opts.maxTokens, 1);
  posInt("logprobs", opts.logprobs, 0);
  posInt("prefill_chunk", opts.prefillChunk, 1);
  if (opts.logprobs !== undefined && opts.logprobs > 20) {
    throw new QwenrtError("logprobs", `must be <= 20, got ${opts.logprobs}`, { code: "invalid_request" });
  }
  if (opts.seed !== undefined) createRng(opts.seed);
  new StopStringMatcher(opts.stop ?? []);
  return validateSamplingParams(resolveSampling(model, opts), { vocabSize: model.config.vocabSize });
}

/**
 * Generate a continuation of `promptIds`.
 *
 * @example
 * const gen = generate(model, tokenizer, ids, { maxTokens: 64, seed: 1 });
 * for (let r = await gen.next(); ; r = await gen.next()) {
 *   if (r.done) { console.log(r.value.finishReason); break; }
 *   process.stdout.write(r.value.text);
 * }
 */
export async function* generate<S extends SequenceLike>(
  model: LogitsModel<S>,
  tokenizer: Tokenizer | DetokenizerSource,
  promptIds: ArrayLike<number>,
  opts: GenerateOptions & SequenceOptions<S> = {},
): AsyncGenerator<GenerateStep, GenerateResult, undefined> {
  checkPrompt(model, promptIds);
  const params = validateGenerateOptions(model, opts);
  const start = opts.sequence;
  if (start !== undefined && (!Number.isInteger(start.cached) || start.cached < 0 || start.cached >= promptIds.length || start.seq.length !== start.cached)) {
    throw new QwenrtError("sequence", `cached prefix ${start.cached} must equal the sequence length ${start.seq.length} and be shorter than the prompt (${promptIds.length})`);
  }
  const sample = makeSampler(params);
  const processors = makeLogitsProcessors(params);
  const seed = opts.seed ?? randomSeed();
  const rng = createRng(seed);
  const stops = new StopStringMatcher(opts.stop ?? []);
  const source = asSource(tokenizer);
  const eos = opts.ignoreEos === true ? new Set<number>() : eosIdsOf(model, source);
  const contextLimit = Math.min(model.contextLength ?? Infinity, model.config.maxPositionEmbeddings ?? Infinity);
  const maxTokens = Math.min(opts.maxTokens ?? Infinity, contextLimit - promptIds.length);
  if (maxTokens < 1) {
    throw new QwenrtError("prompt", `${promptIds.length} tokens leave no room in the ${contextLimit}-token context`, {
      code: "invalid_request",
    });
  }
  const signal = opts.signal;
  const prompt = Int32Array.from(promptIds);
  const generated: number[] = [];
  const history = { prompt, generated };
  const detok = source.newTextStream();
  let text = "";
  let stoppedBy: number | string | undefined;

  // Decoded text of `id` through the stop matcher; sets stoppedBy when a stop string completes.
  const textOf = (id: number): string => {
    const r = stops.push(detok.push(id));
    if (r.stop !== undefined) stoppedBy = r.stop;
    return r.text;
  };
  // Release what the detokenizer and the matcher still hold (end of generation).
  const drain = (): string => {
    if (stoppedBy !== undefined) return "";
    const r = stops.push(detok.flush());
    if (r.stop !== undefined) {
      stoppedBy = r.stop;
      return r.text;
    }
    return r.text + stops.flush();
  };
  const finish = (): GenerateResult => ({
    finishReason: stoppedBy === undefined ? "length" : "stop",
    ...(stoppedBy === undefined ? {} : { stoppedBy }),
    promptTokens: prompt.length,
    completionTokens: generated.length,
    ids: generated,
    text,
    seed,
  });

  // A grammar that has completed ends generation as a stop (it allowed no EOS, or none was needed).
  const finishConstrained = (): GenerateResult => {
    stoppedBy ??= "grammar";
    return finish();
  };

  const seq = start?.seq ?? model.newSequence();
  const chunk = opts.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
  const constraint = opts.constraint;
  let logits: Float32Array | undefined;
  const marks = [...(opts.checkpointAt ?? []), prompt.length].filter((p) => p > (start?.cached ?? 0) && p <= prompt.length).sort((a, b) => a - b);
  for (let at = start?.cached ?? 0; at < prompt.length; ) {
    await yieldToEventLoop();
    signal?.throwIfAborted();
    const end = Math.min(at + chunk, marks.find((p) => p > at) ?? prompt.length);
    logits = (await stepModel(model, [{ seq, ids: prompt.subarray(at, end) }]))[0];
    // Where the next turn of a conversation may diverge (history re-rendered), the state is kept.
    if (marks.includes(end)) model.checkpoint?.(seq);
    at = end;
  }

  // Forced ids (interceptor) are output like sampled ones: emitted, counted, appended to `next` for
  // the model. Returns true when they end the generation (stop string or maxTokens).
  function* emitForced(ids: readonly number[], next: number[]): Generator<GenerateStep, boolean, undefined> {
    for (const f of ids.slice(0, maxTokens - generated.length)) {
      generated.push(f);
      next.push(f);
      opts.interceptor?.observe?.(f, true);
      let fp = textOf(f);
      if (stoppedBy === undefined && generated.length >= maxTokens) fp += drain();
      text += fp;
      yield { token: f, text: fp, forced: true };
      if (stoppedBy !== undefined || generated.length >= maxTokens) return true;
    }
    return false;
  }

  const opening = opts.interceptor?.start?.() ?? [];
  if (opening.length > 0) {
    const next: number[] = [];
    if (yield* emitForced(opening, next)) return finish();
    await yieldToEventLoop();
    signal?.throwIfAborted();
    logits = (await stepModel(model, [{ seq, ids: Int32Array.from(next) }]))[0];
  }

  for (;;) {
    signal?.throwIfAborted();
    if (logits === undefined) throw new QwenrtError("model", "forward returned no logits");
    const processed = applyLogitsProcessors(processors, logits, history);
    constraint?.mask(processed);
    const token = sample(processed, rng);
    constraint?.accept(token);
    const lp = opts.logprobs === undefined ? undefined : stepLogprobs(logits, token, opts.logprobs);
    generated.push(token);
    opts.interceptor?.observe?.(token, false);
    if (eos.has(token)) {
      const tail = drain(); // the EOS itself is not text; a stop string in the held tail still cuts it
      stoppedBy ??= token;
      text += tail;
      yield { token, text: tail, ...(lp === undefined ? {} : { logprobs: lp }) };
      return finish();
    }
    let piece = textOf(token);
    if (stoppedBy === undefined && generated.length >= maxTokens) piece += drain();
    text += piece;
    yield { token, text: piece, ...(lp === undefined ? {} : { logprobs: lp }) };
    if (stoppedBy !== undefined || generated.length >= maxTokens) return finish();

    const next = [token];
    if (constraint?.isComplete() === true && constraint.endsGeneration === true) return finishConstrained();
    if (yield* emitForced(opts.interceptor?.afterToken(token) ?? [], next)) return finish();
    await yieldToEventLoop();
    signal?.throwIfAborted();
    logits = (await stepModel(model, [{ seq, ids: Int32Array.from(next) }]))[0];
  }
}

/**
 * Run `generate` to the end and return its result (the text is the concatenation of every step's).
 *
 * @example
 * const { text, ids, finishReason } = await generateAll(model, tokenizer, ids, { temperature: 0, maxTokens: 32 });
 */
export async function generateAll<S extends SequenceLike>(
  model: LogitsModel<S>,
  tokenizer: Tokenizer | DetokenizerSource,
  promptIds: ArrayLike<number>,
  opts: GenerateOptions = {},
  onStep?: (step: GenerateStep) => void,
): Promise<GenerateResult> {
  const gen = generate(model, tokenizer, promptIds, opts);
  for (;;) {
    const r = await gen.next();
    if (r.done === true) return r.value;
    onStep?.(r.value);
  }
}
