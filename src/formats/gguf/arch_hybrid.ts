/**
 * GGUF metadata of the hybrid architectures (`qwen3next`, `qwen35`, `qwen35moe`) beyond the plain
 * `<arch>.<key>` ↔ `config.json` field rules of arch.ts: the Gated DeltaNet shape under `ssm.*`, which
 * layers are recurrent, the partial rotary dimension count and Qwen3.5's mRoPE sections — written as
 * llama.cpp's `convert_hf_to_gguf.py` writes them (`Qwen3NextModel.set_gguf_parameters`,
 * `_Qwen35MRopeMixin`, `TextModel.set_gguf_parameters`) and read back into `config.json` fields.
 */
import { QwenrtError } from "../../util/errors.js";
import type { GgufValue } from "./types.js";

/** What the writer needs of a checked hybrid config (a `ModelConfig` has these). */
export interface HybridGgufConfig {
  readonly numLayers: number;
  readonly rotaryDim: number;
  readonly layerTypes: readonly ("linear_attention" | "full_attention")[];
  readonly linearAttention: { readonly convKernel: number; readonly keyHeads: number; readonly valueHeads: number; readonly keyHeadDim: number; readonly valueHeadDim: number } | null;
  readonly mropeSection: readonly number[] | null;
}

/** llama.cpp's default Qwen3.5 sections when a checkpoint omits them (`_Qwen35MRopeMixin`). */
const QWEN35_DEFAULT_SECTIONS = [11, 11, 10, 0];

/**
 * The hybrid keys of `arch` for a checkpoint: `hparams` is its (flattened) config.json, `c` the same
 * config checked.
 */
export function hybridGgufKeys(arch: string, hparams: Record<string, unknown>, c: HybridGgufConfig, where: string): [string, GgufValue][] {
  const l = c.linearAttention;
  if (l === null) throw new QwenrtError(where, `"${arch}" needs linear-attention layers ("layer_types")`);
  const u32 = (key: string, v: number): [string, GgufValue] => [`${arch}.${key}`, { type: "u32", value: v }];
  const out: [string, GgufValue][] = [
    // Qwen3NextModel.set_gguf_parameters: the DeltaNet shape (state size = key head dim).
    u32("ssm.conv_kernel", l.convKernel),
    u32("ssm.state_size", l.keyHeadDim),
    u32("ssm.group_count", l.keyHeads),
    u32("ssm.time_step_rank", l.valueHeads),
    u32("ssm.inner_size", l.valueHeadDim * l.valueHeads),
  ];
  // ...the recurrent layers when the config lists layer_types, else only the interval.
  if (hparams.layer_types !== undefined) {
    out.push([`${arch}.attention.recurrent_layers`, { type: "array", value: { itemType: "bool", items: c.layerTypes.map((t) => t === "linear_attention") } }]);
  }
  out.push(u32("full_attention_interval", typeof hparams.full_attention_interval === "number" ? hparams.full_attention_interval : 4));
  out.push(u32("rope.dimension_count", c.rotaryDim)); // int(head_dim * partial_rotary_factor)
  if (arch !== "qwen3next") {
    // TextModel.set_gguf_parameters pads mrope_section to 4; _Qwen35MRopeMixin writes the default
    // when the checkpoint has none.
    const sections = c.mropeSection === null ? QWEN35_DEFAULT_SECTIONS : [...c.mropeSection, 0, 0, 0, 0].slice(0, 4);
    out.push([`${arch}.rope.dimension_sections`, { type: "array", value: { itemType: "i32", items: sections } }]);
  }
  return out;
}

/** Reads of one GGUF's metadata (arch.ts supplies them). */
export interface MetaReader {
  number(key: string): number | undefined;
  array(key: string): readonly unknown[] | undefined;
}

/**
 * The hybrid `config.json` fields of a GGUF: the DeltaNet shape, `layer_types`,
 * `partial_rotary_factor` and, for Qwen3.5, `rope_parameters.mrope_section`. `headDim` and
 * `numLayers` come from the plain keys (`attention.key_length`, `block_count` less any MTP blocks).
 */
export function hybridFieldsFromGguf(arch: string, m: MetaReader, headDim: number, numLayers: number, where: string): Record<string, unknown> {
  const need = (key: string): number => {
    const v = m.number(`${arch}.${key}`);
    if (v === undefined) throw new QwenrtError(where, `metadata "${arch}.${key}" is missing`);
    return v;
  };
  const valueHeads = need("ssm.time_step_rank");
  const inner = need("ssm.inner_size");
  if (inner % valueHeads !== 0) throw new QwenrtError(where, `"${arch}.ssm.inner_size" ${inner} is not a multiple of "${arch}.ssm.time_step_rank" ${valueHeads}`);
  const out: Record<string, unknown> = {
    linear_conv_kernel_dim: need("ssm.conv_kernel"),
    linear_key_head_dim: need("ssm.state_size"),
    linear_num_key_heads: need("ssm.group_count"),
    linear_num_value_heads: valueHeads,
    linear_value_head_dim: inner / valueHeads,
    partial_rotary_factor: need("rope.dimension_count") / headDim,
  };
  const recurrent = m.array(`${arch}.attention.recurrent_layers`);
  if (recurrent !== undefined) {
    if (recurrent.length < numLayers || !recurrent.every((x) => typeof x === "boolean")) {
      throw new QwenrtError(where, `"${arch}.attention.recurrent_layers" must hold a bool for each of the ${numLayers} layers`);
    }
    out.layer_types = recurrent.slice(0, numLayers).map((r) => (r === true ? "linear_attention" : "full_attention"));
  } else out.full_attention_interval = need("full_attention_interval");
  if (arch !== "qwen3next") {
    const sections = m.array(`${arch}.rope.dimension_sections`);
    if (sections === undefined) throw new QwenrtError(where, `metadata "${arch}.rope.dimension_sections" is missing`);
    if (!sections.every((x) => typeof x === "number") || sections.length !== 4 || sections[3] !== 0) {
      throw new QwenrtError(where, `"${arch}.rope.dimension_sections" must be 4 integers ending in 0 (text/height/width sections), got ${JSON.stringify(sections)}`);
    }
    out.rope_parameters = { rope_type: "default", mrope_section: sections.slice(0, 3) };
  }
  return out;
}
