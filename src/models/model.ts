/**
 * A loaded model and its forward pass over per-sequence cache slots. `forward` takes a batch of
 * segments from possibly different sequences (continuous batching): all rows share the matmuls,
 * each block's mixer runs per segment over that sequence's own slot of its layer, positions
 * continue from each sequence's length. Activations stay in the backend from the embedding to the
 * logits: the host sees only token ids going in and the requested rows coming out.
 */
import type { KernelBackend, Matrix, Tensor } from "../kernels/types.js";
import { Scratch, type BatchContext, type Block, type CacheSlot, type SegmentView, type SlotOptions } from "../layers/context.js";
import { createRopeTable, type RopeTable } from "../layers/rope.js";
import { QwenrtError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import type { GenerationConfig } from "./generation_config.js";

/** One sequence's state: a cache slot per layer (KV cache, recurrent state, or none) and how many
 * positions it holds. Created by `Model.newSequence`. */
export class Sequence {
  /** Positions cached so far; the next token is at position `length`. */
  length = 0;
  /** Per layer: what that layer keeps for this sequence. */
  slots: (CacheSlot | undefined)[];
  /** Set by `Model.release`: the cache went back to the backend and the sequence is unusable. */
  released = false;

  /** @internal use `Model.newSequence` */
  constructor(
    readonly model: Model,
    slots: (CacheSlot | undefined)[],
  ) {
    this.slots = slots;
  }
}

/** New tokens for one sequence. */
export interface Segment {
  readonly seq: Sequence;
  readonly ids: Int32Array; // [tokens]
}

/** Which rows' logits `forward` returns. */
export type LogitRows = "last" | "all" | "none";

/** Options of `Model.forward`. */
export interface ForwardOptions {
  /** "last" (default): the last row of each segment; "all": every row; "none": only fill the cache. */
  readonly logits?: LogitRows;
  /** Split longer segments into chunks of at most this many tokens (same logits as whole prefill). */
  readonly maxChunk?: number;
  /** "logits" (default): `[rows, vocab]` from the LM head; "hidden": the final-normed hidden states
   * `[rows, hidden]` (embeddings and classifier heads read them). */
  readonly output?: "logits" | "hidden";
}

/** Rows per forward step when the caller does not say (bounds activation scratch). */
export const DEFAULT_MAX_CHUNK = 512;

/** Longest stretch `forwardAsync` computes without giving the event loop a turn, in ms. */
const YIELD_MS = 10;

/** Let timers, I/O and other callbacks run (a macrotask turn, not only microtasks). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === "function" ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** The parts of a model the architecture builder produced. */
export interface ModelParts {
  readonly config: ModelConfig;
  readonly generation: GenerationConfig;
  readonly backend: KernelBackend;
  readonly embed: Matrix; // [vocab, hidden]
  readonly finalNorm: Tensor; // [hidden]
  readonly lmHead: Matrix; // [vocab, hidden] (the embedding when tied)
  readonly blocks: readonly Block[];
  /** Positions a sequence may reach (default `config.maxPositionEmbeddings`). */
  readonly contextLength?: number;
}

/** One chunk of one segment in a forward round. */
interface Part {
  readonly index: number; // segment index in the batch
  readonly seq: Sequence;
  readonly ids: Int32Array; // [tokens]
  readonly rowsOut: number; // output rows it asks for (its last rows)
  readonly outOffset: number; // where they go in the segment's result
}

/** A planned forward call: its rounds of parts and the results they fill. */
interface ForwardPlan {
  readonly rounds: Part[][];
  readonly results: Float32Array[];
  readonly width: number; // values per output row
  readonly output: "logits" | "hidden";
}

/** A loaded decoder-only model. Create with `loadModel` (models/load.ts). */
export class Model {
  readonly config: ModelConfig;
  readonly generation: GenerationConfig;
  readonly backend: KernelBackend;
  /** numKvHeads * headDim: values per cached position of an attention layer (keys or values). */
  readonly kvWidth: number;
  /** Bytes of cache one token takes: every layer's slot (keys and values of attention layers). */
  readonly kvBytesPerToken: number;
  /** Positions a sequence may reach: what the model was loaded (and its memory checked) for, at most
   * `config.maxPositionEmbeddings`. Caches grow with use up to it; nothing is reserved for it. */
  readonly contextLength: number;
  private readonly parts: ModelParts;
  private readonly rope: RopeTable;
  private readonly scratch: Scratch;
  private cosHost = new Float32Array(0); // [n, rotaryDim/2] host rope tables, uploaded each step
  private sinHost = new Float32Array(0);
  private queue: Promise<unknown> = Promise.resolve(); // forwardAsync calls, one after another
  private asyncRunning = false;

  constructor(parts: ModelParts) {
    this.parts = parts;
    this.config = parts.config;
    this.generation = parts.generation;
    this.backend = parts.backend;
    this.kvWidth = parts.config.numKvHeads * parts.config.headDim;
    this.kvBytesPerToken = parts.blocks.reduce((a, b) => a + b.mixer.bytesPerToken, 0);
    this.contextLength = Math.min(parts.contextLength ?? Infinity, parts.config.maxPositionEmbeddings);
    this.rope = createRopeTable(parts.config.ropeTheta, parts.config.rotaryDim, parts.config.ropeScaling);
    this.scratch = new Scratch(parts.backend);
  }

  /** A new empty sequence whose caches start with room for `capacity` positions (they grow as
   * needed); `opts` set how recurrent-state layers keep checkpoints (hybrid models). */
  newSequence(capacity = 256, opts?: SlotOptions): Sequence {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new QwenrtError("capacity", `must be a positive integer, got ${capacity}`);
    return new Sequence(this, this.parts.blocks.map((b) => b.mixer.newSlot(capacity, opts)));
  }

  /**
   * Give `seq`'s caches back to the backend (a long-running server creates sequences without
   * end; the wasm heap is bounded). The sequence must not be used afterwards; releasing twice is
   * a no-op.
   *
   * @example
   * const seq = model.newSequence();
   * model.forward([{ seq, ids }]);
   * model.release(seq);
   */
  release(seq: Sequence): void {
    if (seq.model !== this) throw new QwenrtError("sequence", "belongs to another model");
    if (seq.released) return;
    for (const s of seq.slots) s?.release();
    seq.slots = [];
    seq.length = 0;
    seq.released = true;
  }

  /** Forget positions `len ..` of `seq` (keeps the first `len`). A hybrid model's recurrent state
   * can only go back to a length it kept a checkpoint of (or 0): `restorableLength` says which. */
  truncate(seq: Sequence, len: number): void {
    this.own(seq);
    if (!Number.isSafeInteger(len) || len < 0 || len > seq.length) {
      throw new QwenrtError("truncate", `length must be in [0, ${seq.length}], got ${len}`);
    }
    const can = this.restorableLength(seq, len);
    if (can !== len) {
      throw new QwenrtError("truncate", `the recurrent state of this sequence (${seq.length} positions) has no checkpoint at ${len}; the nearest length it can go back to is ${can}`);
    }
    for (const s of seq.slots) s?.truncate(len);
    seq.length = len;
  }

  /**
   * The greatest length `<= len` that `seq` can be truncated to: `len` for a plain transformer; for a
   * hybrid model the nearest recurrent-state checkpoint at or below it (or 0).
   *
   * @example
   * const keep = model.restorableLength(seq, shared); // resume from here, re-feed ids keep .. shared
   * model.truncate(seq, keep);
   */
  restorableLength(seq: Sequence, len: number): number {
    this.own(seq);
    let can = Math.min(Math.max(0, len), seq.length);
    for (const s of seq.slots) if (s !== undefined) can = Math.min(can, s.restorable(can));
    return can;
  }

  /** Keep a checkpoint of `seq`'s recurrent state at its current length (hybrid models; a no-op for
   * KV caches), so a later `truncate` / `fork` / prefix reuse can resume from here. The engine takes
   * one at the end of every prompt and every turn. */
  checkpoint(seq: Sequence): void {
    this.own(seq);
    for (const s of seq.slots) s?.checkpoint();
  }

  /** A new sequence holding a copy of `seq`'s cached prefix (the two then evolve independently). */
  fork(seq: Sequence): Sequence {
    this.own(seq);
    const copy = new Sequence(this, seq.slots.map((s) => s?.fork(seq.length)));
    copy.length = seq.length;
    return copy;
  }

  /**
   * Run new tokens through the model, appending them to each segment's sequence. Returns, per
   * segment, the rows that `opts.logits` asks for (`[1, vocab]` for "last"), of logits or, with
   * `output: "hidden"`, of final hidden states. Needs a backend that reads synchronously (`ref`,
   * `wasm`); `forwardAsync` works with every backend.
   *
   * @example
   * const seq = model.newSequence();
   * const [logits] = model.forward([{ seq, ids: Int32Array.from(promptIds) }]); // [1, vocab]
   */
  forward(batch: readonly Segment[], opts: ForwardOptions = {}): Float32Array[] {
    const read = this.backend.readSync;
    if (read === undefined) throw new QwenrtError("forward", `the ${this.backend.name} backend reads asynchronously: use forwardAsync`);
    if (this.asyncRunning) throw new QwenrtError("forward", "an async forward of this model is still running (await it, or use forwardAsync)");
    const plan = this.plan(batch, opts);
    for (const round of plan.rounds) {
      const step = this.begin(round);
      for (const block of this.parts.blocks) block.forward(step.ctx, step.h);
      this.collect(plan, round, read(this.end(round, step.h, plan.output)));
    }
    return plan.results;
  }

  /**
   * `forward` for every backend: awaits each step's readback (a GPU's is asynchronous) and gives
   * the event loop a turn between decoder blocks at least every `YIELD_MS`, so a server stays
   * responsive during a long prefill. Calls on one model run one after another.
   */
  forwardAsync(batch: readonly Segment[], opts: ForwardOptions = {}): Promise<Float32Array[]> {
    const run = async (): Promise<Float32Array[]> => {
      this.asyncRunning = true;
      try {
        const plan = this.plan(batch, opts);
        let last = performance.now();
        for (const round of plan.rounds) {
          const step = this.begin(round);
          for (const block of this.parts.blocks) {
            block.forward(step.ctx, step.h);
            if (performance.now() - last >= YIELD_MS) {
              await yieldToEventLoop();
              last = performance.now();
            }
          }
          this.collect(plan, round, await this.backend.read(this.end(round, step.h, plan.output)));
        }
        return plan.results;
      } finally {
        this.asyncRunning = false;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private own(seq: Sequence): void {
    if (seq.model !== this) throw new QwenrtError("sequence", "belongs to another model");
    if (seq.released) throw new QwenrtError("sequence", "was released (Model.release) and cannot be used");
  }

  /** Validate the batch and split it into rounds: every segment contributes its next chunk. */
  private plan(batch: readonly Segment[], opts: ForwardOptions): ForwardPlan {
    const mode = opts.logits ?? "last";
    const output = opts.output ?? "logits";
    const maxChunk = opts.maxChunk ?? DEFAULT_MAX_CHUNK;
    if (!Number.isSafeInteger(maxChunk) || maxChunk < 1) throw new QwenrtError("maxChunk", `must be a positive integer, got ${maxChunk}`);
    this.validate(batch);
    const width = output === "hidden" ? this.config.hiddenSize : this.config.vocabSize;
    const results = batch.map((s) => new Float32Array((mode === "all" ? s.ids.length : mode === "last" ? 1 : 0) * width));
    const rounds: Part[][] = [];
    const longest = Math.max(0, ...batch.map((s) => s.ids.length));
    for (let from = 0; from < longest; from += maxChunk) {
      const round: Part[] = [];
      batch.forEach((s, index) => {
        if (from >= s.ids.length) return;
        const ids = s.ids.subarray(from, Math.min(from + maxChunk, s.ids.length));
        const isLast = from + ids.length === s.ids.length;
        const rowsOut = mode === "all" ? ids.length : mode === "last" && isLast ? 1 : 0;
        round.push({ index, seq: s.seq, ids, rowsOut, outOffset: mode === "all" ? from * width : 0 });
      });
      rounds.push(round);
    }
    return { rounds, results, width, output };
  }

  /** Copy a round's output rows (back to back in `rows`) into the results. */
  private collect(plan: ForwardPlan, round: readonly Part[], rows: Float32Array): void {
    let at = 0;
    for (const p of round) {
      const n = p.rowsOut * plan.width;
      plan.results[p.index]!.set(rows.subarray(at, at + n), p.outOffset);
      at += n;
    }
  }

  private validate(batch: readonly Segment[]): void {
    const seen = new Set<Sequence>();
    batch.forEach((s, i) => {
      this.own(s.seq);
      if (seen.has(s.seq)) throw new QwenrtError("batch", `segment ${i} repeats a sequence already in this batch`);
      seen.add(s.seq);
      const vocab = this.config.vocabSize;
      for (let j = 0; j < s.ids.length; j++) {
        const id = s.ids[j]!;
        if (id < 0 || id >= vocab) throw new QwenrtError("ids", `segment ${i} index ${j}: token id ${id} is out of range [0, ${vocab})`);
      }
    });
  }

  /** Upload the rope tables of `positions` into scratch tensors. */
  private ropeTables(positions: Int32Array): { cos: Tensor; sin: Tensor } {
    const n = positions.length;
    const half = this.config.rotaryDim / 2;
    if (this.cosHost.length < n * half) {
      this.cosHost = new Float32Array(n * half * 2);
      this.sinHost = new Float32Array(n * half * 2);
    }
    const cosH = this.cosHost.subarray(0, n * half);
    const sinH = this.sinHost.subarray(0, n * half);
    this.rope.fill(positions, n, cosH, sinH);
    const cos = this.scratch.get("rope.cos", n * half); // [n, rotaryDim/2]
    const sin = this.scratch.get("rope.sin", n * half); // [n, rotaryDim/2]
    this.backend.write(cos, cosH);
    this.backend.write(sin, sinH);
    return { cos, sin };
  }

  /** Start a pass over the concatenated rows of `parts`: grow the slots, embed the tokens, upload
   * the rope tables. The blocks then run over `h`. */
  private begin(parts: readonly Part[]): { ctx: BatchContext; h: Tensor } {
    const { config: c, backend: be, scratch } = this;
    const n = parts.reduce((a, p) => a + p.ids.length, 0);
    const positions = new Int32Array(n); // [n]
    const ids = new Int32Array(n); // [n]
    const segments: SegmentView[] = [];
    let row = 0;
    for (const p of parts) {
      for (const slot of p.seq.slots) slot?.reserve(p.seq.length + p.ids.length, p.seq.length);
      for (let j = 0; j < p.ids.length; j++) positions[row + j] = p.seq.length + j;
      ids.set(p.ids, row);
      segments.push({ rowStart: row, rows: p.ids.length, start: p.seq.length, slots: p.seq.slots });
      row += p.ids.length;
    }
    const { cos, sin } = this.ropeTables(positions);
    const h = scratch.get("h", n * c.hiddenSize); // [n, hidden] residual stream
    be.embed(this.parts.embed, ids, h);
    return { ctx: { backend: be, scratch, rows: n, cos, sin, segments }, h };
  }

  /** Finish a pass: advance the sequences, then only the requested rows go through the final norm
   * and the LM head. Returns their logits (or hidden states) back to back, as a backend tensor. */
  private end(parts: readonly Part[], h: Tensor, output: "logits" | "hidden"): Tensor {
    const { config: c, backend: be, scratch } = this;
    const hidden = c.hiddenSize;
    for (const p of parts) p.seq.length += p.ids.length;
    const m = parts.reduce((a, p) => a + p.rowsOut, 0);
    const sel = scratch.get("selected", m * hidden); // [m, hidden]
    let src = 0;
    let dst = 0;
    for (const p of parts) {
      const first = src + p.ids.length - p.rowsOut;
      if (p.rowsOut > 0) be.copy(be.view(h, first * hidden, p.rowsOut * hidden), be.view(sel, dst * hidden, p.rowsOut * hidden));
      src += p.ids.length;
      dst += p.rowsOut;
    }
    if (m > 0) be.rmsNorm(sel, this.parts.finalNorm, c.rmsNormEps, m, hidden, sel);
    if (output === "hidden") return sel;
    const logits = scratch.get("logits", m * c.vocabSize); // [m, vocab]
    if (m > 0) be.matmul(this.parts.lmHead, sel, m, logits);
    return logits;
  }
}
