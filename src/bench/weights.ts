/**
 * The weights side of a comparison: which GGUF type matches a qwenrt run, converting (and caching)
 * that GGUF from the same HF directory, and how many weight bytes one decode step of a GGUF reads.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { convertHfToGguf } from "../tools/convert.js";
import type { ConvertType } from "../formats/gguf/quant_mix.js";
import { ggufMetaInt, readGgufIndex } from "../formats/gguf/read.js";
import { QwenrtError } from "../util/errors.js";
import { isObject, readJsonFile } from "../util/json.js";

/** qwenrt's quantize-on-load types. */
export type BenchDtype = "q8_0" | "q4_0" | "q4_k";

/** What a decode step of a GGUF model reads, and what it holds. */
export interface GgufWeights {
  /** Bytes of the matrices one decode step multiplies by (active experts only; the LM head once). */
  readonly bytesPerToken: number;
  /** The most common matrix type, e.g. "q8_0", with "+q6_k"-style notes for the rest. */
  readonly type: string;
  /** Token ids usable in prompts: the smaller of the tokenizer's and the embedding's sizes. */
  readonly vocab: number;
}

/**
 * The llama.cpp file type that matches a qwenrt run of an HF checkpoint: the checkpoint's float
 * type (bf16 → f16, llama.cpp's well-trodden 16-bit path) or the quantize-on-load type.
 *
 * @example
 * matchingGgufType("bf16", "q4_0"); // "q4_0"
 */
export function matchingGgufType(checkpointDtype: string, dtype: BenchDtype | undefined): ConvertType {
  if (dtype === "q8_0" || dtype === "q4_0") return dtype;
  if (dtype === "q4_k") return "q4_k_m";
  return checkpointDtype === "f32" ? "f32" : "f16";
}

/** The checkpoint's dtype from config.json (`torch_dtype` / `dtype`), as bf16 | f16 | f32. */
export function checkpointDtype(dir: string): string {
  const raw = readJsonFile(join(dir, "config.json"));
  const d = isObject(raw) ? (raw.torch_dtype ?? raw.dtype) : undefined;
  const map: Record<string, string> = { bfloat16: "bf16", float16: "f16", float32: "f32" };
  return typeof d === "string" ? (map[d] ?? d) : "bf16";
}

/** `vocab_size` from config.json. */
export function configVocab(dir: string): number {
  const raw = readJsonFile(join(dir, "config.json"));
  const v = isObject(raw) ? raw.vocab_size : undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new QwenrtError(join(dir, "config.json"), `"vocab_size" must be a positive integer`);
  return v;
}

/**
 * The GGUF of `dir` with type `type` in `cacheDir`, converted on first use. The cache key covers the
 * directory's path and its weight files' sizes and times, so a re-synthesized model converts again.
 *
 * @example
 * const path = await cachedGguf(".bench/qwen3-0.6b", "q8_0", ".bench/gguf", console.error);
 */
export async function cachedGguf(dir: string, type: ConvertType, cacheDir: string, log: (line: string) => void): Promise<string> {
  const h = createHash("sha256").update(resolve(dir));
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith(".safetensors") && f !== "config.json") continue;
    const st = statSync(join(dir, f));
    h.update(`\0${f}\0${st.size}\0${st.mtimeMs}`);
  }
  // Quantized comparisons use llama-quantize's --pure layout: every matrix in the one type, as
  // qwenrt's quantize-on-load (--dtype) does, so both engines stream the same weights.
  const pure = type !== "f16" && type !== "f32" && type !== "bf16";
  const path = join(cacheDir, `${basename(resolve(dir))}-${type}${pure ? "-pure" : ""}-${h.digest("hex").slice(0, 12)}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  log(`converting ${dir} to ${type} GGUF for llama.cpp: ${path}`);
  await convertHfToGguf(dir, path, { type, log, pure }); // written under a temp name, renamed when complete
  return path;
}

/**
 * Read a GGUF's tensor table (the header only: big models are not read) and count the bytes a decode step streams: every matrix (≥ 2 dims),
 * the embedding only when it doubles as the LM head (no `output.weight`), expert tensors scaled by
 * `expert_used_count / expert_count`.
 *
 * @example
 * ggufWeights("qwen3-0.6b-q8_0.gguf").bytesPerToken; // ≈ 6.3e8
 */
export function ggufWeights(path: string): GgufWeights {
  const g = readGgufIndex(path);
  const arch = g.metadata.get("general.architecture");
  const prefix = arch?.type === "string" ? arch.value : "";
  const experts = ggufMetaInt(g, `${prefix}.expert_count`) ?? 0;
  const used = ggufMetaInt(g, `${prefix}.expert_used_count`) ?? experts;
  const tied = !g.tensors.has("output.weight");
  let bytes = 0;
  const byType = new Map<string, number>();
  for (const t of g.tensors.values()) {
    if (t.dims.length < 2) continue;
    byType.set(t.type, (byType.get(t.type) ?? 0) + t.byteLength);
    if (t.name === "token_embd.weight" && !tied) continue;
    bytes += t.name.includes("_exps.") && experts > 0 ? (t.byteLength * used) / experts : t.byteLength;
  }
  const types = [...byType].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const tokens = g.metadata.get("tokenizer.ggml.tokens");
  const embd = g.tensors.get("token_embd.weight");
  const vocabs = [tokens?.type === "array" ? tokens.value.items.length : Infinity, embd?.dims[1] ?? Infinity];
  const vocab = Math.min(...vocabs);
  if (!Number.isFinite(vocab)) throw new QwenrtError(path, "has neither tokenizer.ggml.tokens nor token_embd.weight: cannot size prompts");
  return { bytesPerToken: bytes, type: types.join("+"), vocab };
}
