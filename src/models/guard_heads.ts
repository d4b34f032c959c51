/**
 * Qwen3Guard-Stream's classifier heads (`Qwen3ForGuardModel`): on every position's final-normed
 * hidden state, two twin branches — the response side (`risk_level_category_pre`, an RMSNorm
 * `risk_level_category_layernorm`, then `risk_level_head` and `category_head`) and the prompt side
 * (the same under `query_*`). No activation, no biases (vLLM's and SGLang's `Qwen3ForGuardModel`).
 * Class names come from config.json's `{response,query}_{risk_level,category}_map`. The heads are
 * small (inner 512 for 0.6B), so they are held as float32 arrays and computed here per row.
 */
import { dequantizeAll } from "../formats/quant/index.js";
import { isFileTensor, TensorFileReader, type TensorSource } from "../formats/tensor_source.js";
import type { WeightSpec } from "../layers/context.js";
import { QwenrtError } from "../util/errors.js";
import { ConfigReader } from "./config.js";

/** `architectures[0]` of a Qwen3Guard-Stream checkpoint. */
export const STREAM_GUARD_ARCHITECTURE = "Qwen3ForGuardModel";

/** One branch's class names, by index. */
export interface GuardSideLabels {
  readonly riskLevels: readonly string[];
  readonly categories: readonly string[];
}

/** The heads' shapes and class names, from config.json. */
export interface GuardHeadConfig {
  readonly hiddenSize: number;
  readonly innerSize: number; // guard_inner_size
  readonly eps: number;
  readonly response: GuardSideLabels;
  readonly query: GuardSideLabels;
}

/** Which branch scores a position: `query` for the user's prompt, `response` for the answer. */
export type GuardSide = "query" | "response";

/** Whether a raw config.json describes a Qwen3Guard-Stream checkpoint. */
export function isStreamGuardConfig(raw: Record<string, unknown>): boolean {
  return Array.isArray(raw.architectures) && raw.architectures.includes(STREAM_GUARD_ARCHITECTURE);
}

/** A `{"0": "Safe", …}` map as a list; keys must be 0…n-1 and, when `countField` is present, n must equal it. */
function labelMap(r: ConfigReader, field: string, countField: string): string[] {
  const v = r.raw[field];
  if (v === null || typeof v !== "object" || Array.isArray(v)) r.fail(field, "is required: an object mapping class indices to names");
  const entries = Object.entries(v as Record<string, unknown>);
  const out: string[] = new Array<string>(entries.length);
  for (const [k, name] of entries) {
    const i = Number(k);
    if (!/^\d+$/.test(k) || i >= entries.length) r.fail(field, `has key ${JSON.stringify(k)}: keys must be 0 to ${entries.length - 1}`);
    if (typeof name !== "string" || name === "") r.fail(field, `maps ${k} to ${JSON.stringify(name)}, not a class name`);
    out[i] = name;
  }
  if (out.length === 0) r.fail(field, "is empty");
  if (r.has(countField) && r.posInt(countField) !== out.length) r.fail(countField, `is ${r.posInt(countField)} but "${field}" names ${out.length} classes`);
  return out;
}

/**
 * The heads' config from a raw config.json.
 *
 * @example
 * const h = parseGuardHeadConfig(JSON.parse(readFileSync("Qwen3Guard-Stream-0.6B/config.json", "utf8")), "config.json");
 * h.query.riskLevels; // ["Safe", "Unsafe", "Controversial"]
 */
export function parseGuardHeadConfig(raw: Record<string, unknown>, file: string): GuardHeadConfig {
  const r = new ConfigReader(raw, file);
  const side = (prefix: "response" | "query", count: "" | "query_"): GuardSideLabels => ({
    riskLevels: Object.freeze(labelMap(r, `${prefix}_risk_level_map`, `num_${count}risk_level`)),
    categories: Object.freeze(labelMap(r, `${prefix}_category_map`, `num_${count}category`)),
  });
  return Object.freeze({
    hiddenSize: r.posInt("hidden_size"),
    innerSize: r.posInt("guard_inner_size"),
    eps: r.posNumber("rms_norm_eps"),
    response: Object.freeze(side("response", "")),
    query: Object.freeze(side("query", "query_")),
  });
}

