/**
 * Registry of storage formats by `WeightType`. Block-quantized formats register here from their own
 * modules (`legacy.ts`, `k_quants.ts`, `k_quants_low.ts`); lookups of an unregistered type fail naming it.
 */
import { QwenrtError } from "../../util/errors.js";
import { bf16Format, f16Format, f32Format } from "./float.js";
import { q4_kFormat, q5_kFormat, q6_kFormat } from "./k_quants.js";
import { q2_kFormat, q3_kFormat } from "./k_quants_low.js";
import { legacyFormats } from "./legacy.js";
import type { BlockFormat, WeightType } from "./types.js";

export type { BlockFormat, WeightType };

const formats = new Map<WeightType, BlockFormat>([
  ["f32", f32Format],
  ["f16", f16Format],
  ["bf16", bf16Format],
  ...legacyFormats.map((fmt): [WeightType, BlockFormat] => [fmt.type, fmt]),
  ...[q2_kFormat, q3_kFormat, q4_kFormat, q5_kFormat, q6_kFormat].map((fmt): [WeightType, BlockFormat] => [fmt.type, fmt]),
]);

/** Add a format to the registry (called once per module that defines one). */
export function registerFormat(f: BlockFormat): void {
  formats.set(f.type, f);
}

/** The format of `type`, or a clear error naming it. */
export function getFormat(type: WeightType): BlockFormat {
  const f = formats.get(type);
  if (f === undefined) throw new QwenrtError("weights", `unsupported tensor type "${type}"`, { code: "unsupported" });
  return f;
}

/** Bytes one row of `cols` values takes in `type`; `cols` must be a multiple of the block size. */
export function rowBytes(type: WeightType, cols: number): number {
  const f = getFormat(type);
  if (cols % f.blockSize !== 0) {
    throw new QwenrtError("weights", `a row of ${cols} values is not a multiple of ${type}'s block size ${f.blockSize}`);
  }
  return (cols / f.blockSize) * f.blockBytes;
}

/** Dequantize a whole `[rows, cols]` tensor to float32. */
export function dequantizeAll(type: WeightType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  getFormat(type).dequantize(bytes, out, count);
  return out;
}
