/**
 * Architectures by `config.json`'s `model_type`. Adding a model = one module + one entry here + one
 * golden test. `parseModelConfig` is the single entry point from a raw config object to a checked,
 * frozen `ModelConfig`.
 */
import { QwenrtError } from "../util/errors.js";
import { isObject } from "../util/json.js";
import type { Architecture } from "./architecture.js";
import { ConfigReader, parseBaseConfig, type ModelConfig } from "./config.js";
import { qwen2 } from "./qwen2.js";
import { qwen3 } from "./qwen3.js";
import { qwen3_5, qwen3_5Moe } from "./qwen3_5.js";
import { qwen3Moe } from "./qwen3_moe.js";
import { qwen3Next } from "./qwen3_next.js";

const architectures: ReadonlyMap<string, Architecture> = new Map(
  [qwen3, qwen3Moe, qwen2, qwen3Next, qwen3_5, qwen3_5Moe].flatMap((a) => [a.modelType, ...a.aliases].map((t) => [t, a] as const)),
);

/** The supported `model_type` values. */
export const supportedModelTypes: readonly string[] = Object.freeze([...architectures.keys()]);

/**
 * The text model's config of a vision-language wrapper: `text_config`, whose `model_type` (when
 * given) must be `<model_type>_text`. `tie_word_embeddings` may sit at either level; given at both,
 * the two must agree.
 */
function textConfigOf(raw: Record<string, unknown>, modelType: string, file: string): Record<string, unknown> {
  const text = raw.text_config;
  if (!isObject(text)) throw new QwenrtError(file, `"text_config" is required for "model_type" ${JSON.stringify(modelType)} (the text model's fields)`);
  if (text.model_type !== undefined && text.model_type !== `${modelType}_text`) {
    throw new QwenrtError(file, `"text_config.model_type" must be ${JSON.stringify(`${modelType}_text`)}, got ${JSON.stringify(text.model_type)}`);
  }
  const outer = raw.tie_word_embeddings, inner = text.tie_word_embeddings;
  if (outer !== undefined && inner !== undefined && outer !== inner) {
    throw new QwenrtError(file, `"tie_word_embeddings" is ${JSON.stringify(outer)} but "text_config.tie_word_embeddings" is ${JSON.stringify(inner)}`);
  }
  return { ...text, tie_word_embeddings: inner ?? outer };
}

/** The architecture for `modelType`, or an error listing the supported ones. */
export function getArchitecture(modelType: string, where = "config.json"): Architecture {
  const a = architectures.get(modelType);
  if (a === undefined) {
    throw new QwenrtError(
      where,
      `"model_type" ${JSON.stringify(modelType)} is not supported (supported: ${supportedModelTypes.join(", ")})`,
      { code: "unsupported" },
    );
  }
  return a;
}

/**
 * Parse a raw `config.json` object into a frozen `ModelConfig`, checked by its architecture.
 *
 * @example
 * const config = parseModelConfig(readJsonFile("model/config.json"), "model/config.json");
 */
export function parseModelConfig(raw: unknown, file = "config.json"): ModelConfig {
  if (!isObject(raw)) throw new QwenrtError(file, "must be a JSON object");
  const modelType = raw.model_type;
  if (typeof modelType !== "string") {
    throw new QwenrtError(file, `"model_type" is required (supported: ${supportedModelTypes.join(", ")})`);
  }
  const arch = getArchitecture(modelType, file);
  const wrapped = arch.textConfig && modelType === arch.modelType;
  const fields = wrapped ? textConfigOf(raw, modelType, file) : raw;
  const config = parseBaseConfig(new ConfigReader(fields, file, wrapped ? "text_config." : ""), arch.modelType, arch.configRules);
  arch.checkConfig(config);
  return config;
}
