/**
 * Qwen3.5 / 3.6 (`model_type: "qwen3_5"` dense, `"qwen3_5_moe"`): the hybrid decoder
 * (models/hybrid.ts) with split Gated DeltaNet projections (`in_proj_qkv`, `in_proj_z`, `in_proj_b`,
 * `in_proj_a`); dense SwiGLU or, in every layer of the MoE, routed experts (always renormalised)
 * with a sigmoid-gated shared expert. Published checkpoints are vision-language wrappers: config
 * fields in `text_config`, the text model under `model.language_model.`, a vision tower under
 * `model.visual.` (not run: image input is not supported yet) and MTP heads under `mtp.`. A
 * text-only config (`qwen3_5_text`, `qwen3_5_moe_text`) reads the same.
 */
import type { IgnoredTensors } from "./architecture.js";
import { SwiGlu, swigluWeightSpecs } from "../layers/mlp.js";
import { defineArchitecture } from "./architecture.js";
import { checkHybridConfig, hybridLayer, type HybridVariant } from "./hybrid.js";
import { sharedMoe, sharedMoeWeights } from "./qwen3_next.js";

const ignored: readonly IgnoredTensors[] = [
  { prefix: "mtp.", what: "MTP heads not loaded (multi-token prediction is not used yet)" },
  { prefix: "model.visual.", what: "text only: image input is not supported yet (vision tower not loaded)" },
];

// llama.cpp's converter reorders Qwen3.5's value heads from grouped to tiled (ggml broadcast) order.
const layout = { projections: () => "split" as const, tiledHeads: (l: { format: string }) => l.format === "gguf" };

const dense: HybridVariant = {
  ...layout,
  ffnWeights: (c, p) => swigluWeightSpecs(`${p}.mlp`, c.hiddenSize, c.intermediateSize),
  ffn: (_c, w, p) => new SwiGlu(w, `${p}.mlp`),
};

const moe: HybridVariant = {
  ...layout,
  ffnWeights: (c, p, _i, l) => sharedMoeWeights(c, p, l),
  ffn: (c, w, p) => sharedMoe(c, w, p),
};

/** The `qwen3_5` architecture (dense). */
export const qwen3_5 = defineArchitecture({
  modelType: "qwen3_5",
  aliases: ["qwen3_5_text"],
  textConfig: true,
  zeroCentredNorm: true,
  ignoredTensors: ignored,
  configRules: { moe: false, hybrid: true },
  checkConfig: checkHybridConfig,
  layer: hybridLayer(dense),
});

/** The `qwen3_5_moe` architecture. */
export const qwen3_5Moe = defineArchitecture({
  modelType: "qwen3_5_moe",
  aliases: ["qwen3_5_moe_text"],
  textConfig: true,
  zeroCentredNorm: true,
  ignoredTensors: ignored,
  configRules: { moe: true, moeEveryLayer: true, hybrid: true },
  checkConfig: checkHybridConfig,
  layer: hybridLayer(moe),
});
