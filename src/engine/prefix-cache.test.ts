import assert from "node:assert/strict";
import { test } from "node:test";
import { PrefixCache, type ForkableModel } from "./prefix-cache.js";

/** A fake model whose sequences can only go back to multiples of 10 (a recurrent state with
 * checkpoints every 10 positions), logging what the cache does. */
function fakeModel(): { model: ForkableModel<{ length: number; id: number }>; log: string[] } {
  const log: string[] = [];
  let ids = 0;
  return {
    log,
    model: {
      newSequence: () => ({ length: 0, id: ids++ }),
      fork: (s) => {
        log.push(`fork ${s.id}`);
        return { length: s.length, id: ids++ };
      },
      truncate: (s, n) => {
        assert.equal(n % 10, 0, "only to a restorable length");
        log.push(`truncate ${s.id} ${n}`);
        s.length = n;
      },
      restorableLength: (_s, n) => Math.floor(n / 10) * 10,
      checkpoint: (s) => log.push(`checkpoint ${s.id} at ${s.length}`),
    },
  };
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

test("a sequence that cannot go back to any length resumes from the nearest restorable length below the shared prefix", () => {
  const { model, log } = fakeModel();
  const cache = new PrefixCache(model, { maxTokens: 1000 });
  const a = model.newSequence();
  a.length = 47;
  cache.release(a, range(47));
  assert.deepEqual(log, ["checkpoint 0 at 47"], "the end of a turn is kept");
  // Shares 33 tokens: resumes at 30, not 33.
  const r = cache.acquire([...range(33), 900, 901]);
  assert.deepEqual([r.seq.id, r.cached], [0, 30]);
  assert.deepEqual(log.slice(1), ["truncate 0 30"]);
  assert.equal(cache.stats.hitTokens, 30);
});

test("the entry with the longest restorable prefix wins, not the longest shared one", () => {
  const { model } = fakeModel();
  const cache = new PrefixCache(model, { maxTokens: 1000 });
  const long = model.newSequence(); // shares 29 with the prompt: restorable 20
  long.length = 40;
  cache.release(long, [...range(29), ...range(11, 500)]);
  const short = model.newSequence(); // shares 30: restorable 30
  short.length = 31;
  cache.release(short, [...range(30), 777]);
  const r = cache.acquire([...range(30), 5, 6]);
  assert.deepEqual([r.seq.id, r.cached], [1, 30]);
  // Less than 10 shared tokens restore nothing: a new sequence.
  assert.equal(cache.acquire([0, 1, 2, 3, 999]).cached, 0);
});
