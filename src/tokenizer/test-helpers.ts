/** Shared loading for the tokenizer tests (not part of the public API). */
import { join } from "node:path";
import { readJsonFile } from "../util/json.js";
import { specFromHfJson } from "./load.js";
import type { TokenizerSpec } from "./spec.js";
import { Tokenizer } from "./tokenizer.js";

/** Root of the committed test fixtures. */
export const FIXTURES = join(import.meta.dirname, "../../test/fixtures");
/** The real Qwen3 tokenizer directory. */
export const QWEN3_DIR = join(FIXTURES, "qwen3-tokenizer");

let spec: TokenizerSpec | undefined;
let qwen: Tokenizer | undefined;

/** The Qwen3 tokenizer spec, parsed once per test process. */
export function qwen3Spec(): TokenizerSpec {
  spec ??= specFromHfJson(readJsonFile(join(QWEN3_DIR, "tokenizer.json")), readJsonFile(join(QWEN3_DIR, "tokenizer_config.json")));
  return spec;
}

/** The Qwen3 tokenizer, built once per test process. */
export function qwen3(): Tokenizer {
  qwen ??= new Tokenizer(qwen3Spec(), "qwen3 test tokenizer");
  return qwen;
}
