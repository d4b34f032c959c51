/**
 * GGUF files written by llama.cpp itself (`test/fixtures/llama-gguf/`): the committed
 * `llama-gguf.tar.br` is unpacked once per test process into the GGUF temp dir, each file checked
 * against the sha256 in `manifest.json`.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { FIXTURES, ggufTempDir } from "./gguf-fixture.js";

/** The llama_ftype mixes the fixture holds, by qwenrt's `--type` name. */
export const LLAMA_GGUF_TYPES = ["q8_0", "q4_0", "q4_k_m"] as const;
export type LlamaGgufType = (typeof LLAMA_GGUF_TYPES)[number];

const DIR = join(FIXTURES, "llama-gguf");
let files: Map<string, string> | undefined;

/** Entries of a ustar archive (regular files only): name → bytes (views into `tar`). */
function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const text = (from: number, len: number): string => {
    const s = tar.subarray(from, from + len);
    const end = s.indexOf(0);
    return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
  };
  for (let pos = 0; pos + 512 <= tar.length && tar[pos] !== 0; ) {
    const name = text(pos, 100);
    const size = parseInt(text(pos + 124, 12).trim(), 8);
    const kind = text(pos + 156, 1);
    if (!Number.isFinite(size)) throw new Error(`llama-gguf.tar: bad size field for "${name}"`);
    if (kind === "0" || kind === "") out.set(name, tar.subarray(pos + 512, pos + 512 + size));
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/**
 * Path of llama.cpp's quantization of `test/fixtures/models/<model>` to `type`.
 *
 * @example
 * const path = llamaGguf("qwen3-dense-tiny", "q4_k_m");
 */
export function llamaGguf(model: string, type: LlamaGgufType): string {
  if (files === undefined) {
    const manifest = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8")) as Record<string, { bytes: number; sha256: string }>;
    const entries = untar(new Uint8Array(brotliDecompressSync(readFileSync(join(DIR, "llama-gguf.tar.br")))));
    const made = new Map<string, string>();
    for (const [name, want] of Object.entries(manifest)) {
      const bytes = entries.get(name);
      if (bytes === undefined) throw new Error(`llama-gguf.tar.br has no ${name}`);
      const sha = createHash("sha256").update(bytes).digest("hex");
      if (bytes.length !== want.bytes || sha !== want.sha256) throw new Error(`${name}: sha256 ${sha} (${bytes.length} bytes) differs from manifest.json`);
      const path = join(ggufTempDir(), `llama-${name}`);
      writeFileSync(path, bytes);
      made.set(name, path);
    }
    files = made;
  }
  const path = files.get(`${model}-${type}.gguf`);
  if (path === undefined) throw new Error(`no llama.cpp-written GGUF for ${model} ${type} in test/fixtures/llama-gguf`);
  return path;
}
