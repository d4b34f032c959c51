/**
 * The cache slot of a Gated DeltaNet layer: a fixed-size state (the causal conv's last inputs and the
 * delta rule's per-head matrix) that only moves forward, plus checkpoints — snapshots of both at
 * chosen lengths — so a sequence can still go back: to a checkpoint (truncate, fork, prefix reuse
 * across turns and requests), or to 0 (the zero state). Snapshots are taken every
 * `checkpointInterval` positions as the layer runs and on demand (`checkpoint()`, the end of a prompt
 * or turn), at most `maxCheckpoints` of them per slot: past that the oldest interval snapshot goes,
 * then the oldest on-demand one. Every copy is a backend `copy`, so states stay on the device.
 */
import type { KernelBackend, Tensor } from "../kernels/types.js";
import { QwenrtError } from "../util/errors.js";
import type { CacheSlot, SlotOptions } from "./context.js";

/** Checkpoint defaults: a snapshot every 256 positions, at most 16 per slot. */
export const DEFAULT_CHECKPOINT_INTERVAL = 256;
export const DEFAULT_MAX_CHECKPOINTS = 16;

/** Sizes of one layer's recurrent state. */
export interface RecurrentStateShape {
  readonly convValues: number; // (kernel - 1) · channels
  readonly stateValues: number; // valueHeads · keyDim · valueDim
}

interface Snapshot {
  readonly conv: Tensor; // [kernel - 1, channels]
  readonly state: Tensor; // [valueHeads, keyDim, valueDim]
  readonly onDemand: boolean;
}

/** One Gated DeltaNet layer's state in one sequence. */
export class DeltaNetSlot implements CacheSlot {
  /** Positions absorbed into the state. */
  length = 0;
  conv: Tensor; // [kernel - 1, channels] the last inputs of the causal conv
  state: Tensor; // [valueHeads, keyDim, valueDim] the delta rule's state
  readonly interval: number;
  readonly maxCheckpoints: number;
  private readonly snapshots = new Map<number, Snapshot>();
  private released = false;

  constructor(
    private readonly backend: KernelBackend,
    private readonly shape: RecurrentStateShape,
    private readonly layer: number,
    opts: SlotOptions = {},
  ) {
    this.interval = opts.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    this.maxCheckpoints = opts.maxCheckpoints ?? DEFAULT_MAX_CHECKPOINTS;
    if (!Number.isSafeInteger(this.interval) || this.interval < 0) throw new QwenrtError("checkpointInterval", `must be a non-negative integer, got ${this.interval}`);
    if (!Number.isSafeInteger(this.maxCheckpoints) || this.maxCheckpoints < 0) throw new QwenrtError("maxCheckpoints", `must be a non-negative integer, got ${this.maxCheckpoints}`);
    this.conv = backend.allocF32(shape.convValues);
    this.state = backend.allocF32(shape.stateValues);
  }

  /** Lengths with a snapshot, ascending. */
  get checkpoints(): number[] {
    return [...this.snapshots.keys()].sort((a, b) => a - b);
  }

  /** Bytes one snapshot takes. */
  get snapshotBytes(): number {
    return 4 * (this.shape.convValues + this.shape.stateValues);
  }

  /** The next length past `length` at which the layer must stop to take an interval snapshot. */
  nextStop(): number {
    return this.interval === 0 ? Infinity : (Math.floor(this.length / this.interval) + 1) * this.interval;
  }

  /** Record that `n` more positions went into the state (never past `nextStop()`); snapshots at
   * interval boundaries. */
  advance(n: number): void {
    this.live();
    if (n > this.nextStop() - this.length) throw new Error(`internal: layer ${this.layer}'s state advanced past its checkpoint at ${this.nextStop()}`);
    this.length += n;
    if (this.interval > 0 && this.length % this.interval === 0 && n > 0) this.snapshot(false);
  }

  reserve(): void {
    this.live(); // fixed size: nothing to grow
  }

  checkpoint(): void {
    this.live();
    if (this.length > 0) this.snapshot(true);
  }

  restorable(len: number): number {
    this.live();
    if (len >= this.length) return this.length;
    let best = 0;
    for (const p of this.snapshots.keys()) if (p <= len && p > best) best = p;
    return best;
  }

  truncate(len: number): void {
    this.live();
    if (len === this.length) return;
    this.restoreTo(this, len);
    for (const p of [...this.snapshots.keys()]) if (p > len) this.drop(p);
  }

  fork(used: number): DeltaNetSlot {
    this.live();
    const copy = new DeltaNetSlot(this.backend, this.shape, this.layer, { checkpointInterval: this.interval, maxCheckpoints: this.maxCheckpoints });
    this.restoreTo(copy, used);
    for (const [p, s] of this.snapshots) {
      if (p <= used) copy.snapshots.set(p, { conv: this.clone(s.conv), state: this.clone(s.state), onDemand: s.onDemand });
    }
    return copy;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const p of [...this.snapshots.keys()]) this.drop(p);
    this.backend.freeF32(this.conv);
    this.backend.freeF32(this.state);
  }

  /** Put the state at length `len` into `into` (this slot or a fresh copy). */
  private restoreTo(into: DeltaNetSlot, len: number): void {
    const be = this.backend;
    if (len === this.length) {
      be.copy(this.conv, into.conv);
      be.copy(this.state, into.state);
    } else if (len === 0) {
      be.write(into.conv, new Float32Array(this.shape.convValues));
      be.write(into.state, new Float32Array(this.shape.stateValues));
    } else {
      const s = this.snapshots.get(len);
      if (s === undefined) {
        const have = this.checkpoints;
        throw new QwenrtError(
          "truncate",
          `layer ${this.layer}'s recurrent state cannot go back to length ${len}: it holds ${this.length} positions and checkpoints at ${have.length === 0 ? "none" : have.join(", ")} (Model.restorableLength gives the nearest length it can)`,
        );
      }
      be.copy(s.conv, into.conv);
      be.copy(s.state, into.state);
    }
    into.length = len;
  }

  private snapshot(onDemand: boolean): void {
    if (this.maxCheckpoints === 0) return;
    const old = this.snapshots.get(this.length);
    if (old !== undefined) {
      // Same length, same state: keep the copy, remember it was asked for.
      if (onDemand && !old.onDemand) this.snapshots.set(this.length, { ...old, onDemand });
      return;
    }
    this.snapshots.set(this.length, { conv: this.clone(this.conv), state: this.clone(this.state), onDemand });
    while (this.snapshots.size > this.maxCheckpoints) {
      const byAge = this.checkpoints.filter((p) => p !== this.length);
      const victim = byAge.find((p) => !this.snapshots.get(p)!.onDemand) ?? byAge[0];
      if (victim === undefined) break;
      this.drop(victim);
    }
  }

  private clone(t: Tensor): Tensor {
    const c = this.backend.allocF32(t.length);
    this.backend.copy(t, c);
    return c;
  }

  private drop(p: number): void {
    const s = this.snapshots.get(p);
    if (s === undefined) return;
    this.snapshots.delete(p);
    this.backend.freeF32(s.conv);
    this.backend.freeF32(s.state);
  }

  private live(): void {
    if (this.released) throw new Error(`internal: layer ${this.layer}'s recurrent state used after release`);
  }
}
