/**
 * `config.json` → a frozen, typed `ModelConfig`. Required fields stay required; only what the
 * reference derives is derived (`headDim = head_dim ?? hidden_size / num_attention_heads`). Errors
 * name the file, the field and the value. Architecture-specific rules live with each architecture
 * (`models/<type>.ts`); `models/registry.ts` ties the two together.
 */
import { QwenrtError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import type { RopeScaling } from "../layers/rope.js";

export type { RopeScaling } from "../layers/rope.js";

/** A decoder-only Qwen model's shape and hyper-parameters. Frozen. */
export interface ModelConfig {
  readonly modelType: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number; // dense MLP width
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
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

/** Typed reads of a raw JSON object; every error names `file` and the field. */
export class ConfigReader {
  constructor(
    readonly raw: Record<string, unknown>,
    readonly file: string,
  ) {}

  fail(field: string, message: string): never {
    throw new QwenrtError(this.file, `"${field}" ${message}`);
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  /** A positive integer; required unless `fallback` is given. */
  posInt(field: string, fallback?: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      this.fail(field, "is required");
    }
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      this.fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A non-negative integer (or the fallback when absent/null). */
  nonNegInt(field: string, fallback: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      this.fail(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** A finite number > 0 (or the fallback when absent/null). */
  posNumber(field: string, fallback?: number): number {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (fallback !== undefined) return fallback;
      this.fail(field, "is required");
    }
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      this.fail(field, `must be a positive number, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") this.fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A token id or list of ids (`eos_token_id` may be either). */
  ids(field: string): number[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const x of list) {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) {
        this.fail(field, `must be a token id or a list of token ids, got ${JSON.stringify(v)}`);
      }
    }
    return list as number[];
  }

  intList(field: string): number[] {
    const v = this.raw[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
      this.fail(field, `must be a list of non-negative integers, got ${JSON.stringify(v)}`);
    }
    return v as number[];
  }
}

function parseRopeScaling(r: ConfigReader, maxPositionEmbeddings: number): RopeScaling {
  const raw = r.raw.rope_scaling;
  if (raw === undefined || raw === null) return { type: "default" };
  if (!isObject(raw)) r.fail("rope_scaling", `must be an object or null, got ${JSON.stringify(raw)}`);
  const type = raw.rope_type ?? raw.type;
  if (type === "default") return { type: "default" };
  if (type !== "yarn") {
    r.fail("rope_scaling.rope_type", `${JSON.stringify(type)} is not supported (supported: "default", "yarn")`);
  }
  const s = new ConfigReader(raw, r.file);
  const named = (field: string): string => `rope_scaling.${field}`;
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
  const prf = r.raw.partial_rotary_factor;
  if (prf !== undefined && prf !== null && prf !== 1) r.fail("partial_rotary_factor", `${JSON.stringify(prf)} is not supported (only 1)`);
  const numLayers = r.posInt("num_hidden_layers");
  const maxPositionEmbeddings = r.posInt("max_position_embeddings");
  const vocabSize = r.posInt("vocab_size");

  let numExperts = 0;
  let numExpertsPerTok = 0;
  let moeIntermediateSize = 0;
  let normTopkProb = false;
  let decoderSparseStep = 1;
  let mlpOnlyLayers: number[] = [];
  if (rules.moe) {
    numExperts = r.nonNegInt("num_experts", 0);
    decoderSparseStep = r.posInt("decoder_sparse_step", 1);
    mlpOnlyLayers = r.intList("mlp_only_layers");
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
  return Object.freeze({
    modelType,
    vocabSize,
    hiddenSize,
    intermediateSize: r.posInt("intermediate_size"),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: r.posNumber("rms_norm_eps"),
    ropeTheta: r.posNumber("rope_theta", 10000),
    ropeScaling: Object.freeze(parseRopeScaling(r, maxPositionEmbeddings)),
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
  });
}

/** True when layer `i` uses the sparse (MoE) feed-forward block, exactly as transformers decides. */
export function isSparseLayer(c: ModelConfig, i: number): boolean {
  return c.numExperts > 0 && !c.mlpOnlyLayers.includes(i) && (i + 1) % c.decoderSparseStep === 0;
}
