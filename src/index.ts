/**
 * qwenrt — run Qwen3 models in TypeScript. The public API:
 *
 * @example
 * import { openModel, createWasmBackend, generate } from "qwenrt";
 * const { model, tokenizer, template } = await openModel("Qwen/Qwen3-0.6B", { backend: await createWasmBackend() });
 * const prompt = template!.render({ messages: [{ role: "user", content: "Hi!" }], enable_thinking: false });
 * for await (const step of generate(model, tokenizer, tokenizer.encode(prompt), { maxTokens: 64 })) {
 *   process.stdout.write(step.text);
 * }
 */
export {
  openModel,
  openModelSource,
  quantCacheOf,
  type ModelSource,
  type OpenedModel,
  type OpenOptions,
  type ModelFormat,
  type QuantizeOnLoad,
  type QuantCacheUse,
  type SourceLoadOptions,
} from "./open.js";
export { loadModel, type LoadOptions } from "./models/load.js";
export type { Model, Sequence } from "./models/model.js";
export type { ModelConfig } from "./models/config.js";
export { Tokenizer, StreamDetokenizer } from "./tokenizer/index.js";
export {
  ChatTemplate,
  loadChatTemplate,
  parseReasoning,
  ReasoningStream,
  parseToolCalls,
  ToolCallStream,
  THINKING_EARLY_STOP,
  type ToolCall,
} from "./chat/index.js";
export { generate, generateAll, type GenerateOptions, type GenerateResult, type GenerateStep } from "./engine/generate.js";
export { makeSampler, validateSamplingParams, type SamplingParams } from "./engine/sampler.js";
export { createRng } from "./engine/rng.js";
export { thinkingBudgetInterceptor } from "./engine/thinking.js";
export { BatchingModel } from "./engine/batcher.js";
export { TurnRunner, type TurnRequest, type TurnOutcome, type TurnStep, type TurnRunnerOptions } from "./engine/turn.js";
export { PrefixCache } from "./engine/prefix-cache.js";
export { embed, embeddingIds, type EmbedInput, type EmbedOptions, type EmbedResult } from "./engine/embed.js";
export { rerank, rerankerIds, type RerankOptions, type RerankResult } from "./engine/rerank.js";
export { DEFAULT_RETRIEVAL_TASK, embeddingQuery } from "./chat/retrieval.js";
export { moderate, type GuardVerdict, type ModerateOptions } from "./engine/guard.js";
export { guardPrompt, parseGuardOutput, GUARD_CATEGORIES, type GuardMessage, type GuardCategory, type GuardSafety } from "./chat/guard.js";
export { createConstraint, compileConstraint, prepareVocab, type ConstraintSpec } from "./engine/constrain/index.js";
export { synthesize, type SynthOptions } from "./tools/synth.js";
export { synthesizeGguf, type SynthGgufOptions, type SynthGgufResult } from "./tools/synth_gguf.js";
export { quantizedGguf, quantCacheDir, quantCacheKey, type QuantCacheEntry, type QuantCacheOptions } from "./tools/quant_cache.js";
export { createQuantizer, type Quantizer, type QuantizerOptions } from "./kernels/wasm/quantizer.js";
export { createRefBackend } from "./kernels/ref/index.js";
export { createWasmBackend, type WasmBackendOptions } from "./kernels/wasm/index.js";
export { createWebGpuBackend, nodeGpu, type WebGpuBackend, type WebGpuOptions } from "./kernels/webgpu/index.js";
export type { KernelBackend, HostKernelBackend, Tensor, Matrix, KvBuffer, KvType } from "./kernels/types.js";
export { readGguf } from "./formats/gguf/read.js";
export { convertHfToGguf } from "./tools/convert.js";
export { pullModel, resolveModel, parseModelRef } from "./hub/ref.js";
export { Runtime, type ServeOptions } from "./server/runtime.js";
export { createApp } from "./server/app.js";
export { QwenrtError } from "./util/errors.js";
export { VERSION } from "./version.js";
