/**
 * `generation_config.json` (optional) → the model's default sampling settings and stop ids. Absent
 * fields stay `undefined` so callers can tell "not set" from a value; present ones are type-checked.
 */
import { existsSync } from "node:fs";
import { isObject, readJsonFile } from "../util/json.js";
import { ConfigReader } from "./config.js";
import { QwenrtError } from "../util/errors.js";

/** Defaults a model ships for generation. Frozen. */
export interface GenerationConfig {
  readonly eosTokenIds: readonly number[]; // empty when unset
  readonly bosTokenId?: number;
  readonly padTokenId?: number;
  readonly doSample?: boolean;
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly presencePenalty?: number;
  readonly maxNewTokens?: number;
}

/**
 * Parse a `generation_config.json` object; errors name `file` and the field.
 *
 * @example
 * parseGenerationConfig({ eos_token_id: [151645, 151643], temperature: 0.6 }).eosTokenIds // [151645, 151643]
 */
export function parseGenerationConfig(raw: unknown, file = "generation_config.json"): GenerationConfig {
  if (!isObject(raw)) throw new QwenrtError(file, "must be a JSON object");
  const r: ConfigReader = new ConfigReader(raw, file);
  const num = (field: string, min: number, max = Infinity): number | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      r.fail(field, `must be a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const int = (field: string): number | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    return r.nonNegInt(field, 0);
  };
  const first = (field: string): number | undefined => r.ids(field)[0];
  const out: { -readonly [K in keyof GenerationConfig]: GenerationConfig[K] } = {
    eosTokenIds: Object.freeze(r.ids("eos_token_id")),
    bosTokenId: first("bos_token_id"),
    padTokenId: first("pad_token_id"),
    doSample: raw.do_sample === undefined ? undefined : r.bool("do_sample", false),
    temperature: num("temperature", 0),
    topP: num("top_p", 0, 1),
    topK: int("top_k"),
    minP: num("min_p", 0, 1),
    repetitionPenalty: num("repetition_penalty", Number.MIN_VALUE),
    presencePenalty: num("presence_penalty", -Infinity),
    maxNewTokens: int("max_new_tokens"),
  };
  // Drop unset keys so the frozen object only carries what the file says.
  for (const k of Object.keys(out) as (keyof GenerationConfig)[]) if (out[k] === undefined) delete out[k];
  return Object.freeze(out);
}

/** Read `<dir>/generation_config.json` if it exists (it is optional), else an empty config. */
export function readGenerationConfig(path: string): GenerationConfig {
  if (!existsSync(path)) return Object.freeze({ eosTokenIds: Object.freeze([]) });
  return parseGenerationConfig(readJsonFile(path), path);
}
