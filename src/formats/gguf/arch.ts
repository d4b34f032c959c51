/**
 * GGUF architecture metadata ↔ Hugging Face `config.json` fields, one declared table per
 * architecture (llama.cpp `general.architecture` values `qwen3`, `qwen3moe`, `qwen2`, and the hybrid
 * `qwen3next`, `qwen35`, `qwen35moe` whose extra keys arch_hybrid.ts handles), and the GGUF tensors
 * renamed to the HF checkpoint names the model builders declare.
 */
import { QwenrtError } from "../../util/errors.js";
import { hybridFieldsFromGguf } from "./arch_hybrid.js";
import type { WeightType } from "../quant/types.js";
import { mapGgufTensorName } from "./names.js";
import type { TensorSource } from "../tensor_source.js";
import type { GgufFile, GgufIndex, GgufMeta } from "./read.js";
import type { GgufNumberType, GgufValue } from "./types.js";

/** One `<arch>.<key>` ↔ `config.json` field; `type` is what llama.cpp's converter writes. */
export interface KeyRule {
  readonly gguf: string; // without the "<arch>." prefix
  readonly hf: string;
  readonly type: "u32" | "f32";
  readonly required: boolean;
}

/** Everything that differs between the supported architectures. */
export interface GgufArchTable {
  readonly ggufArch: string;
  readonly modelType: string;
  readonly hfArchitecture: string;
  readonly keys: readonly KeyRule[];
  /** `config.json` fields llama.cpp fixes for the architecture (it has no GGUF key for them). */
  readonly constants: Readonly<Record<string, unknown>>;
  /** The `model_type` a GGUF's config reads back as (a flat text config of a VL family: `qwen3_5_text`). */
  readonly readModelType?: string;
  /** Gated DeltaNet hybrid: `ssm.*`, recurrent layers, rotary dims, mRoPE sections (arch_hybrid.ts). */
  readonly hybrid?: boolean;
}

const common: readonly KeyRule[] = [
  { gguf: "context_length", hf: "max_position_embeddings", type: "u32", required: true },
  { gguf: "embedding_length", hf: "hidden_size", type: "u32", required: true },
  { gguf: "block_count", hf: "num_hidden_layers", type: "u32", required: true },
  { gguf: "feed_forward_length", hf: "intermediate_size", type: "u32", required: true },
  { gguf: "attention.head_count", hf: "num_attention_heads", type: "u32", required: true },
  { gguf: "attention.head_count_kv", hf: "num_key_value_heads", type: "u32", required: false },
  { gguf: "rope.freq_base", hf: "rope_theta", type: "f32", required: false },
  { gguf: "attention.layer_norm_rms_epsilon", hf: "rms_norm_eps", type: "f32", required: true },
];
const headDim: KeyRule = { gguf: "attention.key_length", hf: "head_dim", type: "u32", required: false };
const moe: readonly KeyRule[] = [
  { gguf: "expert_count", hf: "num_experts", type: "u32", required: true },
  { gguf: "expert_used_count", hf: "num_experts_per_tok", type: "u32", required: true },
  { gguf: "expert_feed_forward_length", hf: "moe_intermediate_size", type: "u32", required: true },
];
// The hybrids: head_dim always given; Qwen2MoeModel.set_gguf_parameters adds the shared expert.
const hybridHeadDim: KeyRule = { ...headDim, required: true };
const sharedExpert: KeyRule = { gguf: "expert_shared_feed_forward_length", hf: "shared_expert_intermediate_size", type: "u32", required: true };
// Qwen3.5-MoE's config has no intermediate_size, so no feed_forward_length is written.
const commonNoFfn = common.filter((k) => k.gguf !== "feed_forward_length");

