/**
 * The decoder layer of the hybrid Qwen models (Qwen3-Next, Qwen3.5, Qwen3.5-MoE): the Qwen pre-norm
 * block with zero-centred RMSNorms (`x · (1 + w)`, held as `1 + w`), whose token mixer is a Gated
 * DeltaNet or a gated attention layer as `layer_types` says. The architectures differ only in the
 * DeltaNet projection layout and the feed-forward, which they pass in.
 */
import type { KernelBackend } from "../kernels/types.js";
import { QwenrtError } from "../util/errors.js";
import { Attention, attentionWeightSpecs, type AttentionOptions } from "../layers/attention.js";
import type { FeedForward, Mixer, VectorTransform, WeightSpec, Weights } from "../layers/context.js";
import { GatedDeltaNet, deltaNetWeightSpecs, type DeltaNetOptions } from "../layers/deltanet.js";
import { attentionOptions, type LayerDefinition, type WeightLayout } from "./architecture.js";
import type { ModelConfig } from "./config.js";
import { preNormBlock } from "./qwen3.js";

/** What a hybrid architecture decides for its layers. */
export interface HybridVariant {
  /** How the checkpoint in `layout` holds the DeltaNet input projections. */
  projections(layout: WeightLayout): DeltaNetOptions["projections"];
  /** Whether the checkpoint in `layout` holds the value heads in llama.cpp's tiled order. */
  tiledHeads(layout: WeightLayout): boolean;
  ffnWeights(c: ModelConfig, prefix: string, layer: number, layout: WeightLayout): WeightSpec[];
  ffn(c: ModelConfig, w: Weights, prefix: string, layer: number, layout: WeightLayout): FeedForward;
}

/** A zero-centred norm weight's transform when loading from `layout`. */
function zeroCentred(layout: WeightLayout): { transform?: VectorTransform } {
  return layout.format === "hf" ? { transform: "onePlus" } : {};
}

/** Gated attention: q/k norm (zero-centred), output gate, partial RoPE. */
export function gatedAttention(c: ModelConfig, layout: WeightLayout): AttentionOptions {
  return {
    ...attentionOptions(c, { qkNorm: true, qkvBias: false, oBias: false }),
    outputGate: true,
    rotaryDim: c.rotaryDim,
    ...(layout.format === "hf" ? { qkNormTransform: "onePlus" as const } : {}),
  };
}

/** The Gated DeltaNet options of `c` in `layout`. */
export function deltaNetOptions(c: ModelConfig, layout: WeightLayout, v: HybridVariant): DeltaNetOptions {
  const l = c.linearAttention;
  if (l === null) throw new Error("internal: a linear-attention layer in a config without linear attention fields");
  return {
    hidden: c.hiddenSize,
    convKernel: l.convKernel,
    keyHeads: l.keyHeads,
    valueHeads: l.valueHeads,
    keyHeadDim: l.keyHeadDim,
    valueHeadDim: l.valueHeadDim,
    eps: c.rmsNormEps,
    projections: v.projections(layout),
    format: layout.format,
    tiledHeads: v.tiledHeads(layout) && l.keyHeads !== l.valueHeads,
  };
}

/** The hybrid decoder layer of variant `v`. */
export function hybridLayer(v: HybridVariant): LayerDefinition {
  const linear = (c: ModelConfig, i: number): boolean => c.layerTypes[i] === "linear_attention";
  return {
    weights(c, p, i, layout): WeightSpec[] {
      const norm = zeroCentred(layout);
      return [
        { name: `${p}.input_layernorm.weight`, shape: [c.hiddenSize], kind: "vector", ...norm },
        { name: `${p}.post_attention_layernorm.weight`, shape: [c.hiddenSize], kind: "vector", ...norm },
        ...(linear(c, i) ? deltaNetWeightSpecs(`${p}.linear_attn`, deltaNetOptions(c, layout, v)) : attentionWeightSpecs(`${p}.self_attn`, gatedAttention(c, layout))),
        ...v.ffnWeights(c, p, i, layout),
      ];
    },
    block(c, w, be: KernelBackend, p, i, layout) {
      const mixer: Mixer = linear(c, i)
        ? new GatedDeltaNet(be, w, `${p}.linear_attn`, deltaNetOptions(c, layout, v), i)
        : new Attention(be, w, `${p}.self_attn`, gatedAttention(c, layout), i);
      return preNormBlock(c, w.vector(`${p}.input_layernorm.weight`), mixer, w.vector(`${p}.post_attention_layernorm.weight`), v.ffn(c, w, p, i, layout));
    },
  };
}

/** Config checks every hybrid architecture shares. */
export function checkHybridConfig(c: ModelConfig): void {
  if (c.attentionBias) throw new QwenrtError("config.json", '"attention_bias" true is not supported (no published hybrid model has attention biases)');
}
