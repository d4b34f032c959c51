/**
 * KV snapshots on disk: a finished conversation's cache (f16, as the slots' `save` gives it),
 * keyed by the exact token ids it holds and the model file's hash, so a conversation continued
 * after a restart starts from it instead of re-reading its history. Bounded by a byte budget,
 * least recently used out first. A snapshot is trusted only when its checksum, its model hash and
 * its token ids all check out; anything else is logged and never loaded.
 *
 * File (little-endian): "QWKV", u32 version, 32-byte model hash, u32 tokens, u32 layers,
 * i32 ids[tokens], per layer (u32 bytes, bytes), then the SHA-256 of everything before it.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from "node:fs";
import { readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../util/errors.js";
import type { SequenceLike } from "./types.js";

/** How a model's sequences become bytes and back (models/snapshot.ts for the real `Model`). */
export interface SnapshotCodec<S> {
  /** Per layer, the bytes of the first `length` positions; undefined when the model cannot save. */
  save(seq: S, length: number): Uint8Array[] | undefined;
  /** A new sequence holding `length` positions from `save`'s bytes. */
  restore(layers: readonly Uint8Array[], length: number): S;
}

const MAGIC = 0x564b5751; // "QWKV" read as a little-endian u32
const VERSION = 1;
const HEAD = 4 + 4 + 32 + 4 + 4;

interface Entry {
  readonly file: string;
  readonly hash: string; // hex model hash
  readonly ids: Int32Array;
  readonly bytes: number;
  lastUsed: number;
  /** A refusal was logged already (another model's snapshot). */
  refused?: boolean;
}

function commonPrefix(a: Int32Array, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * @example
 * const snaps = KvSnapshots.open(join(dataDir, "kv"), modelHash, codec, 2 ** 31, console.error);
 * await snaps?.save(heldIds, seq);              // after a stored response
 * const hit = await snaps?.find(promptIds, 0);  // → { seq, ids } to hand to the prefix cache
 */
export class KvSnapshots<S extends SequenceLike> {
  private entries: Entry[] = [];
  /** Counters for tests and logs. */
  readonly stats = { saved: 0, loaded: 0, refused: 0, corrupt: 0 };

  private constructor(
    private readonly dir: string,
    private readonly modelHash: string,
    private readonly codec: SnapshotCodec<S>,
    private readonly budget: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Open (creating) `dir` and index the snapshots there; undefined (logged) when it cannot be used. */
  static open<S extends SequenceLike>(dir: string, modelHash: string, codec: SnapshotCodec<S>, budget: number, log: (line: string) => void): KvSnapshots<S> | undefined {
    if (!/^[0-9a-f]{64}$/.test(modelHash)) throw new Error(`internal: model hash must be 64 hex digits, got ${modelHash}`);
    try {
      mkdirSync(dir, { recursive: true });
      const s = new KvSnapshots(dir, modelHash, codec, budget, log);
      s.scan();
      return s;
    } catch (e) {
      log(`qwenrt: KV snapshots: cannot use ${dir} (${errorMessage(e)}); continuing without them`);
      return undefined;
    }
  }

  /** Bytes of snapshots on disk. */
  get size(): number {
    return this.entries.reduce((a, e) => a + e.bytes, 0);
  }

  /** Snapshots indexed (this model's and others'). */
  get count(): number {
    return this.entries.length;
  }

  private scan(): void {
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      if (name.includes(".qkv.tmp-")) rmSync(file, { force: true }); // a write cut short by a crash
      if (!name.endsWith(".qkv")) continue;
      try {
        const head = readHead(file);
        const st = statSync(file);
        this.entries.push({ file, ...head, bytes: st.size, lastUsed: st.mtimeMs });
      } catch (e) {
        this.stats.corrupt++;
        this.log(`qwenrt: KV snapshot ${file}: unreadable header (${errorMessage(e)}); ignored`);
      }
    }
  }

  /**
   * Write `seq`'s first `ids.length` positions as a snapshot (atomically: a temp file renamed),
   * replacing snapshots it extends and evicting the least recently used past the budget. Returns
   * false (logged when it is an error) when nothing was written.
   */
  async save(ids: ArrayLike<number>, seq: S): Promise<boolean> {
    const held = Int32Array.from(ids);
    if (held.length === 0 || this.entries.some((e) => e.hash === this.modelHash && e.ids.length === held.length && commonPrefix(e.ids, held) === held.length)) return false;
    const layers = this.codec.save(seq, held.length);
    if (layers === undefined) return false;
    const bytes = encode(this.modelHash, held, layers);
    if (bytes.length > this.budget) return false;
    const key = createHash("sha256").update(this.modelHash).update(new Uint8Array(held.buffer)).digest("hex").slice(0, 40);
    const file = join(this.dir, `${key}.qkv`);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      this.log(`qwenrt: KV snapshot ${file}: could not write (${errorMessage(e)}); continuing without it`);
      return false;
    }
    // A snapshot of a prefix of this one (an earlier turn) is redundant now.
    const redundant = this.entries.filter((e) => e.hash === this.modelHash && commonPrefix(e.ids, held) === e.ids.length);
    this.entries = this.entries.filter((e) => !redundant.includes(e));
    this.entries.push({ file, hash: this.modelHash, ids: held, bytes: bytes.length, lastUsed: Date.now() });
    for (const e of redundant) if (e.file !== file) await rm(e.file, { force: true });
    await this.evict();
    this.stats.saved++;
    return true;
  }

  /**
   * The snapshot of this model sharing the longest prefix with `prompt`, if that prefix is longer
   * than `atLeast` tokens (what memory already has): restored into a new sequence holding its ids.
   * Snapshots of another model file, or failing their checksum, are logged and skipped.
   */
  async find(prompt: ArrayLike<number>, atLeast: number): Promise<{ seq: S; ids: Int32Array } | undefined> {
    const candidates = this.entries
      .map((e) => ({ e, common: commonPrefix(e.ids, prompt) }))
      .filter((c) => c.common > atLeast)
      .sort((a, b) => b.common - a.common);
    for (const { e } of candidates) {
      if (e.hash !== this.modelHash) {
        if (e.refused !== true) {
          this.stats.refused++;
          this.log(`qwenrt: KV snapshot ${e.file}: made from another model file (hash ${e.hash.slice(0, 12)}…, this model's ${this.modelHash.slice(0, 12)}…); not loaded`);
        }
        e.refused = true;
        continue;
      }
      try {
        const { ids, layers } = decode(await readFile(e.file), this.modelHash);
        if (ids.length !== e.ids.length || commonPrefix(ids, e.ids) !== ids.length) throw new Error("its token ids changed since it was indexed");
        const seq = this.codec.restore(layers, ids.length);
        e.lastUsed = Date.now();
        await utimes(e.file, new Date(), new Date()).catch(() => undefined);
        this.stats.loaded++;
        return { seq, ids };
      } catch (err) {
        this.stats.corrupt++;
        this.log(`qwenrt: KV snapshot ${e.file}: ${errorMessage(err)}; ignored and removed`);
        this.entries = this.entries.filter((x) => x !== e);
        await rm(e.file, { force: true });
      }
    }
    return undefined;
  }

  private async evict(): Promise<void> {
    let total = this.size;
    while (total > this.budget && this.entries.length > 1) {
      let oldest = 0;
      for (let i = 1; i < this.entries.length; i++) if (this.entries[i]!.lastUsed < this.entries[oldest]!.lastUsed) oldest = i;
      const [gone] = this.entries.splice(oldest, 1);
      total -= gone!.bytes;
      await rm(gone!.file, { force: true });
    }
  }
}

