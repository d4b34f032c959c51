/**
 * Tensor names GGUF ↔ Hugging Face for the Qwen architectures (llama.cpp `constants.py`
 * `TENSOR_NAMES` / `tensor_mapping.py`), as one declared table used in both directions.
 * Stacked expert tensors (`blk.N.ffn_gate_exps.weight`, `[experts, ff, hidden]`) correspond to
 * per-expert HF tensors `model.layers.N.mlp.experts.E.gate_proj.weight`. The hybrid architectures
 * (`qwen3next`, `qwen35`, `qwen35moe`) add the Gated DeltaNet and shared-expert tensors and name the
 * post-attention norm `post_attention_norm` (their `MODEL_TENSORS` list has `ATTN_POST_NORM`, not
 * `FFN_NORM`).
 */

/** Whole-model tensors: GGUF base name ↔ HF base name (suffix `.weight` / `.bias` carried over). */
export const globalTensorNames: readonly (readonly [gguf: string, hf: string])[] = [
  ["token_embd", "model.embed_tokens"],
  ["output_norm", "model.norm"],
  ["output", "lm_head"],
];

/** Per-layer tensors: `blk.N.<gguf>` ↔ `model.layers.N.<hf>`. */
export const layerTensorNames: readonly (readonly [gguf: string, hf: string])[] = [
  ["attn_norm", "input_layernorm"],
  ["attn_q", "self_attn.q_proj"],
  ["attn_k", "self_attn.k_proj"],
  ["attn_v", "self_attn.v_proj"],
  ["attn_output", "self_attn.o_proj"],
  ["attn_q_norm", "self_attn.q_norm"],
  ["attn_k_norm", "self_attn.k_norm"],
  ["ffn_norm", "post_attention_layernorm"],
  ["ffn_gate", "mlp.gate_proj"],
  ["ffn_up", "mlp.up_proj"],
  ["ffn_down", "mlp.down_proj"],
  ["ffn_gate_inp", "mlp.gate"],
];

/** Per-layer tensors of the hybrid architectures (`blk.N.<gguf>` ↔ `model.layers.N.<hf>`). */
export const hybridLayerTensorNames: readonly (readonly [gguf: string, hf: string])[] = [
  ["post_attention_norm", "post_attention_layernorm"],
  ["attn_qkv", "linear_attn.in_proj_qkv"],
  ["attn_gate", "linear_attn.in_proj_z"],
  ["ssm_beta", "linear_attn.in_proj_b"],
  ["ssm_alpha", "linear_attn.in_proj_a"],
  ["ssm_ba", "linear_attn.in_proj_ba"],
  ["ssm_conv1d", "linear_attn.conv1d"],
  ["ssm_norm", "linear_attn.norm"],
  ["ssm_out", "linear_attn.out_proj"],
  ["ffn_gate_shexp", "mlp.shared_expert.gate_proj"],
  ["ffn_up_shexp", "mlp.shared_expert.up_proj"],
  ["ffn_down_shexp", "mlp.shared_expert.down_proj"],
  ["ffn_gate_inp_shexp", "mlp.shared_expert_gate"],
];

/** Hybrid per-layer tensors whose whole names differ (no `.weight` on the HF side):
 * `ssm_a` holds `A = −exp(A_log)`; `ssm_dt.bias` is `dt_bias` (renamed `dt_proj.bias` by the converter). */
export const hybridExactLayerNames: readonly (readonly [gguf: string, hf: string])[] = [
  ["ssm_a", "linear_attn.A_log"],
  ["ssm_dt.bias", "linear_attn.dt_bias"],
];

/** The GGUF architectures that use the hybrid names. */
export const hybridGgufArchs: ReadonlySet<string> = new Set(["qwen3next", "qwen35", "qwen35moe"]);

/** Stacked expert tensors: `blk.N.<gguf>.weight` ↔ `model.layers.N.mlp.experts.E.<hf>.weight`. */
export const expertTensorNames: readonly (readonly [gguf: string, hf: string])[] = [
  ["ffn_gate_exps", "gate_proj"],
  ["ffn_up_exps", "up_proj"],
  ["ffn_down_exps", "down_proj"],
];

