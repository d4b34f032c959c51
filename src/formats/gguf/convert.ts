/**
 * Hugging Face checkpoint (config.json + safetensors + tokenizer) → GGUF contents with llama.cpp's
 * names, metadata and per-tensor type mix, so llama.cpp loads what we write and agrees with us.
 * Checking the config is the model registry's job: `tools/convert.ts` parses it and calls this.
 */
import { basename, join, resolve } from "node:path";
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { dequantizeAll, getFormat, rowBytes, type WeightType } from "../quant/index.js";
import { readSafetensorsDir, type SafeTensor } from "../safetensors.js";
import { archByModelType, gv } from "./arch.js";
import { hybridGgufKeys, type HybridGgufConfig } from "./arch_hybrid.js";
import { hybridTensors } from "./convert_hybrid.js";
import { hfTokenizerMetadata } from "./hf_vocab.js";
import { mapHfTensorName } from "./names.js";
import { QuantMix, llamaTensorOrder, type ConvertType } from "./quant_mix.js";
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
}

/** A tensor gathered under its GGUF name: values already transformed, or one source per expert. */
type Pending =
  | { readonly gguf: string; readonly kind: "whole"; readonly shape: readonly number[]; readonly values: () => Float32Array }
  | { readonly gguf: string; readonly kind: "experts"; readonly sources: SafeTensor[]; readonly expertShape: readonly number[] };

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
 * Build the GGUF contents of an HF checkpoint in memory (tensors quantized as chosen): `raw` is its
 * config.json as read, `config` the same config checked and parsed.
 *
 * @example
 * const raw = readJsonFile("models/Qwen3-0.6B/config.json");
 * const contents = ggufContentsFromHf("models/Qwen3-0.6B", raw, parseModelConfig(raw, "config.json"), { type: "q8_0" });
 */
export function ggufContentsFromHf(modelDir: string, raw: unknown, config: ConvertConfig, opts: ConvertOptions): GgufContents {
  const log = opts.log ?? ((): void => {});
  const configPath = join(modelDir, "config.json");
  if (!isObject(raw)) throw new QwenrtError(configPath, "must be a JSON object");
  const arch = archByModelType(config.modelType, configPath);
  const hparams = flatHparams(raw);
  const st = readSafetensorsDir(modelDir);

  const pending = new Map<string, Pending>();
  const unknown: string[] = [];
  for (const [name, t] of st.tensors) {
    if (name === "lm_head.weight" && config.tieWordEmbeddings) {
      log(`lm_head.weight: skipped ("tie_word_embeddings" is true, llama.cpp reuses token_embd)`);
      continue;
    }
    // The hybrids' tensors go through convert_hf_to_gguf.py's transformations first.
    const parts = arch.hybrid === true ? hybridTensors(name, t, { ggufArch: arch.ggufArch, config }) : [{ name, isGguf: false, shape: t.shape, values: () => dequantizeAll(t.type, t.bytes, t.shape.reduce((a, b) => a * b, 1)) }];
    if (parts === undefined) {
      log(`${name}: skipped (not part of the text model qwenrt converts: multi-token prediction or vision)`);
      continue;
    }
    for (const part of parts) {
      if (part.isGguf) {
        pending.set(part.name, { gguf: part.name, kind: "whole", shape: part.shape, values: part.values });
        continue;
      }
      const m = mapHfTensorName(part.name, arch.ggufArch);
      if (m === undefined) {
        unknown.push(part.name);
        continue;
      }
      if (m.kind === "plain") {
        pending.set(m.gguf, { gguf: m.gguf, kind: "whole", shape: part.shape, values: part.values });
        continue;
      }
      let p = pending.get(m.gguf);
      if (p === undefined) {
        p = { gguf: m.gguf, kind: "experts", sources: new Array<SafeTensor>(config.numExperts), expertShape: t.shape };
        pending.set(m.gguf, p);
      }
      if (p.kind !== "experts") throw new QwenrtError(name, `${m.gguf} is given both stacked and per expert`);
      if (m.expert >= config.numExperts) throw new QwenrtError(name, `expert ${m.expert} is not below "num_experts" (${config.numExperts})`);
      p.sources[m.expert] = t;
    }
  }
  if (unknown.length > 0) throw new QwenrtError(modelDir, `tensors with no GGUF name: ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", …" : ""}`);

  const names = [...pending.keys()].sort(llamaTensorOrder);
  const mix = new QuantMix(opts.type, { numLayers: config.numLayers, numExperts: config.numExperts, tiedEmbeddings: !pending.has("output.weight") }, log, opts.pure === true);
  const tensors: GgufTensorToWrite[] = [];
  for (const name of names) {
    const p = pending.get(name)!;
    let shape: number[];
    let f32: Float32Array; // [product(shape)] the source upcast exactly
    if (p.kind === "whole") {
      shape = p.shape.slice();
      f32 = p.values();
    } else {
      const per = p.expertShape.reduce((a, b) => a * b, 1);
      shape = [p.sources.length, ...p.expertShape];
      f32 = new Float32Array(per * p.sources.length);
      for (let e = 0; e < p.sources.length; e++) {
        const t = p.sources[e];
        if (t === undefined) throw new QwenrtError(modelDir, `${name}: expert ${e} is missing`);
        if (t.shape.join() !== p.expertShape.join()) throw new QwenrtError(t.name, `shape [${t.shape.join(", ")}] differs from expert 0's`);
        f32.set(dequantizeAll(t.type, t.bytes, per), e * per);
      }
    }
    const type: WeightType = mix.choose({ name, dims: shape.slice().reverse() });
    const cols = shape[shape.length - 1]!;
    const rows = f32.length / cols;
    const bytes = new Uint8Array(rows * rowBytes(type, cols));
    getFormat(type).quantize!(f32, bytes, f32.length);
    tensors.push({ name, type, shape, bytes });
  }

  const metadata = new Map<string, GgufValue>([
    ["general.architecture", gv.str(arch.ggufArch)],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(opts.name ?? basename(resolve(modelDir)))],
    ...archMetadata(hparams, arch, configPath),
    ...(arch.hybrid === true ? hybridGgufKeys(arch.ggufArch, hparams, config, configPath) : []),
    ["general.file_type", gv.u32(llamaFileTypes[opts.type])],
    ["general.quantization_version", gv.u32(2)],
    ...hfTokenizerMetadata(opts.tokenizerDir ?? modelDir, hparams),
  ]);
  return { metadata, tensors };
}
