/**
 * Test helper: a complete model directory (a fixture checkpoint plus the real Qwen3 tokenizer files)
 * in a temporary folder, as a user would have after `qwenrt pull`.
 */
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensorsDirIndex } from "../../src/formats/safetensors.js";

const fixtures = new URL("../fixtures/", import.meta.url).pathname;

/** Copy `test/fixtures/models/<name>` and the tokenizer files into a new temp dir; returns its path. */
export function completeModelDir(name: "qwen3-dense-tiny" | "qwen3-moe-tiny" | "qwen2-tiny"): string {
  const dir = mkdtempSync(join(tmpdir(), `qwenrt-${name}-`));
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(fixtures, "models", name, f), join(dir, f));
  }
  for (const f of readdirSync(join(fixtures, "qwen3-tokenizer"))) copyFileSync(join(fixtures, "qwen3-tokenizer", f), join(dir, f));
  return dir;
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
