/**
 * Load a `.gguf` model (llama.cpp's format) into the same `Model` as a Hugging Face directory: the
 * metadata becomes a `config.json`-shaped object checked by the same `parseModelConfig`, the tensors
 * are renamed to the checkpoint names the architecture declares and loaded strictly. Errors speak
 * GGUF: they name the file and the GGUF key or tensor, not the HF field it maps to.
 */
import { archByGguf, ggufDecoderLayers, ggufMtpTensor, ggufTensorsAsHf, ggufToHfConfig, metaNumber, metaString, type GgufModelHeader, type HfNamedTensor } from "../formats/gguf/arch.js";
import { mapHfTensorName } from "../formats/gguf/names.js";
import { readGgufIndex, type GgufFile, type GgufMeta } from "../formats/gguf/read.js";
import { createRefBackend } from "../kernels/ref/index.js";
import type { WeightSpec } from "../layers/context.js";
import { QwenrtError } from "../util/errors.js";
import type { ModelConfig } from "./config.js";
import { parseGenerationConfig, type GenerationConfig } from "./generation_config.js";
import type { Model } from "./model.js";
import { assembleModel } from "./assemble.js";
import { GGUF_LAYOUT } from "./architecture.js";
import { getArchitecture, parseModelConfig } from "./registry.js";
import { recordSkippedTensors, type LoadOptions } from "./load_info.js";
import { loaderPreflight } from "./preflight.js";
import { loadWeights } from "./weights.js";

/** `config.json` fields that come from somewhere other than an `<arch>.*` key. */
const derivedFields: Readonly<Record<string, string>> = {
  vocab_size: 'tensor "token_embd.weight"',
  tie_word_embeddings: 'tensor "output.weight"',
  attention_bias: 'tensor "blk.0.attn_q.bias"',
  bos_token_id: "tokenizer.ggml.bos_token_id",
  eos_token_id: "tokenizer.ggml.eos_token_id",
  model_type: "general.architecture",
};

/** `rope_scaling.<field>` ↔ `<arch>.rope.scaling.<key>` (the inverse of what `ggufToHfConfig` reads). */
const ropeFields: Readonly<Record<string, string>> = {
  rope_type: "type",
  factor: "factor",
  original_max_position_embeddings: "original_context_length",
  beta_fast: "yarn_beta_fast",
  beta_slow: "yarn_beta_slow",
  attention_factor: "yarn_attn_factor",
};

/** llama.cpp's recommended-sampling keys ↔ `generation_config.json` fields. */
const samplingKeys: readonly (readonly [gguf: string, hf: string])[] = [
  ["general.sampling.temp", "temperature"],
  ["general.sampling.top_k", "top_k"],
  ["general.sampling.top_p", "top_p"],
  ["general.sampling.min_p", "min_p"],
  ["general.sampling.penalty_repeat", "repetition_penalty"],
];

/**
 * The GGUF key a `config.json` field comes from, for error messages.
 *
 * @example
 * ggufKeyOfConfigField("qwen3", "num_attention_heads"); // "qwen3.attention.head_count"
 */
export function ggufKeyOfConfigField(ggufArch: string, field: string): string | undefined {
  const rule = archByGguf(ggufArch, "general.architecture").keys.find((k) => k.hf === field);
  if (rule !== undefined) return `${ggufArch}.${rule.gguf}`;
  if (field in derivedFields) return derivedFields[field];
  const rope = /^rope_scaling(?:\.(\w+))?$/.exec(field);
  if (rope !== null) return `${ggufArch}.rope.scaling.${ropeFields[rope[1] ?? "rope_type"] ?? rope[1]}`;
  return undefined;
}

/** `parseModelConfig` on the GGUF's metadata, its errors rewritten to name the GGUF key. */
export function ggufModelConfig(g: GgufModelHeader): ModelConfig {
  const raw = ggufToHfConfig(g); // names the file and GGUF key itself
  const arch = metaString(g.metadata, "general.architecture", g.path)!;
  try {
    return parseModelConfig(raw, g.path);
  } catch (e) {
    if (!(e instanceof QwenrtError) || e.where !== g.path) throw e;
    const body = e.message.slice(g.path.length + 2);
    const m = /^"([\w.]+)" ?(.*)$/s.exec(body);
    const key = m === null ? undefined : ggufKeyOfConfigField(arch, m[1]!);
    if (m === null || key === undefined) throw e;
    // Other fields the message mentions ("num_key_value_heads") are named by their GGUF keys too.
    const rest = m[2]!.replace(/"([\w.]+)"/g, (whole, f: string) => {
      const k = ggufKeyOfConfigField(arch, f);
      return k === undefined ? whole : k.startsWith("tensor ") ? k : `"${k}"`;
    });
    throw new QwenrtError(`${g.path}: ${key}`, rest, { code: e.code, cause: e });
  }
}

/**
 * Generation defaults a GGUF carries: stop ids from `tokenizer.ggml.eos_token_id` (plus the
 * end-of-turn / end-of-message ids when present), bos/pad ids, and llama.cpp's `general.sampling.*`.
 */
