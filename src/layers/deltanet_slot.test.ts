import assert from "node:assert/strict";
import { test } from "node:test";
import { createRefBackend } from "../kernels/ref/index.js";
import { QwenrtError } from "../util/errors.js";
import { DeltaNetSlot } from "./deltanet_slot.js";

const be = createRefBackend();
const shape = { convValues: 3, stateValues: 4 };

/** Advance `slot` by `n` positions, writing `tag` into its state (as a layer's forward would). */
function step(slot: DeltaNetSlot, n: number, tag: number): void {
  be.write(slot.conv, new Float32Array(3).fill(tag));
  be.write(slot.state, new Float32Array(4).fill(tag * 10));
  slot.advance(n);
}
const stateOf = (slot: DeltaNetSlot): number[] => [...be.readSync(slot.conv), ...be.readSync(slot.state)];

test("snapshots every interval and on demand; truncate goes back to one exactly, or to 0", () => {
  const s = new DeltaNetSlot(be, shape, 3, { checkpointInterval: 4, maxCheckpoints: 8 });
  step(s, 4, 1); // 4: interval
  step(s, 3, 2); // 7
  s.checkpoint(); // 7: on demand
  step(s, 1, 3); // 8: interval
  step(s, 1, 4); // 9
  assert.deepEqual(s.checkpoints, [4, 7, 8]);
  assert.deepEqual([s.restorable(9), s.restorable(8), s.restorable(6), s.restorable(3)], [9, 8, 4, 0]);
  assert.throws(() => s.advance(4), /advanced past its checkpoint at 12/, "a layer stops at each interval boundary");
  s.truncate(7);
  assert.equal(s.length, 7);
  assert.deepEqual(stateOf(s), [2, 2, 2, 20, 20, 20, 20]);
  s.truncate(4);
  assert.deepEqual(stateOf(s), [1, 1, 1, 10, 10, 10, 10]);
  assert.deepEqual(s.checkpoints, [4], "snapshots past the new length go");
  s.truncate(0);
  assert.deepEqual(stateOf(s), [0, 0, 0, 0, 0, 0, 0]);
  assert.equal(s.length, 0);
});

test("going back to a length without a snapshot is an error naming the layer and the snapshots it has", () => {
  const s = new DeltaNetSlot(be, shape, 5, { checkpointInterval: 4 });
  step(s, 4, 1);
  step(s, 2, 2);
  assert.throws(() => s.truncate(5), (e: unknown) => {
    assert.ok(e instanceof QwenrtError);
    assert.equal(e.message, "truncate: layer 5's recurrent state cannot go back to length 5: it holds 6 positions and checkpoints at 4 (Model.restorableLength gives the nearest length it can)");
    return true;
  });
  assert.equal(s.length, 6, "unchanged");
});

test("bounded: past maxCheckpoints the oldest interval snapshot goes first, then the oldest on-demand one", () => {
  const s = new DeltaNetSlot(be, shape, 0, { checkpointInterval: 2, maxCheckpoints: 3 });
  step(s, 1, 1);
  s.checkpoint(); // 1 (on demand)
  step(s, 1, 2); // 2
  step(s, 2, 3); // 4
  assert.deepEqual(s.checkpoints, [1, 2, 4]);
  step(s, 2, 4); // 6: drops 2, the oldest interval one
  assert.deepEqual(s.checkpoints, [1, 4, 6]);
  s.checkpoint(); // 6 already kept: now marked on demand, nothing added
  step(s, 1, 5);
  s.checkpoint(); // 7: drops 4
  assert.deepEqual(s.checkpoints, [1, 6, 7]);
  step(s, 1, 6); // 8: interval; every other snapshot is on demand: the oldest (1) goes
  assert.deepEqual(s.checkpoints, [6, 7, 8]);
  const none = new DeltaNetSlot(be, shape, 0, { checkpointInterval: 2, maxCheckpoints: 0 });
  step(none, 2, 1);
  step(none, 2, 2);
  none.checkpoint();
  assert.deepEqual(none.checkpoints, []);
});

test("fork copies the state at its length and the snapshots up to it; the two evolve apart", () => {
  const s = new DeltaNetSlot(be, shape, 0, { checkpointInterval: 3 });
  step(s, 3, 1);
  step(s, 2, 2);
  const f = s.fork(5);
  assert.deepEqual([f.length, f.checkpoints, stateOf(f)], [5, [3], stateOf(s)]);
  step(f, 1, 9);
  assert.deepEqual(stateOf(s), [2, 2, 2, 20, 20, 20, 20], "the original is untouched");
  const back = s.fork(3);
  assert.deepEqual([back.length, stateOf(back)], [3, [1, 1, 1, 10, 10, 10, 10]]);
  assert.throws(() => s.fork(4), QwenrtError);
  s.release();
  assert.throws(() => s.truncate(3), /after release/);
});
