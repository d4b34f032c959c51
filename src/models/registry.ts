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
import { qwen3Moe } from "./qwen3_moe.js";

const architectures: ReadonlyMap<string, Architecture> = new Map(
  [qwen3, qwen3Moe, qwen2].map((a) => [a.modelType, a] as const),
);

/** The supported `model_type` values. */
export const supportedModelTypes: readonly string[] = Object.freeze([...architectures.keys()]);

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
  const config = parseBaseConfig(new ConfigReader(raw, file), modelType, arch.configRules);
  arch.checkConfig(config);
  return config;
}
