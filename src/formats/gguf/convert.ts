/**
 * Hugging Face checkpoint (config.json + safetensors + tokenizer) → GGUF contents with llama.cpp's
 * names, metadata and per-tensor type mix, so llama.cpp loads what we write and agrees with us.
 * Checking the config is the model registry's job: `tools/convert.ts` parses it and calls this.
 */
import { basename, join, resolve } from "node:path";
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { dequantizeAll, getFormat, rowBytes, type WeightType } from "../quant/index.js";
import { readSafetensorsDir } from "../safetensors.js";
import { isFileTensor, type TensorSource } from "../tensor_source.js";
import { archByModelType, gv } from "./arch.js";
import { hybridGgufKeys, type HybridGgufConfig } from "./arch_hybrid.js";
import { hybridTensors, type HybridTensor, type ValueTransform } from "./convert_hybrid.js";
import { hfTokenizerMetadata } from "./hf_vocab.js";
import { mapHfTensorName } from "./names.js";
import { QuantMix, llamaTensorOrder, type ConvertType, type MixTensor } from "./quant_mix.js";
import { llamaFileTypes, type GgufValue } from "./types.js";
import type { GgufContents, GgufTensorToWrite } from "./write.js";

/** Options of `convertHfToGguf`. */
export interface ConvertOptions {
  readonly type: ConvertType;
  /** Directory with tokenizer.json / tokenizer_config.json (default: the model directory). */
  readonly tokenizerDir?: string;
  /** `general.name` (default: the model directory's name). */
  readonly name?: string;
  /** Same type for every matrix, as llama-quantize `--pure` (default: llama.cpp's per-tensor mix). */
  readonly pure?: boolean;
  /** Progress and fallback notes, one line each. */
  readonly log?: (line: string) => void;
  /** Write no `tokenizer.*` metadata (a file only qwenrt reads, beside the checkpoint's tokenizer). */
  readonly noTokenizer?: boolean;
}

/** What a type chooser sees of a tensor about to be written. */
export interface ChooseTensor extends MixTensor {
  /** Its (first) Hugging Face name. */
  readonly hfName: string;
  /** Its type in the checkpoint. */
  readonly sourceType: WeightType;
}

/** Picks each tensor's type; called in llama.cpp's tensor order. */
export type TypeChooser = (t: ChooseTensor) => WeightType;

/** What planning needs of a checkpoint tensor (a `TensorSource`, or one still to be generated). */
export interface SourceInfo {
  readonly type: WeightType;
  readonly shape: readonly number[];
}

/** One GGUF tensor to write and where its values come from. */
export interface PlannedTensor<S extends SourceInfo = TensorSource> {
  readonly name: string; // GGUF name
  readonly type: WeightType; // as written
  readonly shape: readonly number[]; // row-major: [experts, rows, cols] for stacked experts
  /** The checkpoint tensors in order: one, or one per expert (each `shape` without its first dimension). */
  readonly sources: readonly S[];
  /** Their Hugging Face names, in the same order. */
  readonly hfNames: readonly string[];
  /** This tensor's values from its one source's, all of it upcast to float32 (a hybrid model's
   * tensors as `convert_hf_to_gguf.py` transforms them); absent: the source's rows as they are. */
  readonly transform?: ValueTransform;
}

/** A GGUF file's contents before any tensor is encoded. */
export interface GgufPlan<S extends SourceInfo = TensorSource> {
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly PlannedTensor<S>[];
}

/** A source tensor gathered under its GGUF name (expert tensors: one source per expert). */
interface Pending<S> {
  readonly gguf: string;
  readonly hf: string[]; // [experts] for stacked tensors, else one
  readonly sources: S[]; // [experts] for stacked tensors, else one
  readonly expertShape: readonly number[] | null;
  /** A hybrid model's tensor written in another shape than its one source's (squeezed, split) or
   * with other values (convert_hybrid.ts). */
  readonly derived?: { readonly shape: readonly number[]; readonly transform?: ValueTransform };
}

/** config.json as llama.cpp's `TextModel` reads it: `text_config` moved to the top level, and
 * `rope_theta` mirrored from `rope_parameters` (transformers 5, Qwen3.5). */
function flatHparams(raw: Record<string, unknown>): Record<string, unknown> {
  const h: Record<string, unknown> = isObject(raw.text_config) ? { ...raw, ...raw.text_config } : { ...raw };
  const rp = h.rope_parameters;
  if (isObject(rp)) {
    if (h.rope_theta === undefined && rp.rope_theta !== undefined) h.rope_theta = rp.rope_theta;
    if (h.rope_scaling === undefined) h.rope_scaling = rp;
  }
  return h;
}

