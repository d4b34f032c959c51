/**
 * The word paths of repack.ts — the interleaved q4_0 / q8_0 and the q4_k / q5_k repacks in 32-bit
 * (or 16-bit) words for aligned arrays, the same bytes as its byte loops — and the table of every
 * half's value they read scales through. They run over every block of a model at load.
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
 * The interleaved q4_0 / q8_0 repack (`qb` quant bytes per block) of whole rows `r0 ..`, walking
 * the tiles row by row with the addresses kept incrementally and the quants moved as 32-bit (q4_0)
 * or 16-bit (q8_0) words read through a DataView (the 18 / 34-byte source blocks are not aligned).
 * The same bytes as the byte loop; it runs over every block of a Q4_0 / Q8_0 model at load, where
 * the byte loop took 9.2 of 11.4 s for Qwen3-30B-A3B at 8 layers, Q4_0.
 */
export function repackIlWords(qb: number, src: Uint8Array, dst: Uint8Array, rows: number, cols: number, r0: number): void {
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
  const d16 = new Uint16Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 1);
  const df = new Float32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2);
  const h = halfTable();
  const rowBlocks = cols / 32, tilesPerRow = cols / 128, tile = 16 * qb + 64, inB = qb + 2;
  let o = 0;
  for (let r = r0; r < r0 + rows; r++) {
    const quad = (r >> 2) * tilesPerRow * tile, lane = r & 3;
    for (let k = 0; k < rowBlocks; k++, o += inB) {
      const t = quad + (k >> 2) * tile;
      df[(t + 16 * qb + lane * 16 + (k & 3) * 4) >>> 2] = h[sv.getUint16(o, true)]!;
      const at = t + lane * 4 * qb, q = o + 2;
      if (qb === 16) {
        const w = (at + 4 * (k & 3)) >>> 2;
        d32[w] = sv.getUint32(q, true);
        d32[w + 4] = sv.getUint32(q + 4, true);
        d32[w + 8] = sv.getUint32(q + 8, true);
        d32[w + 12] = sv.getUint32(q + 12, true);
      } else {
        const w = (at + 2 * (k & 3)) >>> 1;
        for (let j = 0; j < 16; j++) d16[w + 4 * j] = sv.getUint16(q + 2 * j, true);
      }
    }
  }
}

/**
 * The q4_k / q5_k repack in 32-bit words, for 4-byte aligned arrays (every block offset is then
 * aligned too): the 12 packed scale bytes are three words and the 16 unpacked 6-bit scales and mins
 * four, each a few mask-and-shift operations on all four bytes at once (the byte loop's formulas,
 * byte lane by byte lane), and the quants are copied by words. About 2.5× the byte loop's speed;
 * this runs over every block of a K-quant model at load.
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
