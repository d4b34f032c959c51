/**
 * `config.json` → a frozen, typed `ModelConfig`. Required fields stay required; only what the
 * reference derives is derived (`headDim = head_dim ?? hidden_size / num_attention_heads`). Errors
 * name the file, the field and the value. Architecture-specific rules live with each architecture
 * (`models/<type>.ts`); `models/registry.ts` ties the two together.
 */
import { isObject } from "../util/json.js";
import type { RopeScaling } from "../layers/rope.js";
import { ConfigReader } from "./config_reader.js";
import { parseHybridFields, type HybridFields } from "./config_hybrid.js";

export { ConfigReader } from "./config_reader.js";
export type { RopeScaling } from "../layers/rope.js";
export type { LayerType, LinearAttentionConfig } from "./config_hybrid.js";

/** A decoder-only Qwen model's shape and hyper-parameters. Frozen. The hybrid fields
 * (`HybridFields`: layer types, Gated DeltaNet shape, shared expert, mRoPE sections) describe a plain
 * transformer too: every layer full attention, no linear attention, no shared expert. */
export interface ModelConfig extends HybridFields {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number; // dense MLP width
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** Dimensions of each q/k head that RoPE rotates (the first ones): `headDim * partial_rotary_factor`. */
  readonly rotaryDim: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  readonly attentionBias: boolean; // `attention_bias` (qwen3 family); qwen2 always has q/k/v biases
  // Mixture of experts (qwen3_moe); numExperts is 0 for dense models.
  readonly numExperts: number;
  readonly numExpertsPerTok: number;
  readonly moeIntermediateSize: number;
  readonly normTopkProb: boolean;
  readonly decoderSparseStep: number;
  readonly mlpOnlyLayers: readonly number[];
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

/** Where a config keeps its rotary settings: `rope_scaling` (+ top-level `rope_theta`,
 * `partial_rotary_factor`) as transformers 4 writes it, or one `rope_parameters` object (transformers 5,
 * Qwen3.5: `rope_theta`, `rope_type`, `partial_rotary_factor`, `mrope_section` and the scaling fields). */
interface RopeSource {
  readonly field: "rope_scaling" | "rope_parameters";
  readonly raw: Record<string, unknown> | null; // the scaling object (null: none)
  readonly theta: number;
  readonly partialRotaryFactor: number;
}

function readRopeSource(r: ConfigReader): RopeSource {
  const params = r.raw.rope_parameters;
  if (params === undefined || params === null) {
    const raw = r.raw.rope_scaling;
    if (raw !== undefined && raw !== null && !isObject(raw)) r.fail("rope_scaling", `must be an object or null, got ${JSON.stringify(raw)}`);
    return { field: "rope_scaling", raw: raw ?? null, theta: r.posNumber("rope_theta", 10000), partialRotaryFactor: r.posNumber("partial_rotary_factor", 1) };
  }
  if (!isObject(params)) r.fail("rope_parameters", `must be an object, got ${JSON.stringify(params)}`);
  if (r.has("rope_scaling")) r.fail("rope_scaling", 'cannot be given beside "rope_parameters"');
  const p = new ConfigReader(params, r.file, "rope_parameters.");
  const theta = p.posNumber("rope_theta", r.has("rope_theta") ? r.posNumber("rope_theta") : undefined);
  const partial = p.posNumber("partial_rotary_factor", r.has("partial_rotary_factor") ? r.posNumber("partial_rotary_factor") : 1);
  // A value given twice must agree (Qwen3.5 repeats rope_theta and partial_rotary_factor at the top level).
  for (const [field, v] of [["rope_theta", theta], ["partial_rotary_factor", partial]] as const) {
    if (r.has(field) && r.raw[field] !== v) r.fail(field, `is ${JSON.stringify(r.raw[field])} but "rope_parameters.${field}" is ${v}`);
  }
  return { field: "rope_parameters", raw: params, theta, partialRotaryFactor: partial };
}

function parseRopeScaling(r: ConfigReader, src: RopeSource, maxPositionEmbeddings: number): RopeScaling {
  const raw = src.raw;
  if (raw === null) return { type: "default" };
  const type = raw.rope_type ?? raw.type;
  if (type === "default" || (type === undefined && src.field === "rope_parameters")) return { type: "default" };
  if (type !== "yarn") {
    r.fail(`${src.field}.rope_type`, `${JSON.stringify(type)} is not supported (supported: "default", "yarn")`);
  }
  const s = new ConfigReader(raw, r.file, `${src.field}.`);
  const named = (field: string): string => `${src.field}.${field}`;
  const num = (field: string, positive: boolean): number | null => {
    const v = raw[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isFinite(v) || (positive ? v <= 0 : v < 0)) {
      r.fail(named(field), `must be a ${positive ? "positive" : "non-negative"} number, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const original = num("original_max_position_embeddings", true);
  if (original !== null && !Number.isSafeInteger(original)) {
    r.fail(named("original_max_position_embeddings"), `must be a positive integer, got ${original}`);
  }
  // transformers 5: an explicit factor wins; without one it is max_position / original.
  let factor = num("factor", true);
  if (factor === null) {
    if (original === null) r.fail(named("factor"), "is required for yarn (or give original_max_position_embeddings)");
    factor = maxPositionEmbeddings / original;
  }
  if (factor < 1) r.fail(named("factor"), `must be >= 1, got ${factor}`);
  const truncate = s.bool("truncate", true);
  return {
    type: "yarn",
    factor,
    originalMaxPositionEmbeddings: original ?? maxPositionEmbeddings,
    // `or` in the reference: 0 / null fall back to the paper's defaults.
    betaFast: num("beta_fast", false) || 32,
    betaSlow: num("beta_slow", false) || 1,
    mscale: num("mscale", false),
    mscaleAllDim: num("mscale_all_dim", false),
    attentionFactor: num("attention_factor", true),
    truncate,
  };
}

/** Which optional parts an architecture uses (decides which fields are required). */
export interface ConfigRules {
  readonly moe: boolean;
  /** Every layer sparse and the top-k always renormalised (qwen3_5_moe: its config has no
   * `decoder_sparse_step`, `mlp_only_layers`, `norm_topk_prob` nor `intermediate_size`). */
  readonly moeEveryLayer?: boolean;
  /** Hybrid Gated DeltaNet / gated attention fields (`config_hybrid.ts`); allows partial RoPE. */
  readonly hybrid?: boolean;
}

/**
 * Parse the fields every supported architecture shares (and the MoE ones when `rules.moe`).
 * Cross-field checks shared by all architectures happen here; the result is frozen.
 */
export function parseBaseConfig(r: ConfigReader, modelType: string, rules: ConfigRules): ModelConfig {
  const hiddenSize = r.posInt("hidden_size");
  const numHeads = r.posInt("num_attention_heads");
  const numKvHeads = r.posInt("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) {
    r.fail("num_attention_heads", `(${numHeads}) must be a multiple of "num_key_value_heads" (${numKvHeads})`);
  }
  let headDim: number;
  if (r.has("head_dim")) headDim = r.posInt("head_dim");
  else {
    if (hiddenSize % numHeads !== 0) {
      r.fail("hidden_size", `(${hiddenSize}) must be a multiple of "num_attention_heads" (${numHeads}) when "head_dim" is absent`);
    }
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) r.fail("head_dim", `must be even for rotary embeddings, got ${headDim}`);
  const act = r.raw.hidden_act;
  if (act !== undefined && act !== "silu") r.fail("hidden_act", `${JSON.stringify(act)} is not supported (only "silu")`);
  if (r.raw.use_sliding_window === true) r.fail("use_sliding_window", "true is not supported");
  const rope = readRopeSource(r);
  const prf = rope.partialRotaryFactor;
  const prfField = rope.field === "rope_parameters" ? "rope_parameters.partial_rotary_factor" : "partial_rotary_factor";
  if (rules.hybrid !== true && prf !== 1) r.fail(prfField, `${JSON.stringify(prf)} is not supported (only 1)`);
  if (prf > 1) r.fail(prfField, `must be <= 1, got ${prf}`);
  const rotaryDim = Math.trunc(headDim * prf); // int(head_dim * partial_rotary_factor), as transformers
  if (rotaryDim === 0 || rotaryDim % 2 !== 0) r.fail(prfField, `${prf} of "head_dim" ${headDim} gives ${rotaryDim} rotary dimensions, which must be even and > 0`);
  const numLayers = r.posInt("num_hidden_layers");
  const maxPositionEmbeddings = r.posInt("max_position_embeddings");
  const vocabSize = r.posInt("vocab_size");

  let numExperts = 0;
  let numExpertsPerTok = 0;
  let moeIntermediateSize = 0;
  let normTopkProb = false;
  let decoderSparseStep = 1;
  let mlpOnlyLayers: number[] = [];
  if (rules.moe && rules.moeEveryLayer === true) {
    for (const field of ["decoder_sparse_step", "mlp_only_layers"]) if (r.has(field)) r.fail(field, "is not a field of this architecture (every layer is sparse)");
    if (r.has("norm_topk_prob") && r.raw.norm_topk_prob !== true) r.fail("norm_topk_prob", "must be true: this architecture always renormalises the top-k weights");
    numExperts = r.posInt("num_experts");
    numExpertsPerTok = r.posInt("num_experts_per_tok");
    moeIntermediateSize = r.posInt("moe_intermediate_size");
    normTopkProb = true;
    if (numExpertsPerTok > numExperts) r.fail("num_experts_per_tok", `must be <= "num_experts" (${numExperts}), got ${numExpertsPerTok}`);
  } else if (rules.moe) {
    numExperts = r.nonNegInt("num_experts", 0);
    decoderSparseStep = r.posInt("decoder_sparse_step", 1);
    mlpOnlyLayers = r.intList("mlp_only_layers");
    // qwen3_next's router renormalises by default in transformers; its config must say which.
    if (rules.hybrid === true && !r.has("norm_topk_prob")) r.fail("norm_topk_prob", "is required");
    normTopkProb = r.bool("norm_topk_prob", false);
    if (numExperts > 0) {
      numExpertsPerTok = r.posInt("num_experts_per_tok");
      moeIntermediateSize = r.posInt("moe_intermediate_size");
      if (numExpertsPerTok > numExperts) {
        r.fail("num_experts_per_tok", `must be <= "num_experts" (${numExperts}), got ${numExpertsPerTok}`);
      }
    }
    for (const l of mlpOnlyLayers) {
      if (l >= numLayers) r.fail("mlp_only_layers", `lists layer ${l} but "num_hidden_layers" is ${numLayers}`);
    }
  }
  const bos = r.ids("bos_token_id");
  const eos = r.ids("eos_token_id");
  for (const [field, list] of [["bos_token_id", bos], ["eos_token_id", eos]] as const) {
    for (const id of list) if (id >= vocabSize) r.fail(field, `${id} is not below "vocab_size" (${vocabSize})`);
  }
  const hybrid = parseHybridFields(r, { numLayers, rotaryDim, moe: rules.moe, rope: rope.raw }, rules.hybrid === true);
  return Object.freeze({
    modelType,
    vocabSize,
    hiddenSize,
    intermediateSize: rules.moeEveryLayer === true ? r.nonNegInt("intermediate_size", 0) : r.posInt("intermediate_size"),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rotaryDim,
    rmsNormEps: r.posNumber("rms_norm_eps"),
    ropeTheta: rope.theta,
    ropeScaling: Object.freeze(parseRopeScaling(r, rope, maxPositionEmbeddings)),
    maxPositionEmbeddings,
    tieWordEmbeddings: r.bool("tie_word_embeddings", false),
    attentionBias: r.bool("attention_bias", false),
    numExperts,
    numExpertsPerTok,
    moeIntermediateSize,
    normTopkProb,
    decoderSparseStep,
    mlpOnlyLayers: Object.freeze(mlpOnlyLayers.slice()),
    bosTokenId: bos[0] ?? null,
    eosTokenIds: Object.freeze(eos.slice()),
    ...hybrid,
  });
}

/** True when layer `i` uses the sparse (MoE) feed-forward block, exactly as transformers decides
 * (qwen3_5_moe: every layer, with `decoderSparseStep` 1 and no `mlpOnlyLayers`). */
export function isSparseLayer(c: ModelConfig, i: number): boolean {
  return c.numExperts > 0 && !c.mlpOnlyLayers.includes(i) && (i + 1) % c.decoderSparseStep === 0;
}
