/**
 * GGUF files converted from the fixture checkpoints (with the real Qwen3 tokenizer) into a temp dir,
 * once per test process and removed at exit. Tests never write GGUFs into the repository.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeGguf } from "../../src/formats/gguf/write.js";
import { buildGgufFromHf } from "../../src/tools/convert.js";
import type { ConvertType } from "../../src/formats/gguf/quant_mix.js";

/** Root of the committed fixtures. */
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
/** The real Qwen3 tokenizer directory. */
export const QWEN3_TOKENIZER_DIR = join(FIXTURES, "qwen3-tokenizer");

let dir: string | undefined;
const made = new Map<string, string>();

/** A fresh temp directory for this process's GGUF files (removed at exit). */
export function ggufTempDir(): string {
  if (dir === undefined) {
    const d = mkdtempSync(join(tmpdir(), "qwenrt-gguf-"));
    dir = d;
    process.on("exit", () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/**
 * Path of `test/fixtures/models/<model>` converted to GGUF `type` with the Qwen3 tokenizer (in
 * memory, by the reference encoders: synchronous, and independent of the wasm build).
 *
 * @example
 * const path = fixtureGguf("qwen3-dense-tiny", "f32");
 */
export function fixtureGguf(model: string, type: ConvertType): string {
  const key = `${model}-${type}`;
  let path = made.get(key);
  if (path === undefined) {
    path = join(ggufTempDir(), `${key}.gguf`);
    writeGguf(path, buildGgufFromHf(join(FIXTURES, "models", model), { type, tokenizerDir: QWEN3_TOKENIZER_DIR }));
    made.set(key, path);
  }
  return path;
}

/** The first `n` bytes of `path` written to `name` in this process's GGUF temp directory; returns its path. */
export function truncatedCopy(path: string, n: number, name: string): string {
  const buf = new Uint8Array(n);
  const fd = openSync(path, "r");
  try {
    readSync(fd, buf, 0, n, 0);
  } finally {
    closeSync(fd);
  }
  const out = join(ggufTempDir(), name);
  writeFileSync(out, buf);
  return out;
}
