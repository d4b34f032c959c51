/**
 * Test helper: a complete model directory (a fixture checkpoint plus the real Qwen3 tokenizer files)
 * in a temporary folder, as a user would have after `qwenrt pull`. Directories made here are removed
 * when the test process exits (or earlier with `removeModelDir`), so test runs leave nothing in /tmp.
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsDirIndex } from "../../src/formats/safetensors.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;
const made = new Set<string>();
let hooked = false;

/** Copy `test/fixtures/models/<name>` and the tokenizer files into a new temp dir; returns its path. */
export function completeModelDir(name: "qwen3-dense-tiny" | "qwen3-moe-tiny" | "qwen2-tiny"): string {
  const dir = mkdtempSync(join(tmpdir(), `qwenrt-${name}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtures, "models", name, f), join(dir, f));
  }
  for (const f of readdirSync(join(fixtures, "qwen3-tokenizer"))) copyFileSync(join(fixtures, "qwen3-tokenizer", f), join(dir, f));
  return dir;
}

/** Remove a directory made by `completeModelDir` now. */
export function removeModelDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  made.delete(dir);
}

/** Overwrite the first value of tensor `name` in a model directory with a NaN of its type. */
export async function poisonTensor(dir: string, name: string): Promise<void> {
  const t = (await readSafetensorsDirIndex(dir)).tensors.get(name);
  if (t === undefined) throw new Error(`no tensor ${name} in ${dir}`);
  const nan = t.type === "f32" ? Buffer.from([0, 0, 0xc0, 0x7f]) : t.type === "bf16" ? Buffer.from([0xc0, 0x7f]) : Buffer.from([0x00, 0x7e]);
  const fd = openSync(t.file, "r+");
  try {
    writeSync(fd, nan, 0, nan.length, t.begin);
  } finally {
    closeSync(fd);
  }
}
