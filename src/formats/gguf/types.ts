/**
 * GGUF value and tensor types (gguf-py `constants.py`: `GGUFValueType`, `GGMLQuantizationType`).
 * Metadata values keep their exact GGUF type so a file read and written again is byte-identical.
 */
import type { WeightType } from "../quant/types.js";

/** GGUF metadata scalar types by name. */
export type GgufNumberType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type GgufBigType = "u64" | "i64";
export type GgufScalarType = GgufNumberType | GgufBigType | "bool" | "string";

/** The items of a GGUF array, all of one type (nested arrays allowed). */
export type GgufArray =
  | { readonly itemType: GgufNumberType; readonly items: readonly number[] }
  | { readonly itemType: GgufBigType; readonly items: readonly bigint[] }
  | { readonly itemType: "bool"; readonly items: readonly boolean[] }
  | { readonly itemType: "string"; readonly items: readonly string[] }
  | { readonly itemType: "array"; readonly items: readonly GgufArray[] };

/** One metadata value with its GGUF type. */
export type GgufValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigType; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "array"; readonly value: GgufArray };

/** GGUF value type ids, in file order (`GGUFValueType`). */
export const valueTypeIds: Readonly<Record<GgufScalarType | "array", number>> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
};

/** Value type id → name (inverse of `valueTypeIds`). */
export const valueTypeNames: ReadonlyMap<number, GgufScalarType | "array"> = new Map(
  Object.entries(valueTypeIds).map(([k, v]) => [v, k as GgufScalarType | "array"]),
);

/** ggml tensor type ids we read and write. */
export const ggmlTypeIds: Readonly<Record<WeightType, number>> = {
  f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8, q2_k: 10, q3_k: 11, q4_k: 12, q5_k: 13, q6_k: 14, bf16: 30,
};

/** ggml tensor type id → our type (inverse of `ggmlTypeIds`). */
export const ggmlIdTypes: ReadonlyMap<number, WeightType> = new Map(
  Object.entries(ggmlTypeIds).map(([k, v]) => [v, k as WeightType]),
);

/** ggml types that exist but that qwenrt does not decode, for a precise error. */
export const unsupportedGgmlTypes: ReadonlyMap<number, string> = new Map([
  [4, "Q4_2 (removed from ggml)"], [5, "Q4_3 (removed from ggml)"], [9, "Q8_1"], [15, "Q8_K"],
  [16, "IQ2_XXS"], [17, "IQ2_XS"], [18, "IQ3_XXS"], [19, "IQ1_S"], [20, "IQ4_NL"], [21, "IQ3_S"], [22, "IQ2_S"],
  [23, "IQ4_XS"], [24, "I8"], [25, "I16"], [26, "I32"], [27, "I64"], [28, "F64"], [29, "IQ1_M"],
  [34, "TQ1_0"], [35, "TQ2_0"], [39, "MXFP4"], [40, "NVFP4"], [41, "Q1_0"], [42, "Q2_0"],
]);

/** `general.file_type` values (`LlamaFileType`) for the mixes we write. */
export const llamaFileTypes = {
  f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k_m: 15, q6_k: 18, bf16: 32,
} as const;

/** Default data alignment (`GGUF_DEFAULT_ALIGNMENT`). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
