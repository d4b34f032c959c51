/**
 * Storage types of weight tensors. Block-quantized names and layouts follow ggml (`ggml-quants.c`):
 * a row of `cols` values is `cols / blockSize` consecutive blocks of `blockBytes` bytes.
 */
export type WeightType =
  | "f32"
  | "f16"
  | "bf16"
  | "q8_0"
  | "q4_0"
  | "q4_1"
  | "q5_0"
  | "q5_1"
  | "q2_k"
  | "q3_k"
  | "q4_k"
  | "q5_k"
  | "q6_k";

/** A storage format: how many values a block holds, its size in bytes, and its exact decoding. */
export interface BlockFormat {
  readonly type: WeightType;
  readonly blockSize: number; // values per block (1 for f32/f16/bf16)
  readonly blockBytes: number; // bytes per block
  /** Decode `count` values (a multiple of blockSize) from `src` (starting at byte 0) into `dst[0..count)`. */
  dequantize(src: Uint8Array, dst: Float32Array, count: number): void;
  /** Encode `count` values into `dst`, as the reference implementation does. Absent where we do not write the type. */
  quantize?(src: Float32Array, dst: Uint8Array, count: number): void;
}
