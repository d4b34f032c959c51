/**
 * The tensor transformations llama.cpp's `convert_hf_to_gguf.py` applies to the hybrid Qwen models
 * (`conversion/qwen.py` and `conversion/base.py` of the llama.cpp that node-llama-cpp bundles), so
 * the GGUF we write is laid out as llama.cpp's own and its `qwen3next` / `qwen35` / `qwen35moe`
 * graphs run it. Each step cites where the converter does it.
 */
import type { HybridGgufConfig } from "./arch_hybrid.js";

/** The values of a written tensor from its checkpoint tensor's (all of them, upcast to float32). */
export type ValueTransform = (source: Float32Array) => Float32Array;

/** A tensor to write: its GGUF name (or HF name still to map), shape (HF order), and how its values
 * come from the checkpoint tensor's (`undefined`: as they are). */
export interface HybridTensor {
  readonly name: string;
  /** True when `name` is already the GGUF name (fused experts split here). */
  readonly isGguf: boolean;
  readonly shape: readonly number[];
  readonly transform?: ValueTransform;
}

const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * `_LinearAttentionVReorderBase._reorder_v_heads`: value heads along one axis from grouped order
 * (`[k0: v0..v(r-1), k1: …]`) to tiled (`[v0 of k0, v0 of k1, …, v1 of k0, …]`), for ggml's
 * broadcast of key heads. `src` is `[rows, cols]`; `axis` 0 reorders rows `from .. from + nv·hd`, 1
 * reorders columns.
 */
function reorderHeads(src: Float32Array, rows: number, cols: number, axis: 0 | 1, from: number, nk: number, r: number, hd: number): Float32Array {
  const out = src.slice();
  // Tiled position p = j·nk + kh holds grouped head kh·r + j.
  for (let kh = 0; kh < nk; kh++) {
    for (let j = 0; j < r; j++) {
      const g = kh * r + j, p = j * nk + kh;
      for (let d = 0; d < hd; d++) {
        if (axis === 0) out.set(src.subarray((from + g * hd + d) * cols, (from + g * hd + d + 1) * cols), (from + p * hd + d) * cols);
        else for (let row = 0; row < rows; row++) out[row * cols + from + p * hd + d] = src[row * cols + from + g * hd + d]!;
      }
    }
  }
  return out;
}

/** What the transformations need: the architecture and the checked config. */
export interface HybridConvertContext {
  readonly ggufArch: string; // qwen3next | qwen35 | qwen35moe
  readonly config: HybridGgufConfig & { readonly hiddenSize: number; readonly numExperts: number };
}

/**
 * The GGUF tensors for one checkpoint tensor of a hybrid model, or `undefined` for a tensor the
 * text model does not use (the caller logs it). Names come back with `language_model.` stripped.
 */