function encode(modelHash: string, ids: Int32Array, layers: readonly Uint8Array[]): Uint8Array {
  const body = HEAD + 4 * ids.length + layers.reduce((a, l) => a + 4 + l.byteLength, 0);
  const out = new Uint8Array(body + 32);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  out.set(Buffer.from(modelHash, "hex"), 8);
  view.setUint32(40, ids.length, true);
  view.setUint32(44, layers.length, true);
  let o = HEAD;
  for (const id of ids) {
    view.setInt32(o, id, true);
    o += 4;
  }
  for (const l of layers) {
    view.setUint32(o, l.byteLength, true);
    out.set(l, o + 4);
    o += 4 + l.byteLength;
  }
  out.set(createHash("sha256").update(out.subarray(0, body)).digest(), body);
  return out;
}

/** Check magic, version, checksum and model hash; the ids and per-layer bytes. */
function decode(buf: Uint8Array, modelHash: string): { ids: Int32Array; layers: Uint8Array[] } {
  if (buf.length < HEAD + 32) throw new Error("truncated file");
  const body = buf.length - 32;
  const sum = createHash("sha256").update(buf.subarray(0, body)).digest();
  if (!sum.equals(buf.subarray(body))) throw new Error("checksum mismatch (the file is corrupted)");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) throw new Error("not a version-1 qwenrt KV snapshot");
  const hash = Buffer.from(buf.subarray(8, 40)).toString("hex");
  if (hash !== modelHash) throw new Error(`made from another model file (hash ${hash.slice(0, 12)}…)`);
  const n = view.getUint32(40, true);
  const nLayers = view.getUint32(44, true);
  const ids = new Int32Array(n);
  let o = HEAD;
  for (let i = 0; i < n; i++, o += 4) ids[i] = view.getInt32(o, true);
  const layers: Uint8Array[] = [];
  for (let l = 0; l < nLayers; l++) {
    const len = view.getUint32(o, true);
    if (o + 4 + len > body) throw new Error("truncated layer data");
    layers.push(buf.subarray(o + 4, o + 4 + len));
    o += 4 + len;
  }
  if (o !== body) throw new Error("trailing bytes after the layers");
  return { ids, layers };
}

/** The header and ids of a snapshot file (for the index; the checksum is checked when loading). */
function readHead(file: string): { hash: string; ids: Int32Array } {
  // Synchronous on purpose: the index is built once, when the server starts.
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(HEAD);
    if (readSync(fd, head, 0, HEAD, 0) !== HEAD) throw new Error("truncated header");
    if (head.readUInt32LE(0) !== MAGIC || head.readUInt32LE(4) !== VERSION) throw new Error("not a version-1 qwenrt KV snapshot");
    const n = head.readUInt32LE(40);
    const idBytes = Buffer.alloc(4 * n);
    if (readSync(fd, idBytes, 0, 4 * n, HEAD) !== 4 * n) throw new Error("truncated ids");
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = idBytes.readInt32LE(4 * i);
    return { hash: head.subarray(8, 40).toString("hex"), ids };
  } finally {
    closeSync(fd);
  }
}