function archMetadata(raw: Record<string, unknown>, arch: ReturnType<typeof archByModelType>, where: string): [string, GgufValue][] {
  const a = arch.ggufArch;
  const out: [string, GgufValue][] = [];
  for (const k of arch.keys) {
    const v = raw[k.hf];
    if (v === undefined || v === null) {
      if (k.required) throw new QwenrtError(where, `"${k.hf}" is required to write "${a}.${k.gguf}"`);
      continue;
    }
    if (typeof v !== "number") throw new QwenrtError(where, `"${k.hf}" must be a number, got ${JSON.stringify(v)}`);
    out.push([`${a}.${k.gguf}`, k.type === "u32" ? gv.u32(v) : gv.f32(v)]);
    if (k.gguf === "attention.key_length") out.push([`${a}.attention.value_length`, gv.u32(v)]);
  }
  for (const [field, value] of Object.entries(arch.constants)) {
    if (raw[field] !== undefined && JSON.stringify(raw[field]) !== JSON.stringify(value)) {
      throw new QwenrtError(where, `"${field}" is ${JSON.stringify(raw[field])}, but llama.cpp's ${a} only runs ${JSON.stringify(value)}`);
    }
  }
  const rs = raw.rope_scaling;
  if (isObject(rs)) {
    const type = rs.rope_type ?? rs.type;
    if (type === "yarn") {
      out.push([`${a}.rope.scaling.type`, gv.str("yarn")]);
      if (typeof rs.factor === "number") out.push([`${a}.rope.scaling.factor`, gv.f32(rs.factor)]);
      if (typeof rs.original_max_position_embeddings === "number") out.push([`${a}.rope.scaling.original_context_length`, gv.u32(rs.original_max_position_embeddings)]);
      const extra: readonly [string, string][] = [["attention_factor", "yarn_attn_factor"], ["beta_fast", "yarn_beta_fast"], ["beta_slow", "yarn_beta_slow"]];
      for (const [hk, gk] of extra) if (typeof rs[hk] === "number") out.push([`${a}.rope.scaling.${gk}`, gv.f32(rs[hk])]);
    } else if (type !== undefined && type !== "default") {
      throw new QwenrtError(where, `"rope_scaling.rope_type" ${JSON.stringify(type)} cannot be written as GGUF`);
    }
  }
  return out;
}

/** What conversion needs from the checkpoint's checked config (a `ModelConfig` has these fields). */
export interface ConvertConfig extends HybridGgufConfig {
  readonly modelType: string;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numExperts: number;
  readonly tieWordEmbeddings: boolean;
}

/**
 * Plan the GGUF of an HF checkpoint: metadata, tensor names, shapes and types (`choose`, default
 * llama.cpp's mix for `opts.type`), and which checkpoint tensors each is made of. Nothing is
 * encoded; `tensors` may be views in memory or ranges of files still on disk.
 *
 * @example
 * const raw = readJsonFile("models/Qwen3-0.6B/config.json");
 * const { tensors } = await readSafetensorsDirIndex("models/Qwen3-0.6B");
 * const plan = planGgufFromHf("models/Qwen3-0.6B", raw, parseModelConfig(raw, "config.json"), tensors, { type: "q4_k_m" });
 */