/** The supported architectures. */
export const ggufArchTables: readonly GgufArchTable[] = [
  { ggufArch: "qwen3", modelType: "qwen3", hfArchitecture: "Qwen3ForCausalLM", keys: [...common, headDim], constants: {} },
  {
    ggufArch: "qwen3moe",
    modelType: "qwen3_moe",
    hfArchitecture: "Qwen3MoeForCausalLM",
    keys: [...common, headDim, ...moe],
    // llama.cpp's qwen3moe graph always renormalizes the top-k weights and makes every layer sparse
    constants: { norm_topk_prob: true, decoder_sparse_step: 1, mlp_only_layers: [] },
  },
  { ggufArch: "qwen2", modelType: "qwen2", hfArchitecture: "Qwen2ForCausalLM", keys: [...common, headDim], constants: {} },
  {
    ggufArch: "qwen3next",
    modelType: "qwen3_next",
    hfArchitecture: "Qwen3NextForCausalLM",
    keys: [...common, hybridHeadDim, ...moe, sharedExpert],
    // llama.cpp's qwen3next graph renormalises the top-k weights and makes every layer sparse
    constants: { norm_topk_prob: true, decoder_sparse_step: 1, mlp_only_layers: [] },
    hybrid: true,
  },
  { ggufArch: "qwen35", modelType: "qwen3_5", readModelType: "qwen3_5_text", hfArchitecture: "Qwen3_5ForCausalLM", keys: [...common, hybridHeadDim], constants: {}, hybrid: true },
  {
    ggufArch: "qwen35moe",
    modelType: "qwen3_5_moe",
    readModelType: "qwen3_5_moe_text",
    hfArchitecture: "Qwen3_5MoeForCausalLM",
    keys: [...commonNoFfn, hybridHeadDim, ...moe, sharedExpert],
    constants: {},
    hybrid: true,
  },
];

/** The table for a GGUF `general.architecture`, or an error listing the supported ones. */
export function archByGguf(arch: string, where: string): GgufArchTable {
  const t = ggufArchTables.find((a) => a.ggufArch === arch);
  if (t === undefined) {
    throw new QwenrtError(where, `"general.architecture" ${JSON.stringify(arch)} is not supported (supported: ${ggufArchTables.map((a) => a.ggufArch).join(", ")})`, { code: "unsupported" });
  }
  return t;
}

/** The table for an HF `model_type`, or an error listing the supported ones. */
export function archByModelType(modelType: string, where: string): GgufArchTable {
  const t = ggufArchTables.find((a) => a.modelType === modelType);
  if (t === undefined) {
    throw new QwenrtError(where, `"model_type" ${JSON.stringify(modelType)} cannot be written as GGUF (supported: ${ggufArchTables.map((a) => a.modelType).join(", ")})`, { code: "unsupported" });
  }
  return t;
}

/** A numeric metadata value (any GGUF number type) or undefined; other types are an error. */
export function metaNumber(md: ReadonlyMap<string, GgufValue>, key: string, where: string): number | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value === "bigint") return Number(v.value);
  if (typeof v.value !== "number") throw new QwenrtError(where, `"${key}" must be a number, got ${v.type}`);
  return v.value;
}

/** A string metadata value or undefined; other types are an error. */
export function metaString(md: ReadonlyMap<string, GgufValue>, key: string, where: string): string | undefined {
  const v = md.get(key);
  if (v === undefined) return undefined;
  if (v.type !== "string") throw new QwenrtError(where, `"${key}" must be a string, got ${v.type}`);
  return v.value;
}

/**
 * The GGUF's hyper-parameters as a `config.json`-shaped object (HF field names), for the same
 * config parser (`parseModelConfig`) that checks HF checkpoints.
 *
 * @example
 * const config = parseModelConfig(ggufToHfConfig(g), g.path);
 */
