/**
 * Scan a checkpoint's tensors for values that are not finite (NaN, ±Infinity): a corrupt download or
 * a broken conversion that would otherwise surface only at generation, as NaN logits. Tensors are
 * read a slab of rows at a time and dequantized (block scales included), so any type is covered and
 * memory stays bounded whatever the model's size.
 */
import { getFormat, rowBytes } from "./quant/index.js";
import { isFileTensor, TensorFileReader, type TensorSource } from "./tensor_source.js";

/** Where the first non-finite value is. */
export interface NonFinite {
  readonly tensor: string;
  /** Index of the value in the tensor, row-major. */
  readonly index: number;
  readonly value: number;
}

/** Bytes read per slab. */
const SLAB_BYTES = 16 << 20;

/**
 * The first non-finite value among `tensors` (by name), or undefined when every value is finite.
 *
 * @example
 * const bad = await findNonFinite((await readSafetensorsDirIndex(dir)).tensors);
 * if (bad) throw new Error(`${bad.tensor} holds ${bad.value}`);
 */
export async function findNonFinite(tensors: ReadonlyMap<string, TensorSource>): Promise<NonFinite | undefined> {
  const reader = new TensorFileReader();
  let scratch = new Uint8Array(0);
  let values = new Float32Array(0);
  try {
    for (const [name, t] of tensors) {
      const cols = t.shape[t.shape.length - 1] ?? 1;
      const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const perRow = rowBytes(t.type, cols);
      const slabRows = Math.max(1, Math.floor(SLAB_BYTES / Math.max(1, perRow)));
      const format = getFormat(t.type);
      for (let r = 0; r < rows; r += slabRows) {
        const n = Math.min(slabRows, rows - r);
        let bytes: Uint8Array;
        if (isFileTensor(t)) {
          if (scratch.byteLength < n * perRow) scratch = new Uint8Array(n * perRow);
          bytes = scratch.subarray(0, n * perRow);
          await reader.readRange(t, r * perRow, bytes);
        } else bytes = t.bytes.subarray(r * perRow, (r + n) * perRow);
        if (values.length < n * cols) values = new Float32Array(n * cols);
        const out = values.subarray(0, n * cols);
        format.dequantize(bytes, out, n * cols);
        for (let i = 0; i < out.length; i++) {
          const v = out[i]!;
          if (v - v !== 0) return { tensor: name, index: r * cols + i, value: v }; // NaN and ±Infinity
        }
      }
    }
    return undefined;
  } finally {
    await reader.close();
  }
}