export function hybridTensors(name: string, t: { readonly shape: readonly number[] }, ctx: HybridConvertContext): HybridTensor[] | undefined {
  // ModelBase.filter_tensors strips "language_model."; TextModel.filter_tensors drops the vision
  // tower; MTP heads are dropped as with the converter's --no-mtp (qwenrt does not run them).
  if (name.startsWith("mtp.") || name.startsWith("model.visual.")) return undefined;
  const n = name.replace("language_model.", "");
  const l = ctx.config.linearAttention;
  const shape = [...t.shape];
  const plain = (transform: ValueTransform | undefined, s: readonly number[] = shape, nm = n): HybridTensor => ({ name: nm, isGguf: false, shape: s, ...(transform === undefined ? {} : { transform }) });
  if (l === null) return [plain(undefined)];
  const { keyHeads: nk, valueHeads: nv, keyHeadDim: dk, valueHeadDim: dv } = l;
  const r = nv / nk;
  // _LinearAttentionVReorderBase.modify_tensors (qwen35, qwen35moe only, when nk != nv).
  const reorder = ctx.ggufArch !== "qwen3next" && nk !== nv && n.includes("linear_attn.");
  const cols = shape[shape.length - 1]!;
  const rows = count(shape) / cols;

  if (n.endsWith(".linear_attn.in_proj_qkvz.weight")) {
    // Qwen3NextModel.modify_tensors: [q, k, v, z] per key head → attn_qkv (all q, all k, all v) + attn_gate.
    const group = 2 * dk + 2 * r * dv;
    const pick = (parts: readonly (readonly [number, number])[]): ValueTransform => (src) => {
      const out = new Float32Array(parts.reduce((a, [, len]) => a + len, 0) * cols);
      let at = 0;
      for (const [from, len] of parts) {
        out.set(src.subarray(from * cols, (from + len) * cols), at * cols);
        at += len;
      }
      return out;
    };
    const heads = (offset: number, len: number): [number, number][] => Array.from({ length: nk }, (_, g) => [g * group + offset, len]);
    const qkv = [...heads(0, dk), ...heads(dk, dk), ...heads(2 * dk, r * dv)];
    const base = n.slice(0, -".in_proj_qkvz.weight".length);
    return [
      plain(pick(qkv), [2 * nk * dk + nv * dv, cols], `${base}.in_proj_qkv.weight`),
      plain(pick(heads(2 * dk + r * dv, r * dv)), [nv * dv, cols], `${base}.in_proj_z.weight`),
    ];
  }
  if (n.endsWith(".linear_attn.A_log")) {
    // Qwen3NextModel.modify_tensors: A_log → A = −exp(A_log) (written as ssm_a).
    return [plain((v) => {
      const a = reorder ? reorderHeads(v, nv, 1, 0, 0, nk, r, 1) : v;
      return a.map((x) => -Math.exp(x));
    })];
  }
  if (n.endsWith(".linear_attn.dt_bias")) return [plain(reorder ? (v) => reorderHeads(v, nv, 1, 0, 0, nk, r, 1) : undefined)];
  if (n.endsWith(".linear_attn.conv1d.weight")) {
    // "conv1d" → squeeze: [channels, 1, kernel] → [channels, kernel]; reorder the V channels.
    const channels = shape[0]!, kernel = shape[shape.length - 1]!;
    return [plain(reorder ? (v) => reorderHeads(v, channels, kernel, 0, 2 * nk * dk, nk, r, dv) : undefined, [channels, kernel])];
  }
  if (reorder && n.endsWith(".linear_attn.in_proj_qkv.weight")) return [plain((v) => reorderHeads(v, rows, cols, 0, 2 * nk * dk, nk, r, dv))];
  if (reorder && n.endsWith(".linear_attn.in_proj_z.weight")) return [plain((v) => reorderHeads(v, rows, cols, 0, 0, nk, r, dv))];
  if (reorder && (n.endsWith(".linear_attn.in_proj_b.weight") || n.endsWith(".linear_attn.in_proj_a.weight"))) {
    return [plain((v) => reorderHeads(v, rows, cols, 0, 0, nk, r, 1))];
  }
  if (reorder && n.endsWith(".linear_attn.out_proj.weight")) return [plain((v) => reorderHeads(v, rows, cols, 1, 0, nk, r, dv))];
  if (n.endsWith("norm.weight") && !n.endsWith("linear_attn.norm.weight")) {
    // Qwen3NextModel.modify_tensors: zero-centred RMSNorm weights are written as 1 + w.
    return [plain((v) => v.map((x) => 1 + x))];
  }
  const fused = /^model\.layers\.(\d+)\.mlp\.experts\.(gate_up_proj|down_proj)$/.exec(n);
  if (fused !== null) {
    // Qwen2MoeModel.modify_tensors: gate_up_proj [E, 2·I, H] splits on dim −2 into gate and up.
    const [experts, mid, hidden] = shape as [number, number, number];
    const bid = fused[1]!;
    if (fused[2] === "down_proj") return [{ name: `blk.${bid}.ffn_down_exps.weight`, isGguf: true, shape }];
    const half = mid / 2;
    const split = (second: boolean): ValueTransform => (src) => {
      const out = new Float32Array(experts * half * hidden);
      for (let e = 0; e < experts; e++) out.set(src.subarray((e * mid + (second ? half : 0)) * hidden, (e * mid + (second ? mid : half)) * hidden), e * half * hidden);
      return out;
    };
    return [
      { name: `blk.${bid}.ffn_gate_exps.weight`, isGguf: true, shape: [experts, half, hidden], transform: split(false) },
      { name: `blk.${bid}.ffn_up_exps.weight`, isGguf: true, shape: [experts, half, hidden], transform: split(true) },
    ];
  }
  return [plain(undefined)];
}