export function ggufToHfConfig(g: GgufModelHeader): Record<string, unknown> {
  const arch = metaString(g.metadata, "general.architecture", g.path);
  if (arch === undefined) throw new QwenrtError(g.path, `"general.architecture" is missing`);
  const t = archByGguf(arch, g.path);
  const out: Record<string, unknown> = { model_type: t.readModelType ?? t.modelType, architectures: [t.hfArchitecture], hidden_act: "silu", ...t.constants };
  for (const k of t.keys) {
    const key = `${arch}.${k.gguf}`;
    const v = metaNumber(g.metadata, key, g.path);
    if (v === undefined) {
      if (k.required) throw new QwenrtError(g.path, `metadata "${key}" (config "${k.hf}") is missing`);
      continue;
    }
    out[k.hf] = v;
  }
  // A count the loader allocates by must match the file: blocks are the tensors' blk.N prefixes.
  let blocks = 0;
  for (const name of g.tensors.keys()) {
    const m = /^blk\.(\d+)\./.exec(name);
    if (m !== null) blocks = Math.max(blocks, Number(m[1]) + 1);
  }
  if (out.num_hidden_layers !== blocks) {
    throw new QwenrtError(g.path, `metadata "${arch}.block_count" is ${String(out.num_hidden_layers)} but the file's tensors hold ${blocks} blocks (blk.0 … blk.${blocks - 1})`);
  }
  const embd = g.tensors.get("token_embd.weight");
  if (embd === undefined) throw new QwenrtError(g.path, `tensor "token_embd.weight" is missing`);
  out.vocab_size = embd.shape[0];
  out.tie_word_embeddings = !g.tensors.has("output.weight");
  if (t.modelType !== "qwen2") out.attention_bias = g.tensors.has("blk.0.attn_q.bias");
  if (t.hybrid === true) {
    // MTP blocks follow the decoder's in block_count (_QwenMtpMixin): the decoder is the rest.
    const layers = ggufDecoderLayers(g);
    out.num_hidden_layers = layers;
    const reader = {
      number: (key: string): number | undefined => metaNumber(g.metadata, key, g.path),
      array: (key: string): readonly unknown[] | undefined => {
        const v = g.metadata.get(key);
        if (v === undefined) return undefined;
        if (v.type !== "array") throw new QwenrtError(g.path, `"${key}" must be an array, got ${v.type}`);
        return v.value.items;
      },
    };
    const headDim = metaNumber(g.metadata, `${arch}.attention.key_length`, g.path);
    if (headDim === undefined) throw new QwenrtError(g.path, `metadata "${arch}.attention.key_length" (config "head_dim") is missing`);
    Object.assign(out, hybridFieldsFromGguf(arch, reader, headDim, layers, g.path));
  }
  const scaling = metaString(g.metadata, `${arch}.rope.scaling.type`, g.path);
  if (scaling !== undefined && scaling !== "none") {
    const factor = metaNumber(g.metadata, `${arch}.rope.scaling.factor`, g.path);
    const rs: Record<string, unknown> = { rope_type: scaling, factor };
    const extra: readonly [string, string][] = [
      ["original_context_length", "original_max_position_embeddings"],
      ["yarn_beta_fast", "beta_fast"],
      ["yarn_beta_slow", "beta_slow"],
      ["yarn_attn_factor", "attention_factor"],
    ];
    for (const [gk, hk] of extra) {
      const v = metaNumber(g.metadata, `${arch}.rope.scaling.${gk}`, g.path);
      if (v !== undefined) rs[hk] = v;
    }
    // A config with rope_parameters (Qwen3.5) keeps the scaling fields there.
    if (typeof out.rope_parameters === "object" && out.rope_parameters !== null) Object.assign(out.rope_parameters, rs);
    else out.rope_scaling = rs;
  }
  const bos = metaNumber(g.metadata, "tokenizer.ggml.bos_token_id", g.path);
  const eos = metaNumber(g.metadata, "tokenizer.ggml.eos_token_id", g.path);
  if (bos !== undefined) out.bos_token_id = bos;
  if (eos !== undefined) out.eos_token_id = eos;
  return out;
}

