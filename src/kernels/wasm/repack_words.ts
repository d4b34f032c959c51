/**
 * The word path of repack.ts — the q4_k / q5_k repack in 32-bit words for aligned arrays, the same
 * bytes as its byte loop — and the table of every half's value the repacks read scales through.
 * At load the pool's repack (repack_pool.ts) does every layout but q5_0 / q5_k.
 */
import { f16ToF32 } from "../../formats/quant/float.js";
import { q4kLanes } from "./repack_sb.js";

let halfValues: Float32Array | undefined;
/** Every half's float value, indexed by its bits (built on first use). */
export function halfTable(): Float32Array {
  if (halfValues === undefined) {
    halfValues = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfValues[h] = f16ToF32(h);
  }
  return halfValues;
}
/**
 * The q4_k / q5_k repack in 32-bit words, for 4-byte aligned arrays (every block offset is then
 * aligned too): the 12 packed scale bytes are three words and the 16 unpacked 6-bit scales and mins
 * four, each a few mask-and-shift operations on all four bytes at once (the byte loop's formulas,
 * byte lane by byte lane), and the quants are copied by words. About 2.5× the byte loop's speed.
 */
export function repackK4Words(src: Uint8Array, dst: Uint8Array, nb: number, b0: number, inBytes: number, lanes: boolean): void {
  const s32 = new Uint32Array(src.buffer, src.byteOffset, src.byteLength >>> 2);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
  const df = new Float32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
  const h = halfTable();
  const inW = inBytes >>> 2, outW = inW + 2, tmp = new Uint32Array(32);
  for (let b = 0; b < nb; b++) {
    const o = b * inW, p = (b0 + b) * outW;
    const dd = s32[o]!;
    df[p] = h[dd & 0xffff]!;
    df[p + 1] = h[dd >>> 16]!;
    const u0 = s32[o + 1]!, u1 = s32[o + 2]!, u2 = s32[o + 3]!; // packed scale bytes 0–3, 4–7, 8–11
    d32[p + 2] = u0 & 0x3f3f3f3f; // scales 0–3
    d32[p + 3] = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4); // scales 4–7
    d32[p + 4] = u1 & 0x3f3f3f3f; // mins 0–3
    d32[p + 5] = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4); // mins 4–7
    for (let i = 4; i < inW; i++) d32[p + 2 + i] = s32[o + i]!;
    if (lanes) q4kLanes(d32, p + 6, tmp);
  }
}
