/**
 * What `qwenrt show` tells about a model without loading its weights: the architecture and its
 * sizes from config.json (or the GGUF header), the parameter count from the architecture's weight
 * table, the weights on disk, the KV cache per token, what the chat template supports (thinking,
 * tools) and the sampling defaults.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readGgufMetadata } from "../formats/gguf/read.js";
import type { ModelConfig } from "../models/config.js";
import { readGenerationConfig, type GenerationConfig } from "../models/generation_config.js";
import { ggufGenerationConfig, ggufModelConfig } from "../models/load_gguf.js";
import { getArchitecture, parseModelConfig } from "../models/registry.js";
import type { ModelSource } from "../open.js";
import { isObject, readJsonFile } from "../util/json.js";
import { modelDisplayName } from "./startup.js";

/** The facts `qwenrt show` prints. */
export interface ModelInfo {
  readonly name: string;
  readonly path: string;
  readonly format: "safetensors" | "gguf";
  /** `model_type` and, for a Hugging Face directory, its `architectures[0]`. */
  readonly architecture: string;
  readonly architectureClass?: string;
  readonly parameters: number;
  readonly contextLength: number;
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly experts?: { readonly count: number; readonly perToken: number };
  readonly ropeTheta: number;
  readonly ropeScaling: string;
  readonly tiedEmbeddings: boolean;
  /** Checkpoint dtype (`bf16`) or the GGUF's main tensor type(s) (`q4_k+q6_k`). */
  readonly weightType: string;
  readonly weightBytes: number;
  /** KV cache bytes per token in f16 (all layers, keys and values). */
  readonly kvBytesPerToken: number;
  /** Template features: thinking (`enable_thinking`, `<think>`), tools. */
  readonly capabilities: readonly string[];
  readonly sampling: Readonly<Record<string, number | boolean>>;
}

function sampling(g: GenerationConfig): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  if (g.doSample !== undefined) out.do_sample = g.doSample;
  if (g.temperature !== undefined) out.temperature = g.temperature;
  if (g.topP !== undefined) out.top_p = g.topP;
  if (g.topK !== undefined) out.top_k = g.topK;
  if (g.minP !== undefined) out.min_p = g.minP;
  if (g.repetitionPenalty !== undefined) out.repetition_penalty = g.repetitionPenalty;
  if (g.presencePenalty !== undefined) out.presence_penalty = g.presencePenalty;
  return out;
}

/** Main tensor types by bytes, as `q4_k+q6_k` (types under a tenth of the largest left out). */
function mainTypeOf(bytes: ReadonlyMap<string, number>): string {
  const sorted = [...bytes].sort((a, b) => b[1] - a[1]);
  const top = sorted[0]?.[1] ?? 0;
  return sorted.filter(([, n]) => n >= top / 10).map(([t]) => t).join("+") || "-";
}

/**
 * Gather a model's facts from its files (weights are not read).
 *
 * @example
 * describeModel(await openModelSource("Qwen/Qwen3-0.6B")).parameters; // 596049920
 */
export function describeModel(src: ModelSource): ModelInfo {
  let config: ModelConfig;
  let generation: GenerationConfig;
  let weightType: string;
  let weightBytes: number;
  let architectureClass: string | undefined;
  if (src.source === "gguf") {
    const h = readGgufMetadata(src.path);
    config = ggufModelConfig({ ...h, tensors: new Map(h.tensorInfos.map((t) => [t.name, { shape: t.shape }])) });
    generation = ggufGenerationConfig(h);
    const byType = new Map<string, number>();
    for (const t of h.tensorInfos) if (t.dims.length >= 2) byType.set(t.type, (byType.get(t.type) ?? 0) + t.byteLength);
    weightType = mainTypeOf(byType);
    weightBytes = h.fileBytes;
  } else {
    const raw = readJsonFile(join(src.path, "config.json"));
    config = parseModelConfig(raw, join(src.path, "config.json"));
    generation = readGenerationConfig(join(src.path, "generation_config.json"));
    const dtype = isObject(raw) ? (raw.torch_dtype ?? raw.dtype) : undefined;
    weightType = typeof dtype === "string" ? dtype.replace(/^bfloat16$/, "bf16").replace(/^float16$/, "f16").replace(/^float32$/, "f32") : "-";
    const arch = isObject(raw) && Array.isArray(raw.architectures) ? raw.architectures[0] : undefined;
    if (typeof arch === "string") architectureClass = arch;
    weightBytes = readdirSync(src.path)
      .filter((f) => f.endsWith(".safetensors"))
      .reduce((n, f) => n + statSync(join(src.path, f)).size, 0);
  }
  const parameters = getArchitecture(config.modelType)
    .weightTable(config)
    .reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const capabilities = ["completion"];
  if (src.hasChatTemplate()) {
    const t = src.chatTemplate();
    capabilities.push("chat");
    if (t.mentions("tools")) capabilities.push("tools");
    if (t.mentions("enable_thinking") || t.mentions("<think>")) capabilities.push("thinking");
  }
  return {
    name: modelDisplayName(src.path),
    path: src.path,
    format: src.source === "gguf" ? "gguf" : "safetensors",
    architecture: config.modelType,
    ...(architectureClass === undefined ? {} : { architectureClass }),
    parameters,
    contextLength: config.maxPositionEmbeddings,
    layers: config.numLayers,
    hiddenSize: config.hiddenSize,
    heads: config.numHeads,
    kvHeads: config.numKvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    ...(config.numExperts > 0 ? { experts: { count: config.numExperts, perToken: config.numExpertsPerTok } } : {}),
    ropeTheta: config.ropeTheta,
    ropeScaling: config.ropeScaling.type,
    tiedEmbeddings: config.tieWordEmbeddings,
    weightType,
    weightBytes,
    kvBytesPerToken: 2 * config.numLayers * config.numKvHeads * config.headDim * 2,
    capabilities,
    sampling: sampling(generation),
  };
}
