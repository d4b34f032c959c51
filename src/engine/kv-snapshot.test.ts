/**
 * The snapshot store with a fake model: exact-prefix lookup, LRU eviction under the byte budget,
 * earlier turns replaced by the snapshot that extends them, other models' and damaged files refused.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { KvSnapshots, type SnapshotCodec } from "./kv-snapshot.js";

interface FakeSeq {
  length: number;
  data: Uint8Array; // one byte per position: the "KV" of that token
}

const codec: SnapshotCodec<FakeSeq> = {
  save: (seq, length) => [seq.data.slice(0, length), new Uint8Array(0)],
  restore: (layers, length) => ({ length, data: Uint8Array.from(layers[0]!) }),
};
const seqOf = (ids: number[]): FakeSeq => ({ length: ids.length, data: Uint8Array.from(ids, (i) => i * 3) });
const hashA = "a".repeat(64);
const hashB = "b".repeat(64);

test("find restores the longest matching snapshot, only past what memory holds", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-snap-"));
  const lines: string[] = [];
  const s = KvSnapshots.open(dir, hashA, codec, 1 << 20, (l) => lines.push(l))!;
  assert.equal(await s.save([1, 2, 3, 4], seqOf([1, 2, 3, 4])), true);
  assert.equal(await s.save([1, 2, 3, 4], seqOf([1, 2, 3, 4])), false, "the same ids twice are kept once");
  assert.equal(await s.save([1, 2, 9], seqOf([1, 2, 9])), true);
  const hit = await s.find([1, 2, 3, 4, 5], 0);
  assert.deepEqual([...hit!.ids], [1, 2, 3, 4]);
  assert.deepEqual([...hit!.seq.data], [3, 6, 9, 12]);
  assert.equal(await s.find([1, 2, 3, 4, 5], 4), undefined, "memory already holds as much");
  assert.equal(await s.find([7, 8], 0), undefined);

  // Another process (after a restart) sees the same files.
  const again = KvSnapshots.open(dir, hashA, codec, 1 << 20, (l) => lines.push(l))!;
  assert.equal(again.count, 2);
  assert.deepEqual([...(await again.find([1, 2, 9, 9], 0))!.ids], [1, 2, 9]);
  assert.deepEqual(lines, []);
});

test("a snapshot extending an earlier one replaces it; the budget evicts the least recently used", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-snap-"));
  const s = KvSnapshots.open(dir, hashA, codec, 1 << 20, () => undefined)!;
  await s.save([1, 2], seqOf([1, 2]));
  await s.save([1, 2, 3, 4], seqOf([1, 2, 3, 4]));
  assert.equal(s.count, 1);
  assert.equal(readdirSync(dir).length, 1);

  const one = s.size; // bytes of a 4-token snapshot
  const small = KvSnapshots.open(mkdtempSync(join(tmpdir(), "qwenrt-snap-")), hashA, codec, 2 * one + 8, () => undefined)!;
  await small.save([10, 11, 12, 13], seqOf([10, 11, 12, 13]));
  await new Promise((r) => setTimeout(r, 5));
  await small.save([20, 21, 22, 23], seqOf([20, 21, 22, 23]));
  await new Promise((r) => setTimeout(r, 5));
  assert.ok(await small.find([10, 11, 12, 13, 14], 0), "touching 10.. makes 20.. the oldest");
  await new Promise((r) => setTimeout(r, 5));
  await small.save([30, 31, 32, 33], seqOf([30, 31, 32, 33]));
  assert.equal(small.count, 2);
  assert.ok(small.size <= 2 * one + 8);
  assert.equal(await small.find([20, 21, 22, 23, 24], 0), undefined, "the least recently used went first");
  assert.ok(await small.find([10, 11, 12, 13, 14], 0));
});

test("another model's snapshot is refused and a damaged file is removed, each logged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-snap-"));
  const a = KvSnapshots.open(dir, hashA, codec, 1 << 20, () => undefined)!;
  await a.save([1, 2, 3], seqOf([1, 2, 3]));
  const lines: string[] = [];
  const b = KvSnapshots.open(dir, hashB, codec, 1 << 20, (l) => lines.push(l))!;
  assert.equal(await b.find([1, 2, 3, 4], 0), undefined);
  assert.equal(await b.find([1, 2, 3, 4], 0), undefined);
  assert.equal(lines.length, 1, "refused once, said once");
  assert.match(lines[0]!, /made from another model file \(hash aaaaaaaaaaaa…, this model's bbbbbbbbbbbb…\); not loaded/);

  writeFileSync(join(dir, "junk.qkv"), "not a snapshot at all, just some text. ".repeat(4));
  const c = KvSnapshots.open(dir, hashA, codec, 1 << 20, (l) => lines.push(l))!;
  assert.match(lines[1]!, /junk\.qkv: unreadable header \(not a version-1 qwenrt KV snapshot\); ignored/);
  assert.ok(await c.find([1, 2, 3, 4], 0));
});
