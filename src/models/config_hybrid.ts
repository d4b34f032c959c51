/**
 * The config fields of the hybrid Qwen models (`qwen3_next`, `qwen3_5`, `qwen3_5_moe`): which layers
 * are Gated DeltaNet ("linear_attention") and which gated full attention, the DeltaNet shape, the
 * shared expert, and the mRoPE sections. Every field the published configs carry is required (no
 * defaults guessed from transformers' `__post_init__`); only `layer_types` may be given as
 * `full_attention_interval` instead, as the published Qwen3-Next config does.
 */
import { isObject } from "../util/json.js";
import type { ConfigReader } from "./config_reader.js";

/** Token mixer of one decoder layer. */
export type LayerType = "full_attention" | "linear_attention";

/** The shape of a Gated DeltaNet layer. */
export interface LinearAttentionConfig {
  readonly convKernel: number; // linear_conv_kernel_dim: depthwise causal conv width
  readonly keyHeads: number; // linear_num_key_heads (q and k heads)
  readonly valueHeads: number; // linear_num_value_heads (a multiple of keyHeads)
  readonly keyHeadDim: number; // linear_key_head_dim
  readonly valueHeadDim: number; // linear_value_head_dim
}

/** What a hybrid config adds to `ModelConfig` (and what a plain transformer has in their place). */
export interface HybridFields {
  /** Per layer: its token mixer. All "full_attention" for a plain transformer. */
  readonly layerTypes: readonly LayerType[];
  /** The Gated DeltaNet shape; null when no layer is linear attention. */
  readonly linearAttention: LinearAttentionConfig | null;
  /** Full-attention layers: `q_proj` is twice as wide and its second half gates the output
   * through a sigmoid (`attn_output_gate`; always on in the hybrid models). */
  readonly attentionOutputGate: boolean;
  /** Width of the shared expert beside the routed ones (`shared_expert_intermediate_size`); 0: none. */
  readonly sharedExpertIntermediateSize: number;
  /** mRoPE sections (pairs of rotary dims per t/h/w position); null when absent. Text tokens have
   * equal t/h/w positions, so every section rotates by the same position: plain RoPE. */
  readonly mropeSection: readonly number[] | null;
}

/** A plain transformer's hybrid fields. */
export function plainFields(numLayers: number): HybridFields {
  return {
    layerTypes: Object.freeze(Array.from({ length: numLayers }, (): LayerType => "full_attention")),
    linearAttention: null,
    attentionOutputGate: false,
    sharedExpertIntermediateSize: 0,
    mropeSection: null,
  };
}

function parseLayerTypes(r: ConfigReader, numLayers: number): LayerType[] {
  const raw = r.raw.layer_types;
  let interval: number | undefined;
  if (r.has("full_attention_interval")) interval = r.posInt("full_attention_interval");
  // transformers: layer i is full attention when (i + 1) % interval == 0.
  const fromInterval = interval === undefined ? undefined : Array.from({ length: numLayers }, (_, i): LayerType => ((i + 1) % interval! === 0 ? "full_attention" : "linear_attention"));
  if (raw === undefined || raw === null) {
    if (fromInterval === undefined) r.fail("layer_types", 'is required (or "full_attention_interval")');
    return fromInterval;
  }
  if (!Array.isArray(raw) || raw.length !== numLayers) {
    r.fail("layer_types", `must be a list of ${numLayers} layer types ("num_hidden_layers"), got ${JSON.stringify(raw)}`);
  }
  const types = raw.map((t, i): LayerType => {
    if (t !== "linear_attention" && t !== "full_attention") r.fail("layer_types", `[${i}] ${JSON.stringify(t)} is not supported (supported: "linear_attention", "full_attention")`);
    return t;
  });
  if (fromInterval !== undefined && fromInterval.some((t, i) => t !== types[i])) {
    r.fail("full_attention_interval", `${interval} disagrees with "layer_types"`);
  }
  return types;
}

function parseMrope(r: ConfigReader, rope: Record<string, unknown> | null, rotaryDim: number): number[] | null {
  const section = rope?.mrope_section;
  if (section === undefined || section === null) return null;
  if (!Array.isArray(section) || !section.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) {
    r.fail("rope_parameters.mrope_section", `must be a list of non-negative integers, got ${JSON.stringify(section)}`);
  }
  const sum = (section as number[]).reduce((a, b) => a + b, 0);
  if (sum !== rotaryDim / 2) r.fail("rope_parameters.mrope_section", `sums to ${sum}, but the ${rotaryDim} rotary dimensions have ${rotaryDim / 2} pairs`);
  const interleaved = rope?.mrope_interleaved;
  if (interleaved !== undefined && typeof interleaved !== "boolean") r.fail("rope_parameters.mrope_interleaved", `must be true or false, got ${JSON.stringify(interleaved)}`);
  return section as number[];
}

/**
 * Parse the hybrid fields of `r` (a hybrid architecture's text config), or give a plain
 * transformer's when `enabled` is false.
 */
export function parseHybridFields(
  r: ConfigReader,
  base: { readonly numLayers: number; readonly rotaryDim: number; readonly moe: boolean; readonly rope: Record<string, unknown> | null },
  enabled: boolean,
): HybridFields {
  if (!enabled) return plainFields(base.numLayers);
  const layerTypes = parseLayerTypes(r, base.numLayers);
  const linear: LinearAttentionConfig = {
    convKernel: r.posInt("linear_conv_kernel_dim"),
    keyHeads: r.posInt("linear_num_key_heads"),
    valueHeads: r.posInt("linear_num_value_heads"),
    keyHeadDim: r.posInt("linear_key_head_dim"),
    valueHeadDim: r.posInt("linear_value_head_dim"),
  };
  if (linear.valueHeads % linear.keyHeads !== 0) {
    r.fail("linear_num_value_heads", `(${linear.valueHeads}) must be a multiple of "linear_num_key_heads" (${linear.keyHeads})`);
  }
  if (r.has("attn_output_gate") && r.raw.attn_output_gate !== true) r.fail("attn_output_gate", "false is not supported (the hybrid models gate every attention output)");
  if (!r.has("head_dim")) r.fail("head_dim", "is required");
  const ropeSource = isObject(base.rope) ? base.rope : null;
  return {
    layerTypes: Object.freeze(layerTypes),
    linearAttention: layerTypes.includes("linear_attention") ? Object.freeze(linear) : null,
    attentionOutputGate: true,
    sharedExpertIntermediateSize: base.moe ? r.posInt("shared_expert_intermediate_size") : 0,
    mropeSection: Object.freeze(parseMrope(r, ropeSource, base.rotaryDim)),
  };
}