export function ggufGenerationConfig(g: GgufMeta): GenerationConfig {
  const raw: Record<string, unknown> = {};
  const id = (key: string): number | undefined => metaNumber(g.metadata, key, g.path);
  const eos = [id("tokenizer.ggml.eos_token_id"), id("tokenizer.ggml.eot_token_id"), id("tokenizer.ggml.eom_token_id")];
  raw.eos_token_id = [...new Set(eos.filter((x): x is number => x !== undefined))];
  raw.bos_token_id = id("tokenizer.ggml.bos_token_id");
  raw.pad_token_id = id("tokenizer.ggml.padding_token_id");
  for (const [key, field] of samplingKeys) raw[field] = id(key);
  try {
    return parseGenerationConfig(raw, g.path);
  } catch (e) {
    if (!(e instanceof QwenrtError) || e.where !== g.path) throw e;
    const body = e.message.slice(g.path.length + 2);
    const field = /^"(\w+)"/.exec(body)?.[1];
    const key = samplingKeys.find(([, hf]) => hf === field)?.[0] ?? (field === "eos_token_id" ? "tokenizer.ggml.eos_token_id" : `tokenizer.ggml.${field}`);
    throw new QwenrtError(`${g.path}: ${key}`, body.replace(/^"\w+" ?/, ""), { code: e.code, cause: e });
  }
}

/**
 * A declared HF tensor name shown as the GGUF tensor it comes from; one expert of a stacked tensor
 * the file does hold is `blk.0.ffn_up_exps.weight (expert 3)`.
 */
function ggufName(g: GgufModelHeader, hf: string): string {
  const m = mapHfTensorName(hf, metaString(g.metadata, "general.architecture", g.path));
  if (m === undefined) return hf;
  return m.kind === "plain" || !g.tensors.has(m.gguf) ? m.gguf : `${m.gguf} (expert ${m.expert})`;
}

function list(names: readonly string[], limit = 12): string {
  const shown = names.slice(0, limit).join(", ");
  return names.length > limit ? `${shown}, … (${names.length} in all)` : shown;
}

/**
 * Check the renamed tensors against the architecture's table, naming GGUF tensors: missing ones,
 * ones the model does not use, and shape mismatches. (`loadWeights` then finds nothing to report.)
 */
function checkGgufTensors(g: GgufModelHeader, tensors: ReadonlyMap<string, HfNamedTensor>, table: readonly WeightSpec[]): void {
  const missing = [...new Set(table.filter((s) => !tensors.has(s.name)).map((s) => ggufName(g, s.name)))];
  if (missing.length > 0) throw new QwenrtError(g.path, `missing tensor${missing.length > 1 ? "s" : ""}: ${list(missing)}`);
  const declared = new Set(table.map((s) => s.name));
  const extra = [...new Set([...tensors.keys()].filter((n) => !declared.has(n)).map((n) => ggufName(g, n)))];
  if (extra.length > 0) throw new QwenrtError(g.path, `unused tensor${extra.length > 1 ? "s" : ""} the model does not declare: ${list(extra)}`);
  for (const s of table) {
    const t = tensors.get(s.name)!;
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      const rev = (a: readonly number[]): string => `[${a.slice().reverse().join(", ")}]`;
      throw new QwenrtError(g.path, `tensor "${ggufName(g, s.name)}" has ggml dims ${rev(t.shape)}, expected ${rev(s.shape)}`);
    }
  }
}

/**
 * Load a `.gguf` file (for a split model, any part) into a ready-to-run `Model`. Quantized tensors
 * reach `backend.loadMatrix` in their stored type. Given a path, only the headers are parsed up
 * front and each tensor is read from disk as it is loaded (one tensor in host memory at a time);
 * given a parsed file, its in-memory tensors are loaded. Either way `load` events report progress.
 *
 * @example
 * const model = await loadGgufModel("Qwen3-0.6B-Q8_0.gguf");
 */
export async function loadGgufModel(source: string | GgufFile, opts: LoadOptions = {}): Promise<Model> {
  const g = typeof source === "string" ? readGgufIndex(source) : source;
  const config = ggufModelConfig(g);
  const generation = ggufGenerationConfig(g);
  const arch = getArchitecture(config.modelType, g.path);
  const table = arch.weightTable(config, GGUF_LAYOUT);
  const tensors = ggufTensorsAsHf(g);
  checkGgufTensors(g, tensors, table);
  const backend = opts.backend ?? createRefBackend();
  const contextLength = loaderPreflight(g.path, config, table, tensors, backend, opts);
  const weights = await loadWeights(tensors, table, backend, g.path, { onProgress: opts.onProgress });
  const model = assembleModel(arch, config, generation, weights, backend, GGUF_LAYOUT, contextLength);
  const layers = ggufDecoderLayers(g);
  const mtp = [...g.tensors.keys()].filter((n) => ggufMtpTensor(n, layers)).length;
  const skipped = mtp === 0 ? [] : [{ what: "MTP heads not loaded (multi-token prediction is not used yet)", count: mtp }];
  // Qwen3.5 is a vision-language family; its GGUF holds the text model (the vision tower ships as
  // a separate mmproj file, which qwenrt does not read).
  if (arch.textConfig) skipped.push({ what: "text only: image input is not supported yet (mmproj vision files are not read)", count: 0 });
  recordSkippedTensors(model, skipped);
  return model;
}