const ggufToHfGlobal = new Map(globalTensorNames);
const hfToGgufGlobal = new Map(globalTensorNames.map(([g, h]) => [h, g]));
const ggufToHfLayer = new Map([...layerTensorNames, ...hybridLayerTensorNames]);
const hfToGgufLayer = new Map(layerTensorNames.map(([g, h]) => [h, g]));
const hfToGgufHybridLayer = new Map([...layerTensorNames, ...hybridLayerTensorNames].map(([g, h]) => [h, g]));
const ggufToHfExact = new Map(hybridExactLayerNames);
const hfToGgufExact = new Map(hybridExactLayerNames.map(([g, h]) => [h, g]));
const ggufToHfExpert = new Map(expertTensorNames);
const hfToGgufExpert = new Map(expertTensorNames.map(([g, h]) => [h, g]));

/** What a GGUF tensor name denotes in HF terms. */
export type GgufNameMapping =
  | { readonly kind: "plain"; readonly hf: string }
  | { readonly kind: "experts"; readonly layer: number; readonly hfPart: string; readonly suffix: string };

function splitSuffix(name: string): [string, string] | undefined {
  for (const s of [".weight", ".bias"]) if (name.endsWith(s)) return [name.slice(0, -s.length), s];
  return undefined;
}

/**
 * Map a GGUF tensor name to its HF name (or the expert pattern); undefined when the name is not
 * in the table.
 *
 * @example
 * mapGgufTensorName("blk.3.attn_q.weight"); // { kind: "plain", hf: "model.layers.3.self_attn.q_proj.weight" }
 */
export function mapGgufTensorName(name: string): GgufNameMapping | undefined {
  const exact = /^blk\.(\d+)\.(.+)$/.exec(name);
  const whole = exact === null ? undefined : ggufToHfExact.get(exact[2]!);
  if (whole !== undefined) return { kind: "plain", hf: `model.layers.${exact![1]}.${whole}` };
  const parts = splitSuffix(name);
  if (parts === undefined) return undefined;
  const [base, suffix] = parts;
  const g = ggufToHfGlobal.get(base);
  if (g !== undefined) return { kind: "plain", hf: g + suffix };
  const m = /^blk\.(\d+)\.(.+)$/.exec(base);
  if (m === null) return undefined;
  const layer = Number(m[1]);
  const l = ggufToHfLayer.get(m[2]!);
  if (l !== undefined) return { kind: "plain", hf: `model.layers.${layer}.${l}${suffix}` };
  const e = ggufToHfExpert.get(m[2]!);
  if (e !== undefined) return { kind: "experts", layer, hfPart: e, suffix };
  return undefined;
}

/** What an HF tensor name becomes in GGUF. */
export type HfNameMapping =
  | { readonly kind: "plain"; readonly gguf: string }
  | { readonly kind: "expert"; readonly gguf: string; readonly layer: number; readonly expert: number };

/**
 * Map an HF tensor name to its GGUF name in architecture `ggufArch` (default: the plain
 * transformers' names); per-expert tensors name the stacked tensor they join. Undefined when the
 * name is not in the table.
 *
 * @example
 * mapHfTensorName("model.layers.0.mlp.experts.5.down_proj.weight"); // { kind: "expert", gguf: "blk.0.ffn_down_exps.weight", layer: 0, expert: 5 }
 * mapHfTensorName("model.layers.2.linear_attn.A_log", "qwen35"); // { kind: "plain", gguf: "blk.2.ssm_a" }
 */
export function mapHfTensorName(name: string, ggufArch?: string): HfNameMapping | undefined {
  const hybrid = ggufArch !== undefined && hybridGgufArchs.has(ggufArch);
  const exact = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  const whole = exact === null ? undefined : hfToGgufExact.get(exact[2]!);
  if (whole !== undefined) return hybrid ? { kind: "plain", gguf: `blk.${exact![1]}.${whole}` } : undefined;
  const parts = splitSuffix(name);
  if (parts === undefined) return undefined;
  const [base, suffix] = parts;
  const g = hfToGgufGlobal.get(base);
  if (g !== undefined) return { kind: "plain", gguf: g + suffix };
  const e = /^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(.+)$/.exec(base);
  if (e !== null) {
    const part = hfToGgufExpert.get(e[3]!);
    if (part === undefined || suffix !== ".weight") return undefined;
    return { kind: "expert", gguf: `blk.${e[1]}.${part}${suffix}`, layer: Number(e[1]), expert: Number(e[2]) };
  }
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(base);
  if (m === null) return undefined;
  const l = (hybrid ? hfToGgufHybridLayer : hfToGgufLayer).get(m[2]!);
  return l === undefined ? undefined : { kind: "plain", gguf: `blk.${m[1]}.${l}${suffix}` };
}
