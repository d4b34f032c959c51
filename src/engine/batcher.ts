/**
 * Continuous batching without a scheduler thread: every running generation calls `forward` for its
 * own sequence; calls that arrive in the same turn of the event loop are merged into one model
 * forward (shared matmuls, attention per sequence), so N concurrent streams cost far less than N
 * separate steps. One BatchingModel owns the model: forwards never overlap (a step is awaited —
 * a device backend's readback is asynchronous — before the next merged step starts).
 */
import { stepModel, type ForwardSegment, type GenerationDefaults, type LogitsModel, type SequenceLike } from "./types.js";

/** The model a BatchingModel drives (models/Model): sync `forward` and/or `forwardAsync`. */
export interface StepModel<S extends SequenceLike> {
  readonly config: LogitsModel<S>["config"];
  readonly generation?: GenerationDefaults;
  newSequence(): S;
  forward(segments: readonly ForwardSegment<S>[]): readonly Float32Array[] | Promise<readonly Float32Array[]>;
  forwardAsync?(segments: readonly ForwardSegment<S>[]): Promise<readonly Float32Array[]>;
  checkpoint?(seq: S): void;
}

interface Pending<S extends SequenceLike> {
  readonly segments: readonly ForwardSegment<S>[];
  resolve(rows: readonly Float32Array[]): void;
  reject(e: unknown): void;
}

/** Counters for `/metrics`. */
export interface BatchStats {
  /** Model forward calls made. */
  steps: number;
  /** Segments those calls carried (sum over steps). */
  segments: number;
  /** Tokens those calls carried (sum over steps). */
  tokens: number;
  /** Largest number of segments merged into one step. */
  maxBatch: number;
  /** Milliseconds spent inside model forward. */
  busyMs: number;
}

/**
 * Wrap a synchronous model so concurrent `generate` calls share forward passes.
 *
 * @example
 * const engine = new BatchingModel(model);
 * await Promise.all(prompts.map((p) => generateAll(engine, tokenizer, p, { maxTokens: 32 })));
 */
export class BatchingModel<S extends SequenceLike> implements LogitsModel<S> {
  readonly stats: BatchStats = { steps: 0, segments: 0, tokens: 0, maxBatch: 0, busyMs: 0 };
  private pending: Pending<S>[] = [];
  private scheduled = false;
  private running = false;

  constructor(
    readonly inner: StepModel<S>,
    private readonly opts: { maxBatchTokens?: number } = {},
  ) {}

  get config(): LogitsModel<S>["config"] {
    return this.inner.config;
  }

  get generation(): GenerationDefaults | undefined {
    return this.inner.generation;
  }

  newSequence(): S {
    return this.inner.newSequence();
  }

  /** Checkpoint `seq` now: its owner awaits its own steps, so its state is not mid-step. */
  checkpoint(seq: S): void {
    this.inner.checkpoint?.(seq);
  }

  /** Queue `segments` for the next merged step; resolves with their logits rows. */
  forward(segments: readonly ForwardSegment<S>[]): Promise<readonly Float32Array[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ segments, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate: let every generation whose step just resolved queue its next call first.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      await this.runOnce();
    } finally {
      this.running = false;
      if (this.pending.length > 0) this.schedule();
    }
  }

  private async runOnce(): Promise<void> {
    const budget = this.opts.maxBatchTokens ?? 1024;
    const take: Pending<S>[] = [];
    let tokens = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      const n = next.segments.reduce((a, s) => a + s.ids.length, 0);
      if (take.length > 0 && tokens + n > budget) break;
      take.push(next);
      tokens += n;
      this.pending.shift();
    }
    if (take.length === 0) return;
    const t0 = performance.now();
    try {
      const rows = await stepModel(this.inner, take.flatMap((p) => p.segments));
      this.record(take, tokens, t0);
      let at = 0;
      for (const p of take) {
        p.resolve(rows.slice(at, at + p.segments.length));
        at += p.segments.length;
      }
    } catch (e) {
      if (take.length === 1) {
        take[0]!.reject(e);
        return;
      }
      // One bad request must not fail its neighbours: rerun each alone (a failed forward appends
      // nothing to the caches, since Model validates a batch before touching them).
      for (const p of take) {
        try {
          p.resolve(await stepModel(this.inner, p.segments));
        } catch (err) {
          p.reject(err);
        }
      }
    }
  }

  private record(take: readonly Pending<S>[], tokens: number, t0: number): void {
    const segs = take.reduce((a, p) => a + p.segments.length, 0);
    this.stats.steps++;
    this.stats.segments += segs;
    this.stats.tokens += tokens;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, segs);
    this.stats.busyMs += performance.now() - t0;
  }
}
