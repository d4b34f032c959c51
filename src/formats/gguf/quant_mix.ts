/**
 * Which storage type each tensor gets for a `--type`, as llama.cpp decides it: the converter's
 * float rules (`convert_hf_to_gguf.py`: 1-D tensors, norms, biases and the MoE router stay F32) and
 * `llama-quant.cpp`'s mix for quantized types (output / tied embeddings → Q6_K, Q4_K_M's Q6_K on
 * some attn_v and ffn_down layers, the 8-expert bumps) with its fallback when a row length is not a
 * multiple of the block size (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16).
 */
import { QwenrtError } from "../../util/errors.js";
import { getFormat, type WeightType } from "../quant/index.js";
import { llamaFileTypes } from "./types.js";

/** The `--type` values `qwenrt convert` accepts. */
export type ConvertType = keyof typeof llamaFileTypes;
export const convertTypes: readonly ConvertType[] = Object.keys(llamaFileTypes) as ConvertType[];

/** The base type of each mix (`llama_ftype` → default ggml type). */
const baseType: Readonly<Record<ConvertType, WeightType>> = {
  f32: "f32", f16: "f16", bf16: "bf16", q8_0: "q8_0", q4_0: "q4_0", q4_k_m: "q4_k", q6_k: "q6_k",
};

/** llama.cpp's fallback for a 256-block type whose rows do not divide into blocks. */
const fallback: Partial<Record<WeightType, WeightType>> = { q2_k: "q4_0", q3_k: "q4_0", q4_k: "q5_0", q5_k: "q5_1", q6_k: "q8_0" };

/** What the chooser needs to know about the model. */
export interface MixModel {
  readonly numLayers: number;
  readonly numExperts: number; // 0 for dense models
  readonly tiedEmbeddings: boolean; // no output.weight
}

/** A tensor about to be written, in llama.cpp's names and ggml dims (dims[0] = row length). */
export interface MixTensor {
  readonly name: string;
  readonly dims: readonly number[];
}

type Category = "output" | "token_embd" | "attn_v" | "attn_k" | "attn_q" | "attn_output" | "ffn_up" | "ffn_gate" | "ffn_down" | "other";

/** `tensor_get_category` in llama-quant.cpp (substring tests, in its order). */
function category(name: string): Category {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight") return "token_embd";
  if (name.includes("attn_v.weight")) return "attn_v";
  if (name.includes("attn_k.weight")) return "attn_k";
  if (name.includes("attn_q.weight")) return "attn_q";
  if (name.includes("attn_output.weight")) return "attn_output";
  if (name.includes("ffn_up")) return "ffn_up";
  if (name.includes("ffn_gate")) return "ffn_gate";
  if (name.includes("ffn_down")) return "ffn_down";
  return "other";
}

/** `use_more_bits` in llama-quant.cpp: first and last eighth, and every third layer between. */
export function useMoreBits(i: number, n: number): boolean {
  return i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;
}

/** The float rule of the converter (`ModelBase.prepare_tensors`): 1-D tensors, norms, non-weights,
 * the MoE routers (`FFN_GATE_INP`, `FFN_GATE_INP_SHEXP`) and the DeltaNet conv (`SSM_CONV1D`) are F32. */
function alwaysF32(t: MixTensor): boolean {
  return (
    t.dims.length <= 1 ||
    t.name.endsWith("_norm.weight") ||
    !t.name.endsWith(".weight") ||
    t.name.includes("ffn_gate_inp.weight") ||
    t.name.includes("ffn_gate_inp_shexp.weight") ||
    t.name.includes("ssm_conv1d.weight")
  );
}

/**
 * A stateful chooser (llama.cpp counts attn_v tensors as it goes): call `choose` for each tensor in
 * llama.cpp's order (non-layer tensors first, then by layer number, then by name).
 *
 * @example
 * const mix = new QuantMix("q4_k_m", { numLayers: 28, numExperts: 0, tiedEmbeddings: true }, console.error);
 * mix.choose({ name: "blk.0.attn_v.weight", dims: [1024, 1024] }); // "q6_k"
 */
export class QuantMix {
  private attnV = 0;
  private ffnDown = 0;
  private readonly nAttnV: number;

  constructor(
    readonly type: ConvertType,
    private readonly model: MixModel,
    private readonly log: (line: string) => void,
    /** llama-quantize `--pure`: every matrix gets the base type (no Q6_K output, no mixes). */
    private readonly pure = false,
  ) {
    this.nAttnV = model.numLayers;
  }

  choose(t: MixTensor): WeightType {
    if (alwaysF32(t)) return "f32";
    const base = baseType[this.type];
    if (base === "f32" || base === "f16" || base === "bf16") return base;
    if (this.type === "q8_0") return this.fit(t, "q8_0"); // the converter's own Q8_0: F16 when rows do not fit
    if (this.pure) return this.fit(t, base);
    return this.fit(t, this.mix(t, base));
  }

  /** `llama_tensor_get_type_impl` for the mixes we write. */
  private mix(t: MixTensor, base: WeightType): WeightType {
    const cat = category(t.name);
    const eight = this.model.numExperts === 8;
    let type = base;
    if (cat === "output" || (this.model.tiedEmbeddings && cat === "token_embd")) {
      if (t.dims[0]! % getFormat(type).blockSize !== 0) type = "q8_0";
      else if (type !== "q8_0") type = "q6_k";
    } else if (cat === "attn_v") {
      if (this.type === "q4_k_m" && useMoreBits(this.attnV, this.nAttnV)) type = "q6_k";
      if (eight) type = "q8_0";
      this.attnV++;
    } else if (cat === "attn_k") {
      if (eight) type = "q8_0";
    } else if (cat === "ffn_down") {
      const layer = this.model.numExperts > 1 ? layerOf(t.name) : this.ffnDown;
      if (this.type === "q4_k_m" && useMoreBits(layer, this.model.numLayers)) type = "q6_k";
      this.ffnDown++;
    } else if (cat === "attn_output") {
      if (eight && this.type === "q4_k_m") type = "q5_k";
    }
    return type;
  }

  /** `tensor_type_fallback`: a compatible type when the row length is not a multiple of the block. */
  private fit(t: MixTensor, type: WeightType): WeightType {
    const cols = t.dims[0]!;
    if (cols % getFormat(type).blockSize === 0) return type;
    let next = fallback[type] ?? type;
    if (cols % getFormat(next).blockSize !== 0) next = "f16";
    this.log(`${t.name}: row length ${cols} is not a multiple of ${type}'s block size ${getFormat(type).blockSize}; falling back to ${next}`);
    return next;
  }
}

function layerOf(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  if (m === null) throw new QwenrtError(name, "cannot determine the layer of this expert tensor");
  return Number(m[1]);
}

/** llama.cpp's tensor order: non-layer tensors first, then by layer number, then by name. */
export function llamaTensorOrder(a: string, b: string): number {
  const la = /^blk\.(\d+)\./.exec(a);
  const lb = /^blk\.(\d+)\./.exec(b);
  const na = la === null ? -1 : Number(la[1]);
  const nb = lb === null ? -1 : Number(lb[1]);
  if (na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
