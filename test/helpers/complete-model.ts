/**
 * Test helper: a complete model directory (a fixture checkpoint plus the real Qwen3 tokenizer files)
 * in a temporary folder, as a user would have after `qwenrt pull`.
 */
import { copyFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
