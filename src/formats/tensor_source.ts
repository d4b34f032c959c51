/**
 * Where a checkpoint tensor's bytes come from: already in memory (a view over a whole-file buffer,
 * or a test's array), or a byte range of a file still on disk that the loader reads when it needs
 * it. Streaming loaders read the headers only and hand the loader {@link FileTensor}s, so a model's
 * weights never sit in host memory all at once (DESIGN.md: read, not mmap'd — but one tensor at a
 * time, into a reused scratch buffer).
 */
import { open, type FileHandle } from "node:fs/promises";
import { QwenrtError } from "../util/errors.js";
import { openError } from "./read_chunked.js";
import type { WeightType } from "./quant/types.js";

/** A tensor whose bytes are in memory. */
export interface MemoryTensor {
  readonly type: WeightType;
  readonly shape: readonly number[]; // row-major
  readonly bytes: Uint8Array;
}

/** A tensor whose bytes are a range of a file, read on demand. */
export interface FileTensor {
  readonly type: WeightType;
  readonly shape: readonly number[]; // row-major
  /** Path of the file holding it. */
  readonly file: string;
  /** Its name in that file (errors name it), e.g. `blk.0.ffn_up_exps.weight (expert 3)`. */
  readonly name: string;
  /** Absolute byte offset of its first byte in `file`. */
  readonly begin: number;
  readonly byteLength: number;
}

/** A tensor as any checkpoint reader provides it. */
export type TensorSource = MemoryTensor | FileTensor;

/** True when `t`'s bytes are still on disk. */
export function isFileTensor(t: TensorSource): t is FileTensor {
  return !("bytes" in t);
}

/** Bytes of `t`'s data. */
export function tensorByteLength(t: TensorSource): number {
  return isFileTensor(t) ? t.byteLength : t.bytes.byteLength;
}

/**
 * Reads {@link FileTensor}s with positioned `fs.read`s, keeping each file open until `close`.
 * Every read is checked: a file that ends early is an error naming the file and the tensor.
 *
 * @example
 * const reader = new TensorFileReader();
 * try { const bytes = await reader.read(t, scratch); } finally { await reader.close(); }
 */
export class TensorFileReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  /** Bytes read so far, over all files. */
  bytesRead = 0;

  private handle(file: string): Promise<FileHandle> {
    let h = this.handles.get(file);
    if (h === undefined) {
      h = open(file, "r").catch((e: unknown) => {
        throw openError(file, e);
      });
      this.handles.set(file, h);
    }
    return h;
  }

  /**
   * Read `t` into the start of `into` (which must hold `t.byteLength` bytes) and return that view.
   * The view is only valid until `into` is reused.
   */
  async read(t: FileTensor, into: Uint8Array, chunkBytes = 64 * 1024 * 1024): Promise<Uint8Array> {
    if (into.byteLength < t.byteLength) throw new Error(`internal: scratch of ${into.byteLength} bytes for tensor "${t.name}" of ${t.byteLength}`);
    const out = into.subarray(0, t.byteLength);
    await this.readRange(t, 0, out, chunkBytes);
    return out;
  }

  /**
   * Read bytes `offset .. offset + into.byteLength - 1` of `t`'s data into all of `into` (any
   * `Uint8Array`, also one over a backend's shared memory: the bytes land there with no copy).
   *
   * @example
   * await reader.readRange(t, row * rowBytes, dest.subarray(0, rowBytes));
   */
  async readRange(t: FileTensor, offset: number, into: Uint8Array, chunkBytes = 64 * 1024 * 1024): Promise<void> {
    const length = into.byteLength;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > t.byteLength) {
      throw new Error(`internal: bytes [${offset}, ${offset + length}) are outside tensor "${t.name}" of ${t.byteLength}`);
    }
    const fh = await this.handle(t.file);
    const begin = t.begin + offset;
    let off = 0;
    while (off < length) {
      const { bytesRead } = await fh.read(into, off, Math.min(chunkBytes, length - off), begin + off);
      if (bytesRead === 0) {
        throw new QwenrtError(t.file, `truncated: file ended at byte ${begin + off} while reading tensor "${t.name}" (bytes [${t.begin}, ${t.begin + t.byteLength}))`);
      }
      off += bytesRead;
      this.bytesRead += bytesRead;
    }
  }

  /** Close every file opened. */
  async close(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    for (const h of hs) {
      try {
        await (await h).close();
      } catch {
        // An open that failed has nothing to close (its error was already reported by `read`).
      }
    }
  }
}

/** One tensor's byte range, for `checkNoOverlap`. */
export interface ByteRange {
  readonly name: string;
  readonly begin: number;
  readonly end: number;
}

/**
 * Refuse a checkpoint whose tensors share bytes (a corrupt or crafted header): two tensors backed by
 * the same data would alias each other's weights. Empty tensors overlap nothing.
 *
 * @example
 * checkNoOverlap("model.safetensors", [{ name: "a", begin: 0, end: 8 }, { name: "b", begin: 4, end: 12 }]); // throws
 */
export function checkNoOverlap(file: string, ranges: readonly ByteRange[]): void {
  const sorted = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.begin < a.end) {
      throw new QwenrtError(file, `corrupt: tensors "${a.name}" (bytes [${a.begin}, ${a.end})) and "${b.name}" (bytes [${b.begin}, ${b.end})) overlap`);
    }
  }
}