/**
 * Decoder layers of a GGUF: `block_count` less the multi-token-prediction blocks llama.cpp's converter
 * appends to it (`<arch>.nextn_predict_layers`).
 */
export function ggufDecoderLayers(g: GgufMeta): number {
  const arch = metaString(g.metadata, "general.architecture", g.path) ?? "";
  const blocks = metaNumber(g.metadata, `${arch}.block_count`, g.path);
  if (blocks === undefined) throw new QwenrtError(g.path, `metadata "${arch}.block_count" (config "num_hidden_layers") is missing`);
  return blocks - (metaNumber(g.metadata, `${arch}.nextn_predict_layers`, g.path) ?? 0);
}

/** What config parsing needs of a GGUF model: metadata and the tensors' shapes (data or not). */
export type GgufModelHeader = GgufMeta & { readonly tensors: ReadonlyMap<string, { readonly shape: readonly number[] }> };

/** A tensor under its HF name: a zero-copy view into the GGUF buffer, or its range of the file. */
export type HfNamedTensor = TensorSource;

/**
 * Every GGUF tensor renamed to its HF checkpoint name; stacked expert tensors become one view (or
 * file range) per expert. Names outside the table are an error naming them (strict, like the
 * safetensors path).
 *
 * @example
 * await loadWeights(ggufTensorsAsHf(g), arch.weightTable(config), backend, g.path);
 */
export function ggufTensorsAsHf(g: GgufFile | GgufIndex): Map<string, HfNamedTensor> {
  const out = new Map<string, HfNamedTensor>();
  const unknown: string[] = [];
  const layers = ggufDecoderLayers(g);
  for (const t of g.tensors.values()) {
    if (ggufMtpTensor(t.name, layers)) continue; // MTP heads: not run (loadGgufModel reports them)
    const m = mapGgufTensorName(t.name);
    if (m === undefined) {
      unknown.push(t.name);
      continue;
    }
    if (m.kind === "plain") {
      out.set(m.hf, "bytes" in t ? { type: t.type, shape: t.shape, bytes: t.bytes } : { type: t.type, shape: t.shape, file: t.file, name: t.name, begin: t.begin, byteLength: t.byteLength });
      continue;
    }
    if (t.shape.length !== 3) throw new QwenrtError(g.path, `tensor "${t.name}" must be 3-D [experts, rows, cols], got [${t.shape.join(", ")}]`);
    const [experts, rows, cols] = t.shape as [number, number, number];
    const per = ("bytes" in t ? t.bytes.byteLength : t.byteLength) / experts;
    for (let e = 0; e < experts; e++) {
      const shape = [rows, cols];
      out.set(
        `model.layers.${m.layer}.mlp.experts.${e}.${m.hfPart}${m.suffix}`,
        "bytes" in t
          ? { type: t.type, shape, bytes: t.bytes.subarray(e * per, (e + 1) * per) }
          : { type: t.type, shape, file: t.file, name: `${t.name} (expert ${e})`, begin: t.begin + e * per, byteLength: per },
      );
    }
  }
  if (unknown.length > 0) throw new QwenrtError(g.path, `tensors with no Hugging Face name: ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", …" : ""}`);
  return out;
}

/** A tensor of the multi-token-prediction blocks that follow the decoder's `layers` blocks. */
export function ggufMtpTensor(name: string, layers: number): boolean {
  const m = /^blk\.(\d+)\./.exec(name);
  return m !== null && Number(m[1]) >= layers;
}

/** Metadata value constructors (typed the way llama.cpp's converter types them). */
export const gv = {
  str: (value: string): GgufValue => ({ type: "string", value }),
  u32: (value: number): GgufValue => ({ type: "u32", value }),
  i32: (value: number): GgufValue => ({ type: "i32", value }),
  f32: (value: number): GgufValue => ({ type: "f32", value: Math.fround(value) }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  num: (type: GgufNumberType, value: number): GgufValue => ({ type, value }),
};
