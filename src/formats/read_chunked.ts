/**
 * Asynchronous whole-file reads for checkpoints: one preallocated buffer per file, filled in chunks
 * with promise-based `read`s so the event loop runs between chunks (a TTY progress bar redraws, a
 * server stays responsive) and the caller hears how many bytes have arrived.
 */
import { open, stat } from "node:fs/promises";
import { QwenrtError } from "../util/errors.js";

/** Default chunk: large enough that syscall overhead is negligible, small enough to redraw often. */
export const READ_CHUNK_BYTES = 64 * 1024 * 1024;

/** Options of {@link readFileChunked}. */
export interface ChunkedReadOptions {
  /** Bytes per `read` (default 64 MiB). */
  readonly chunkBytes?: number;
  /** Called after each chunk with the bytes that chunk added. */
  readonly onBytes?: (n: number) => void;
}

/** The error for a file that cannot be opened: "file not found" or the errno code, naming the file. */
export function openError(path: string, e: unknown): QwenrtError {
  const code = (e as NodeJS.ErrnoException).code;
  return new QwenrtError(path, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`, { code: "not_found" });
}

/**
 * Size of a file in bytes, with the same error as a failed read.
 *
 * @example
 * const total = await fileSize("model.safetensors");
 */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    throw openError(path, e);
  }
}

/**
 * Read a whole file into one fresh buffer, chunk by chunk, yielding to the event loop between chunks.
 *
 * @example
 * const buf = await readFileChunked("model.safetensors", { onBytes: (n) => bar.add(n) });
 */
export async function readFileChunked(path: string, opts: ChunkedReadOptions = {}): Promise<Uint8Array> {
  const chunk = opts.chunkBytes ?? READ_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk <= 0) throw new QwenrtError("chunkBytes", `must be a positive integer, got ${chunk}`);
  let fh;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const size = (await fh.stat()).size;
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, Math.min(chunk, size - off), off);
      if (bytesRead === 0) throw new QwenrtError(path, `file ended after ${off} of ${size} bytes while reading`);
      off += bytesRead;
      opts.onBytes?.(bytesRead);
    }
    return buf;
  } finally {
    await fh.close();
  }
}
