/**
 * `qwenrt convert`: a Hugging Face checkpoint directory → a GGUF file llama.cpp loads. The model
 * registry checks and parses config.json; `formats/gguf/convert.ts` builds the GGUF contents.
 */
import { join } from "node:path";
import { ggufContentsFromHf, type ConvertOptions } from "../formats/gguf/convert.js";
import { writeGguf, type GgufContents } from "../formats/gguf/write.js";
import { parseModelConfig } from "../models/registry.js";
import { readJsonFile } from "../util/json.js";

export type { ConvertOptions } from "../formats/gguf/convert.js";

/**
 * Build the GGUF contents of an HF checkpoint in memory (tensors quantized as chosen).
 *
 * @example
 * const contents = buildGgufFromHf("models/Qwen3-0.6B", { type: "q8_0" });
 */
export function buildGgufFromHf(modelDir: string, opts: ConvertOptions): GgufContents {
  const configPath = join(modelDir, "config.json");
  const raw = readJsonFile(configPath);
  return ggufContentsFromHf(modelDir, raw, parseModelConfig(raw, configPath), opts);
}

/**
 * Convert an HF checkpoint directory to a GGUF file.
 *
 * @example
 * convertHfToGguf("models/Qwen3-0.6B", "qwen3-0.6b-q4_k_m.gguf", { type: "q4_k_m", log: console.error });
 */
export function convertHfToGguf(modelDir: string, outPath: string, opts: ConvertOptions): GgufContents {
  const contents = buildGgufFromHf(modelDir, opts);
  writeGguf(outPath, contents);
  const counts = new Map<string, number>();
  for (const t of contents.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
  opts.log?.(`wrote ${outPath}: ${contents.tensors.length} tensors (${[...counts].map(([k, v]) => `${v} ${k}`).join(", ")})`);
  return contents;
}
