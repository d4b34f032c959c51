/**
 * Helpers shared by the block-quantized formats: half-float fields inside blocks, ggml's
 * `nearest_int`, and float32 arithmetic. ggml computes in float32 with one rounding per operation
 * (no FMA in its reference code), so each `f(a op b)` below mirrors one C float operation exactly:
 * a double result of +, -, *, / on float32 operands rounded once to float32 equals the float32 result.
 */
import { QwenrtError } from "../../util/errors.js";
import { f16ToF32, f32ToF16 } from "./float.js";

/** Round a double to the nearest float32 (one C float operation's rounding). */
export const f = Math.fround;

let f16Table: Float32Array | undefined; // [65536] every half bit pattern → its float value

/** Half-float bits → float value through a table (exact; the table is built on first use). */
export function halfToFloat(bits: number): number {
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table[bits]!;
}

/** Read the little-endian half at `src[o..o+2)` as a float (ggml's `GGML_FP16_TO_FP32`). */
export function readHalf(src: Uint8Array, o: number): number {
  return halfToFloat(src[o]! | (src[o + 1]! << 8));
}

/** Store `v` as a little-endian half at `dst[o..o+2)` (ggml's `GGML_FP32_TO_FP16`, round to nearest even). */
export function writeHalf(dst: Uint8Array, o: number, v: number): void {
  const h = f32ToF16(v);
  dst[o] = h & 0xff;
  dst[o + 1] = h >>> 8;
}

const nearestScratch = new Float32Array(1);
const nearestBits = new Int32Array(nearestScratch.buffer);

/**
 * ggml's `nearest_int`: adds 1.5·2^23 in float32 and reads the mantissa bits. That is round half to
 * even for |v| ≤ 4194303; outside that range (which ggml's searches can reach) the bit trick's own
 * result is reproduced.
 */
export function nearestInt(v: number): number {
  const val = f(v + 12582912);
  if (val >= 8388608 && val < 16777216) return val - 12582912;
  nearestScratch[0] = val;
  return (nearestBits[0]! & 0x007fffff) - 0x00400000;
}

/** C's `roundf`: halves away from zero. */
export function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Check that `count` values fit whole blocks and the byte buffer is long enough; `who` names the type. */
export function checkBlocks(who: string, count: number, blockSize: number, bytes: number, blockBytes: number): number {
  if (count % blockSize !== 0) {
    throw new QwenrtError(who, `${count} values is not a multiple of the block size ${blockSize}`);
  }
  const nb = count / blockSize;
  if (bytes < nb * blockBytes) {
    throw new QwenrtError(who, `${count} values need ${nb * blockBytes} bytes, got ${bytes}`);
  }
  return nb;
}
