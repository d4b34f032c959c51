/**
 * Qwen3 dense (`model_type: "qwen3"`): pre-norm decoder, grouped-query attention with per-head
 * q/k RMSNorm before RoPE, `head_dim` independent of `hidden / heads`, SwiGLU MLP. Projection biases
 * only with `attention_bias` (then on q, k, v and o, as transformers' `Qwen3Attention`).
 */
import type { KernelBackend, Tensor } from "../kernels/types.js";
import { Attention, attentionWeightSpecs, type AttentionOptions } from "../layers/attention.js";
import type { BatchContext, Block, FeedForward, Mixer, WeightSpec, Weights } from "../layers/context.js";
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import { attentionOptions, defineArchitecture } from "./architecture.js";
import type { ModelConfig } from "./config.js";

/** Qwen3 attention: q/k norm, biases per `attention_bias`. Reused by `qwen3_moe`. */
export function qwen3Attention(c: ModelConfig): AttentionOptions {
  return attentionOptions(c, { qkNorm: true, qkvBias: c.attentionBias, oBias: c.attentionBias });
}

/**
 * The Qwen pre-norm block: `h += mixer(input_layernorm(h)); h += ffn(post_attention_layernorm(h))`.
 * Qwen3, Qwen3-MoE and Qwen2 share it; they differ in the attention options and the feed-forward.
 */
export function preNormBlock(c: ModelConfig, inputNorm: Tensor, mixer: Mixer, postNorm: Tensor, ffn: FeedForward): Block {
  const hidden = c.hiddenSize;
  const eps = c.rmsNormEps;
  return {
    mixer,
    forward(ctx: BatchContext, h: Tensor): void {
      const { backend: be, scratch, rows: n } = ctx;
      const xn = scratch.get("block.norm", n * hidden); // [n, hidden] normed input of a sub-block
      const out = scratch.get("block.out", n * hidden); // [n, hidden] its output
      be.rmsNorm(h, inputNorm, eps, n, hidden, xn);
      mixer.forward(ctx, xn, out);
      be.add(h, out, h, n * hidden);
      be.rmsNorm(h, postNorm, eps, n, hidden, xn);
      ffn.forward(ctx, xn, n, out);
      be.add(h, out, h, n * hidden);
    },
  };
}

/** Tensors of one pre-norm attention layer under `prefix`, with `ffn`'s tensors. */
export function attentionLayerWeights(c: ModelConfig, prefix: string, attention: AttentionOptions, ffn: WeightSpec[]): WeightSpec[] {
  return [
    { name: `${prefix}.input_layernorm.weight`, shape: [c.hiddenSize], kind: "vector" },
    { name: `${prefix}.post_attention_layernorm.weight`, shape: [c.hiddenSize], kind: "vector" },
    ...attentionWeightSpecs(`${prefix}.self_attn`, attention),
    ...ffn,
  ];
}

/** One pre-norm attention layer under `prefix` with the feed-forward `ffn`. */
export function attentionLayer(c: ModelConfig, w: Weights, backend: KernelBackend, prefix: string, layer: number, attention: AttentionOptions, ffn: FeedForward): Block {
  return preNormBlock(
    c,
    w.vector(`${prefix}.input_layernorm.weight`),
    new Attention(backend, w, `${prefix}.self_attn`, attention, layer),
    w.vector(`${prefix}.post_attention_layernorm.weight`),
    ffn,
  );
}

/** The `qwen3` architecture. */
export const qwen3 = defineArchitecture({
  modelType: "qwen3",
  configRules: { moe: false },
  layer: {
    weights: (c, p) => attentionLayerWeights(c, p, qwen3Attention(c), swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize)),
    block: (c, w, be, p, i) => attentionLayer(c, w, be, p, i, qwen3Attention(c), new SwiGlu(w, `${p}.mlp`)),
  },
});
