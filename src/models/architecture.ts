/**
 * The contract every architecture module (`qwen3.ts`, `qwen3_moe.ts`, `qwen2.ts`) exports. An
 * architecture owns its blocks: it declares their tensors and builds them (mixer + feed-forward +
 * norms, with the residual wiring in the architecture's own file), so a hybrid architecture can
 * build another block (another mixer, another cache slot) without touching `Model`.
 */
import type { KernelBackend } from "../kernels/types.js";
import type { AttentionOptions } from "../layers/attention.js";
import type { Block, WeightSpec, Weights } from "../layers/context.js";
import type { ConfigRules, ModelConfig } from "./config.js";

/** Where a checkpoint keeps its decoder tensors: `"model."` for a plain causal LM,
 * `"model.language_model."` for the text part of a vision-language wrapper. */
export type WeightRoot = "model." | "model.language_model.";

/** The weight root of a checkpoint from its tensor names. */
export function detectWeightRoot(names: Iterable<string>): WeightRoot {
  for (const n of names) if (n.startsWith("model.language_model.")) return "model.language_model.";
  return "model.";
}

/** How a checkpoint lays out its tensors. */
export interface WeightLayout {
  readonly root: WeightRoot;
  /** "hf": as published; "gguf": as llama.cpp's converter wrote them, renamed back to HF names by
   * formats/gguf (zero-centred norm weights already `1 + w`, `A` already `−exp(A_log)`, fused
   * projections split, conv weights squeezed, Qwen3.5's value heads in tiled order). */
  readonly format: "hf" | "gguf";
  /** MoE experts stored fused per layer (`mlp.experts.gate_up_proj`, as transformers 5 saves them)
   * rather than one SwiGLU per expert. */
  readonly fusedExperts: boolean;
}

/** A plain Hugging Face causal LM's layout. */
export const HF_LAYOUT: WeightLayout = Object.freeze({ root: "model.", format: "hf", fusedExperts: false });

/** A GGUF's tensors renamed to HF names (formats/gguf/arch.ts `ggufTensorsAsHf`). */
export const GGUF_LAYOUT: WeightLayout = Object.freeze({ root: "model.", format: "gguf", fusedExperts: false });

/** The layout of a Hugging Face checkpoint from its tensor names. */
export function detectWeightLayout(names: Iterable<string>): WeightLayout {
  const list = [...names];
  return { root: detectWeightRoot(list), format: "hf", fusedExperts: list.some((n) => n.endsWith(".mlp.experts.gate_up_proj")) };
}

/** Tensors a checkpoint may hold that the text model does not run (a vision tower, multi-token
 * prediction heads): left on disk, and said so. */
export interface IgnoredTensors {
  readonly prefix: string; // e.g. "mtp."
  readonly what: string; // e.g. "MTP heads not loaded (multi-token prediction is not used yet)"
}

/** An architecture, keyed by `config.json`'s `model_type` in `registry.ts`. */
export interface Architecture {
  readonly modelType: string;
  /** Which optional config groups are read (MoE fields). */
  readonly configRules: ConfigRules;
  /** Other `model_type` values that name it (a text-only config of a VL family: `qwen3_5_text`). */
  readonly aliases: readonly string[];
  /** config.json keeps the text model's fields in `text_config` (a vision-language wrapper). */
  readonly textConfig: boolean;
  /** Tensors the checkpoint may hold beside the text model's, left unloaded. */
  readonly ignoredTensors: readonly IgnoredTensors[];
  /** Architecture-specific config checks; throw `QwenrtError("config.json", …)`. */
  checkConfig(c: ModelConfig): void;
  /** Every tensor the checkpoint must hold, by checkpoint name, with its shape. */
  weightTable(c: ModelConfig, layout?: WeightLayout): WeightSpec[];
  /** Build the decoder blocks from loaded weights (embedding, final norm and LM head are shared). */
  build(c: ModelConfig, w: Weights, backend: KernelBackend, layout?: WeightLayout): Block[];
}

/** Tensors outside the decoder layers: embedding, final norm (zero-centred: held as `1 + w`), LM
 * head unless tied. */
export function commonWeightSpecs(c: ModelConfig, root: WeightRoot = "model.", zeroCentredNorm = false): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: `${root}embed_tokens.weight`, shape: [c.vocabSize, c.hiddenSize], kind: "matrix" },
    { name: `${root}norm.weight`, shape: [c.hiddenSize], kind: "vector", ...(zeroCentredNorm ? { transform: "onePlus" as const } : {}) },
  ];
  if (!c.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [c.vocabSize, c.hiddenSize], kind: "matrix" });
  return specs;
}

/** Attention options from the config with the architecture's variant flags. */
export function attentionOptions(
  c: ModelConfig,
  variant: { qkNorm: boolean; qkvBias: boolean; oBias: boolean },
): AttentionOptions {
  return {
    hidden: c.hiddenSize,
    heads: c.numHeads,
    kvHeads: c.numKvHeads,
    headDim: c.headDim,
    eps: c.rmsNormEps,
    ...variant,
  };
}

/** One decoder layer as an architecture declares it: its tensors under `prefix` (e.g.
 * `model.layers.3`) and the block built from them. The two must name the same tensors (the loader
 * rejects missing and unused ones; `assembleModel` rejects declared ones the builder never took). */
export interface LayerDefinition {
  weights(c: ModelConfig, prefix: string, layer: number, layout: WeightLayout): WeightSpec[];
  block(c: ModelConfig, w: Weights, backend: KernelBackend, prefix: string, layer: number, layout: WeightLayout): Block;
}

/** An architecture from its config rules and its layer definition. */
export function defineArchitecture(def: {
  modelType: string;
  aliases?: readonly string[];
  textConfig?: boolean;
  ignoredTensors?: readonly IgnoredTensors[];
  /** The final norm is zero-centred (`x · (1 + w)`): held as `1 + w` when loaded from a checkpoint. */
  zeroCentredNorm?: boolean;
  configRules: ConfigRules;
  checkConfig?: (c: ModelConfig) => void;
  layer: LayerDefinition;
}): Architecture {
  return Object.freeze({
    modelType: def.modelType,
    aliases: Object.freeze([...(def.aliases ?? [])]),
    textConfig: def.textConfig ?? false,
    ignoredTensors: Object.freeze([...(def.ignoredTensors ?? [])]),
    configRules: def.configRules,
    checkConfig: def.checkConfig ?? ((): void => undefined),
    weightTable(c: ModelConfig, layout: WeightLayout = HF_LAYOUT): WeightSpec[] {
      const specs = commonWeightSpecs(c, layout.root, def.zeroCentredNorm === true && layout.format === "hf");
      for (let i = 0; i < c.numLayers; i++) specs.push(...def.layer.weights(c, `${layout.root}layers.${i}`, i, layout));
      return specs;
    },
    build(c: ModelConfig, w: Weights, backend: KernelBackend, layout: WeightLayout = HF_LAYOUT): Block[] {
      return Array.from({ length: c.numLayers }, (_, i) => def.layer.block(c, w, backend, `${layout.root}layers.${i}`, i, layout));
    },
  });
}
