/**
 * What the engine needs from a model and a tokenizer, as small structural interfaces: the real
 * `Model` (models/) and `Tokenizer` (tokenizer/) satisfy them, and engine tests use fakes.
 * The engine never sees a kernel or a tensor — only token ids in and logits out.
 */

/** One sequence's KV cache, owned by the model. */
export interface SequenceLike {
  /** Tokens the cache holds. */
  readonly length: number;
}

/** A batch entry for `forward`: append `ids` to `seq` and return the logits after the last one. */
export interface ForwardSegment<S extends SequenceLike> {
  readonly seq: S;
  readonly ids: Int32Array;
}

/** Sampling defaults and stop ids a checkpoint ships (`generation_config.json`). */
export interface GenerationDefaults {
  readonly eosTokenIds: readonly number[];
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
}

/** A model as the generate loop sees it. */
export interface LogitsModel<S extends SequenceLike = SequenceLike> {
  readonly config: {
    readonly vocabSize: number;
    readonly maxPositionEmbeddings?: number;
    readonly eosTokenIds?: readonly number[];
  };
  /** Parsed `generation_config.json` (models/generation_config.ts), when the checkpoint has one. */
  readonly generation?: GenerationDefaults;
  /** Positions a sequence may reach when the model was loaded for less than `maxPositionEmbeddings`. */
  readonly contextLength?: number;
  newSequence(): S;
  /** Logits row (`[vocabSize]`) after each segment's last id; sync or async. */
  forward(segments: readonly ForwardSegment<S>[]): readonly Float32Array[] | Promise<readonly Float32Array[]>;
  /** The same, awaiting the backend's readback (a GPU's is asynchronous); used when present. */
  forwardAsync?(segments: readonly ForwardSegment<S>[]): Promise<readonly Float32Array[]>;
  /** Keep a restorable snapshot of `seq`'s state at its current length (a hybrid model's
   * recurrent state can only go back to one); the generate loop takes one once the prompt is in. */
  checkpoint?(seq: S): void;
}

/** One model step for `segments`: `forwardAsync` where the model has it, else `forward`. */
export async function stepModel<S extends SequenceLike>(model: LogitsModel<S>, segments: readonly ForwardSegment<S>[]): Promise<readonly Float32Array[]> {
  return model.forwardAsync !== undefined ? model.forwardAsync(segments) : model.forward(segments);
}

/** Incremental detokenizer: text for each new id, holding back incomplete UTF-8 until it resolves. */
export interface TextStream {
  push(id: number): string;
  /** Whatever is still held back, at the end of generation. */
  flush(): string;
}

/** A tokenizer as the generate loop sees it. */
export interface DetokenizerSource {
  /** End-of-sequence ids the tokenizer declares (e.g. `<|im_end|>`); merged with the model's. */
  readonly eosTokenIds: readonly number[];
  /** A fresh streaming detokenizer for one generation. */
  newTextStream(): TextStream;
}

/**
 * Hook point for steering generation (e.g. the thinking budget): sees every accepted token and may
 * answer with ids to force in next (they are fed to the model, emitted and counted as completion
 * tokens, but not sampled).
 */
export interface TokenInterceptor {
  /** Before the first sampled token (after the prompt): ids to force in first, if any. */
  start?(): readonly number[] | undefined;
  /**
   * Every token appended to the output, in order: sampled ones (after the constraint accepted them;
   * the last one and an EOS included) and forced ones (`forced` true).
   */
  observe?(token: number, forced: boolean): void;
  /** After each sampled token that does not end the generation: ids to force in next, if any. */
  afterToken(token: number): readonly number[] | undefined;
}

/**
 * A grammar that restricts which tokens may come next (engine/constrain's `Constraint` is one: pass
 * `createConstraint(…)` as `GenerateOptions.constraint`). `mask` sets disallowed logits to
 * -Infinity; `accept` advances past the sampled token.
 */
export interface LogitsConstraint {
  mask(logits: Float32Array): void;
  accept(token: number): void;
  /** True once the output is a complete sentence of the grammar. */
  isComplete(): boolean;
  /** When true, generation ends as soon as the grammar is complete (no EOS needed). Default false. */
  readonly endsGeneration?: boolean;
}