const prefixOf = (side: GuardSide): string => (side === "query" ? "query_" : "");

/** The heads' tensors by checkpoint name (top level, beside `model.`), with their shapes. */
export function guardHeadSpecs(c: GuardHeadConfig): WeightSpec[] {
  return (["response", "query"] as const).flatMap((side) => {
    const p = prefixOf(side);
    return [
      { name: `${p}risk_level_category_pre.weight`, shape: [c.innerSize, c.hiddenSize], kind: "matrix" as const },
      { name: `${p}risk_level_category_layernorm.weight`, shape: [c.innerSize], kind: "vector" as const },
      { name: `${p}risk_level_head.weight`, shape: [c[side].riskLevels.length, c.innerSize], kind: "matrix" as const },
      { name: `${p}category_head.weight`, shape: [c[side].categories.length, c.innerSize], kind: "matrix" as const },
    ];
  });
}

/** One branch's weights, row-major float32. */
interface SideWeights {
  readonly pre: Float32Array; // [inner, hidden]
  readonly norm: Float32Array; // [inner]
  readonly risk: Float32Array; // [riskLevels, inner]
  readonly category: Float32Array; // [categories, inner]
}

/** Loaded heads. */
export interface GuardHeads {
  readonly config: GuardHeadConfig;
  readonly weights: Readonly<Record<GuardSide, SideWeights>>;
}

/** One position's head outputs. */
export interface GuardHeadLogits {
  readonly risk: Float32Array; // [riskLevels]
  readonly category: Float32Array; // [categories]
}

/**
 * Load the heads' tensors from a checkpoint's tensor map (shapes checked; errors name `where`).
 *
 * @example
 * const heads = await loadGuardHeads(parseGuardHeadConfig(raw, "config.json"), tensors, "model.safetensors");
 */
export async function loadGuardHeads(c: GuardHeadConfig, tensors: ReadonlyMap<string, TensorSource>, where: string): Promise<GuardHeads> {
  const reader = new TensorFileReader();
  const read = async (s: WeightSpec): Promise<Float32Array> => {
    const t = tensors.get(s.name);
    if (t === undefined) throw new QwenrtError(where, `missing tensor "${s.name}" (a Qwen3Guard-Stream checkpoint holds every head tensor)`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new QwenrtError(where, `tensor "${s.name}" has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`);
    }
    const bytes = isFileTensor(t) ? await reader.read(t, new Uint8Array(t.byteLength)) : t.bytes;
    return dequantizeAll(t.type, bytes, s.shape.reduce((a, b) => a * b, 1));
  };
  try {
    const specs = guardHeadSpecs(c);
    const loaded: Float32Array[] = [];
    for (const s of specs) loaded.push(await read(s));
    const side = (at: number): SideWeights => ({ pre: loaded[at]!, norm: loaded[at + 1]!, risk: loaded[at + 2]!, category: loaded[at + 3]! });
    return { config: c, weights: { response: side(0), query: side(4) } };
  } finally {
    await reader.close();
  }
}

/** `w[rows, cols] · x[cols]`: sums in double, stored as float32. */
function matVec(w: Float32Array, x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * cols;
    for (let k = 0; k < cols; k++) s += w[o + k]! * x[k]!;
    out[r] = s;
  }
  return out;
}

/**
 * The `side` branch on one final-normed hidden state `[hidden]`: pre → RMSNorm → risk and category logits.
 *
 * @example
 * const { risk } = guardHeadLogits(heads, "query", hidden); // [Safe, Unsafe, Controversial] logits
 */
export function guardHeadLogits(heads: GuardHeads, side: GuardSide, hidden: Float32Array): GuardHeadLogits {
  const c = heads.config;
  const w = heads.weights[side];
  const x = matVec(w.pre, hidden, c.innerSize, c.hiddenSize);
  let ss = 0;
  for (const v of x) ss += v * v;
  const inv = 1 / Math.sqrt(ss / c.innerSize + c.eps);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! * inv * w.norm[i]!;
  return {
    risk: matVec(w.risk, x, c[side].riskLevels.length, c.innerSize),
    category: matVec(w.category, x, c[side].categories.length, c.innerSize),
  };
}