export function planGgufFromHf<S extends SourceInfo>(
  modelDir: string,
  raw: unknown,
  config: ConvertConfig,
  tensors: ReadonlyMap<string, S>,
  opts: ConvertOptions,
  choose?: TypeChooser,
): GgufPlan<S> {
  const log = opts.log ?? ((): void => {});
  const configPath = join(modelDir, "config.json");
  if (!isObject(raw)) throw new QwenrtError(configPath, "must be a JSON object");
  const arch = archByModelType(config.modelType, configPath);
  const hparams = flatHparams(raw);

  const pending = new Map<string, Pending<S>>();
  const unknown: string[] = [];
  for (const [name, t] of tensors) {
    if (name === "lm_head.weight" && config.tieWordEmbeddings) {
      log(`lm_head.weight: skipped ("tie_word_embeddings" is true, llama.cpp reuses token_embd)`);
      continue;
    }
    // The hybrids' tensors go through convert_hf_to_gguf.py's transformations first.
    const parts: readonly HybridTensor[] | undefined = arch.hybrid === true ? hybridTensors(name, t, { ggufArch: arch.ggufArch, config }) : [{ name, isGguf: false, shape: t.shape }];
    if (parts === undefined) {
      log(`${name}: skipped (not part of the text model qwenrt converts: multi-token prediction or vision)`);
      continue;
    }
    for (const part of parts) {
      const same = part.transform === undefined && part.shape.join() === t.shape.join();
      const derived = same ? undefined : { shape: part.shape, ...(part.transform === undefined ? {} : { transform: part.transform }) };
      if (part.isGguf) {
        pending.set(part.name, { gguf: part.name, hf: [name], sources: [t], expertShape: null, ...(derived === undefined ? {} : { derived }) });
        continue;
      }
      const m = mapHfTensorName(part.name, arch.ggufArch);
      if (m === undefined) {
        unknown.push(part.name);
        continue;
      }
      if (m.kind === "plain") {
        pending.set(m.gguf, { gguf: m.gguf, hf: [name], sources: [t], expertShape: null, ...(derived === undefined ? {} : { derived }) });
        continue;
      }
      if (derived !== undefined) throw new Error(`internal: ${name} is transformed but stored per expert`);
      let p = pending.get(m.gguf);
      if (p === undefined) {
        p = { gguf: m.gguf, hf: new Array<string>(config.numExperts), sources: new Array<S>(config.numExperts), expertShape: t.shape };
        pending.set(m.gguf, p);
      }
      if (p.expertShape === null) throw new QwenrtError(name, `${m.gguf} is given both stacked and per expert`);
      if (m.expert >= config.numExperts) throw new QwenrtError(name, `expert ${m.expert} is not below "num_experts" (${config.numExperts})`);
      p.sources[m.expert] = t;
      p.hf[m.expert] = name;
    }
  }
  if (unknown.length > 0) throw new QwenrtError(modelDir, `tensors with no GGUF name: ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", …" : ""}`);

  const names = [...pending.keys()].sort(llamaTensorOrder);
  const mix = new QuantMix(opts.type, { numLayers: config.numLayers, numExperts: config.numExperts, tiedEmbeddings: !pending.has("output.weight") }, log, opts.pure === true);
  const pick: TypeChooser = choose ?? ((t) => mix.choose(t));
  const planned: PlannedTensor<S>[] = [];
  for (const name of names) {
    const p = pending.get(name)!;
    let shape: number[];
    if (p.derived !== undefined) {
      shape = p.derived.shape.slice();
    } else if (p.expertShape === null) {
      shape = p.sources[0]!.shape.slice();
    } else {
      for (let e = 0; e < p.sources.length; e++) {
        const t = p.sources[e];
        if (t === undefined) throw new QwenrtError(modelDir, `${name}: expert ${e} is missing`);
        if (t.shape.join() !== p.expertShape.join()) throw new QwenrtError(`${name} (expert ${e})`, `shape [${t.shape.join(", ")}] differs from expert 0's`);
      }
      shape = [p.sources.length, ...p.expertShape];
    }
    const sourceType = p.sources[0]!.type;
    if (p.sources.some((t) => t.type !== sourceType)) throw new QwenrtError(modelDir, `${name}: the experts' tensors differ in type`);
    const type = pick({ name, dims: shape.slice().reverse(), hfName: p.hf[0]!, sourceType });
    planned.push({ name, type, shape, sources: p.sources, hfNames: p.hf, ...(p.derived?.transform === undefined ? {} : { transform: p.derived.transform }) });
  }

  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gv.str(arch.ggufArch)],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(opts.name ?? basename(resolve(modelDir)))],
    ...archMetadata(hparams, arch, configPath),
    ...(arch.hybrid === true ? hybridGgufKeys(arch.ggufArch, hparams, config, configPath) : []),
    ["general.file_type", gv.u32(llamaFileTypes[opts.type])],
    ["general.quantization_version", gv.u32(2)],
    ...(opts.noTokenizer === true ? [] : hfTokenizerMetadata(opts.tokenizerDir ?? modelDir, hparams)),
  ]);
  return { metadata, tensors: planned };
}

/**
 * Build the GGUF contents of an HF checkpoint in memory with the reference encoders (tests and
 * small models; `tools/convert.ts` streams big ones): `raw` is its config.json as read, `config`
 * the same config checked and parsed.
 *
 * @example
 * const raw = readJsonFile("models/Qwen3-0.6B/config.json");
 * const contents = ggufContentsFromHf("models/Qwen3-0.6B", raw, parseModelConfig(raw, "config.json"), { type: "q8_0" });
 */
export function ggufContentsFromHf(modelDir: string, raw: unknown, config: ConvertConfig, opts: ConvertOptions): GgufContents {
  const plan = planGgufFromHf(modelDir, raw, config, readSafetensorsDir(modelDir).tensors, opts);
  const tensors: GgufTensorToWrite[] = plan.tensors.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    let f32: Float32Array = new Float32Array(count); // [product(shape)] the source upcast exactly
    t.sources.forEach((src, e) => {
      if (isFileTensor(src)) throw new Error("internal: readSafetensorsDir returns tensors in memory");
      const n = src.shape.reduce((a, b) => a * b, 1);
      if (t.transform !== undefined) f32 = t.transform(dequantizeAll(src.type, src.bytes, n));
      else f32.set(dequantizeAll(src.type, src.bytes, n), e * n);
    });
    if (f32.length !== count) throw new Error(`internal: ${t.name} has ${f32.length} values, expected ${count}`);
    const cols = t.shape[t.shape.length - 1]!;
    const bytes = new Uint8Array((count / cols) * rowBytes(t.type, cols));
    getFormat(t.type).quantize!(f32, bytes, count);
    return { name: t.name, type: t.type, shape: t.shape, bytes };
  });
  return { metadata: plan.metadata, tensors };
}
