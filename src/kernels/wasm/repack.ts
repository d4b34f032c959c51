/**
 * ggml block layouts → the kernels' repacked layouts in wasm memory (see assembly/matmul_q.ts and
 * assembly/matmul_k.ts). fp16 scales become f32 (exact), so kernels never convert halves.
 *   f32 / f16 / bf16: unchanged bytes, [rows, cols]
 *   q8_0: quants [rows, cols] i8, then scales [rows, cols / 32] f32
 *   q8_0 interleaved (`il`: rows % 4 = 0, cols % 128 = 0, both builds): rows in quads; per quad, each
 *         group of four blocks is a 576-byte tile: the four rows' 128 quant bytes (byte 8·j + 2·b + t
 *         is byte 2·j + t of block b), then their 4 × 4 f32 scales — a quad streams as one run;
 *         in the dot-add order (`dot`: a backend whose kernels run the relaxed i8 dot-add), byte
 *         16·j + 4·b + t is byte 4·j + t of block b plus 128, as an unsigned byte
 *   q4_0: nibbles [rows, cols / 2] (ggml order), then scales [rows, cols / 32] f32
 *   q4_0 interleaved (`il`: relaxed build, rows % 4 = 0, cols % 128 = 0): as q8_0's, with 320-byte
 *         tiles: four rows' 64 nibble bytes (byte 16·j + 4·b + t is byte 4·j + t of block b), then
 *         their 4 × 4 f32 scales
 *   q4_k: [rows, cols / 256] × 152 B: f32 d, f32 dmin, u8 sc[8], u8 m[8], qs[128]
 *   q6_k: [rows, cols / 256] × 212 B: f32 d, i8 sc[16], ql[128], qh[64]
 *   q4_k / q6_k sub-block lanes (`il`: relaxed build): the same with the quants reordered (repack_sb.ts)
 *   q5_0: quants [rows, cols / 32] × 20 B: qs[16], qh u32 (ggml order); then scales [rows, cols / 32] f32
 *   q5_k: [rows, cols / 256] × 184 B: f32 d, f32 dmin, u8 sc[8], u8 m[8], qh[32], qs[128]
 * `repack` can fill a matrix a slab of rows at a time (`r0`, `totalRows`), so converted weights never
 * exist whole outside wasm memory. It is the reference of the pool's repack (repack_pool.ts, the
 * same bytes), which loads every layout but q5_0 / q5_k.
 */
import { f16ToF32 } from "../../formats/quant/float.js";
import type { WeightType } from "../../formats/quant/types.js";
import { dequantizeSbRow, q4kLanes, q6kLanes } from "./repack_sb.js";
import { halfTable, repackK4Words } from "./repack_words.js";

export { subBlockLanes } from "./repack_sb.js";

/** Weight types the kernels run natively. */
export const NATIVE_TYPES: readonly WeightType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q5_0", "q4_k", "q5_k", "q6_k"];

/** Block size (values) each native type needs `cols` to be a multiple of. */
export function nativeBlock(type: WeightType): number {
  if (type === "q8_0" || type === "q4_0" || type === "q5_0") return 32;
  if (type === "q4_k" || type === "q5_k" || type === "q6_k") return 256;
  return 1;
}

/** Bytes the repacked matrix takes, and where the scales start for q8_0 / q4_0 / q5_0 (0 otherwise). */
export function repackedSize(type: WeightType, rows: number, cols: number): { bytes: number; scales: number } {
  switch (type) {
    case "f32":
      return { bytes: rows * cols * 4, scales: 0 };
    case "f16":
    case "bf16":
      return { bytes: rows * cols * 2, scales: 0 };
    case "q8_0":
      return { bytes: rows * cols + rows * (cols / 32) * 4, scales: rows * cols };
    case "q4_0":
      return { bytes: (rows * cols) / 2 + rows * (cols / 32) * 4, scales: (rows * cols) / 2 };
    case "q5_0":
      return { bytes: rows * (cols / 32) * 24, scales: rows * (cols / 32) * 20 };
    case "q4_k":
      return { bytes: rows * (cols / 256) * 152, scales: 0 };
    case "q5_k":
      return { bytes: rows * (cols / 256) * 184, scales: 0 };
    case "q6_k":
      return { bytes: rows * (cols / 256) * 212, scales: 0 };
    default:
      throw new Error(`no repacked layout for ${type}`);
  }
}

const half = (b: Uint8Array, o: number): number => halfTable()[b[o]! | (b[o + 1]! << 8)]!;

/** Whether a `rows × cols` q4_0 matrix gets the interleaved layout (the relaxed build's kernel). */
export function interleaveQ4(relaxed: boolean, rows: number, cols: number): boolean {
  return relaxed && rows % 4 === 0 && cols % 128 === 0;
}

/** Whether a `rows × cols` q8_0 matrix gets the interleaved layout (assembly/matmul_q8il.ts). */
export function interleaveQ8(rows: number, cols: number): boolean {
  return rows % 4 === 0 && cols % 128 === 0;
}

/** Interleaved q8_0 / q4_0 (`qb` quant bytes per block: 32 / 16): offset of the tile holding block
 * `b` of row `r` — a quad's four rows × 4·qb quant bytes, then their 16 f32 scales. */
function ilTile(qb: number, r: number, cols: number, b: number): number {
  const tile = 16 * qb + 64;
  return (r >> 2) * (cols / 128) * tile + (b >> 2) * tile;
}

/** Interleaved layout: offset of quant byte `l` of block `b` in row `r` (q8_0: `l` < 32, `dot`: in
 * the dot-add order; q4_0: nibble byte `l` < 16). */
function ilAt(qb: number, r: number, cols: number, b: number, l: number, dot = false): number {
  const row = ilTile(qb, r, cols, b) + (r & 3) * 4 * qb;
  return qb === 32 && !dot ? row + 8 * (l >> 1) + 2 * (b & 3) + (l & 1) : row + 16 * (l >> 2) + 4 * (b & 3) + (l & 3);
}

/** Interleaved layout: offset of the f32 scale of block `b` in row `r`. */
function ilScale(qb: number, r: number, cols: number, b: number): number {
  return ilTile(qb, r, cols, b) + 16 * qb + (r & 3) * 16 + (b & 3) * 4;
}

/** Write `src` (ggml layout, `rows × cols`) into `dst` (the repacked layout of a `totalRows × cols`
 * matrix, `repackedSize` bytes) as its rows `r0 .. r0 + rows`; `il`: q4_0 / q8_0 interleaved, `dot`:
 * interleaved q8_0 in the dot-add order (see the module comment). */
export function repack(type: WeightType, src: Uint8Array, rows: number, cols: number, dst: Uint8Array, il = false, r0 = 0, totalRows = rows, dot = false): void {
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  const b0 = (r0 * cols) / (type === "f32" || type === "f16" || type === "bf16" ? 1 : nativeBlock(type)); // first block (value for floats)
  switch (type) {
    case "f32":
    case "f16":
    case "bf16": {
      const eb = type === "f32" ? 4 : 2;
      dst.set(src.subarray(0, rows * cols * eb), b0 * eb);
      return;
    }
    case "q5_0": {
      const nb = (rows * cols) / 32;
      const sOff = ((totalRows * cols) / 32) * 20;
      for (let b = 0; b < nb; b++) {
        const o = b * 22, p = (b0 + b) * 20;
        dv.setFloat32(sOff + 4 * (b0 + b), half(src, o), true);
        dst.set(src.subarray(o + 6, o + 22), p);
        dst.set(src.subarray(o + 2, o + 6), p + 16);
      }
      return;
    }
    case "q8_0":
    case "q4_0": {
      // Byte loops, one tile address per block.
      const qb = type === "q8_0" ? 32 : 16; // quant bytes per block
      const nb = (rows * cols) / 32;
      const sOff = ((totalRows * cols) / 32) * qb;
      const rowBlocks = cols / 32;
      const halves = halfTable();
      let row = Math.floor(b0 / rowBlocks), k = b0 % rowBlocks;
      for (let lb = 0; lb < nb; lb++) {
        const o = lb * (qb + 2), b = b0 + lb, q = o + 2;
        const d = halves[src[o]! | (src[o + 1]! << 8)]!;
        if (il) {
          const tile = ilTile(qb, row, cols, k), at = tile + (row & 3) * 4 * qb; // see ilAt / ilScale
          dv.setFloat32(tile + 16 * qb + (row & 3) * 16 + (k & 3) * 4, d, true);
          if (qb === 16 || dot) {
            const p = at + 4 * (k & 3), flip = dot ? 0x80 : 0;
            for (let j = 0; j < qb / 4; j++) {
              const t = p + 16 * j, f = q + 4 * j;
              dst[t] = src[f]! ^ flip;
              dst[t + 1] = src[f + 1]! ^ flip;
              dst[t + 2] = src[f + 2]! ^ flip;
              dst[t + 3] = src[f + 3]! ^ flip;
            }
          } else {
            const p = at + 2 * (k & 3);
            for (let j = 0; j < 16; j++) {
              dst[p + 8 * j] = src[q + 2 * j]!;
              dst[p + 8 * j + 1] = src[q + 2 * j + 1]!;
            }
          }
        } else {
          dv.setFloat32(sOff + 4 * b, d, true);
          const p = b * qb;
          for (let l = 0; l < qb; l++) dst[p + l] = src[q + l]!;
        }
        if (++k === rowBlocks) {
          k = 0;
          row++;
        }
      }
      return;
    }
    case "q4_k":
    case "q5_k": {
      // d, dmin as f32, the 8 unpacked 6-bit scales and mins, then the quants as stored
      // (Q4_K: qs[128]; Q5_K: qh[32], qs[128]).
      const inBytes = type === "q4_k" ? 144 : 176;
      const nb = (rows * cols) / 256;
      const lanes = il && type === "q4_k"; // the sub-block-lane order (repack_sb.ts)
      if (((src.byteOffset | dst.byteOffset) & 3) === 0) return repackK4Words(src, dst, nb, b0, inBytes, lanes);
      const qw = new Uint32Array(32), tmp = new Uint32Array(32), qb = new Uint8Array(qw.buffer);
      for (let b = 0; b < nb; b++) {
        const o = b * inBytes, p = (b0 + b) * (inBytes + 8);
        dv.setFloat32(p, half(src, o), true);
        dv.setFloat32(p + 4, half(src, o + 2), true);
        const q = o + 4; // the 12 packed scale bytes (k_quants.ts scaleMinK4, inlined: every block of a model)
        for (let j = 0; j < 4; j++) {
          dst[p + 8 + j] = src[q + j]! & 63;
          dst[p + 16 + j] = src[q + j + 4]! & 63;
        }
        for (let j = 4; j < 8; j++) {
          dst[p + 8 + j] = (src[q + j + 4]! & 0x0f) | ((src[q + j - 4]! >> 6) << 4);
          dst[p + 16 + j] = (src[q + j + 4]! >> 4) | ((src[q + j]! >> 6) << 4);
        }
        if (lanes) {
          qb.set(src.subarray(o + 16, o + inBytes));
          q4kLanes(qw, 0, tmp);
          dst.set(qb, p + 24);
        } else dst.set(src.subarray(o + 16, o + inBytes), p + 24);
      }
      return;
    }
    case "q6_k": {
      const nb = (rows * cols) / 256;
      const aligned = (dst.byteOffset & 3) === 0, q = new Uint32Array(48), q8 = new Uint8Array(q.buffer), out = new Uint32Array(48);
      const d32 = aligned ? new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >>> 2) : out;
      for (let b = 0; b < nb; b++) {
        const o = b * 210, p = (b0 + b) * 212;
        dv.setFloat32(p, half(src, o + 208), true);
        dst.set(src.subarray(o + 192, o + 208), p + 4); // scales
        if (!il) dst.set(src.subarray(o, o + 192), p + 20); // ql, qh
        else {
          q8.set(src.subarray(o, o + 192)); // ql, qh as aligned words
          q6kLanes(q, d32, aligned ? (p + 20) >>> 2 : 0);
          if (!aligned) dst.set(new Uint8Array(out.buffer), p + 20);
        }
      }
      return;
    }
    default:
      throw new Error(`no repacked layout for ${type}`);
  }
}

/** Dequantize row `row` of a repacked matrix at `mem[ptr..]` into `out[cols]` — the format's exact
 * values. `il`: q4_0 / q8_0 interleaved, q4_k / q6_k in sub-block lanes. */
export function dequantizeRow(type: WeightType, mem: Uint8Array, ptr: number, rows: number, cols: number, row: number, out: Float32Array, il = false, dot = false): void {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const f = Math.fround;
  switch (type) {
    case "f32":
      out.set(new Float32Array(mem.buffer, mem.byteOffset + ptr + row * cols * 4, cols));
      return;
    case "bf16":
      for (let c = 0; c < cols; c++) {
        bits[0] = dv.getUint16(ptr + 2 * (row * cols + c), true) << 16;
        out[c] = asF32[0]!;
      }
      return;
    case "f16":
      for (let c = 0; c < cols; c++) out[c] = f16ToF32(dv.getUint16(ptr + 2 * (row * cols + c), true));
      return;
    case "q5_0": {
      const nb = cols / 32;
      const sOff = ptr + rows * nb * 20;
      for (let b = 0; b < nb; b++) {
        const d = dv.getFloat32(sOff + 4 * (row * nb + b), true);
        const p = ptr + (row * nb + b) * 20, qh = dv.getUint32(p + 16, true);
        for (let l = 0; l < 16; l++) {
          const v = dv.getUint8(p + l);
          out[32 * b + l] = f(((v & 15) + (((qh >>> l) & 1) << 4) - 16) * d);
          out[32 * b + l + 16] = f(((v >> 4) + (((qh >>> (l + 16)) & 1) << 4) - 16) * d);
        }
      }
      return;
    }
    case "q5_k": {
      const nb = cols / 256;
      for (let b = 0; b < nb; b++) {
        const p = ptr + (row * nb + b) * 184;
        const d = dv.getFloat32(p, true), dmin = dv.getFloat32(p + 4, true);
        for (let j = 0; j < 8; j++) {
          const d1 = f(d * dv.getUint8(p + 8 + j)), m1 = f(dmin * dv.getUint8(p + 16 + j));
          const qp = p + 56 + 32 * (j >> 1), shift = (j & 1) * 4;
          for (let l = 0; l < 32; l++) {
            const q = ((dv.getUint8(qp + l) >> shift) & 15) | (((dv.getUint8(p + 24 + l) >> j) & 1) << 4);
            out[256 * b + 32 * j + l] = f(d1 * q - m1);
          }
        }
      }
      return;
    }
    case "q8_0":
    case "q4_0": {
      // Block by block from its first byte with the layout's strides, through typed arrays over
      // the row's own bytes (its quad's tiles when interleaved): over a whole multi-GiB bank the
      // JIT falls back to slow element access, and per-value offset closures and DataView reads
      // took 58 ms of a 2 s Qwen3.5 prefill (256 embedded rows).
      const q8 = type === "q8_0", qb = q8 ? 32 : 16;
      const nb = cols / 32, tile = 16 * qb + 64;
      const base = il ? ptr + ilTile(qb, row, cols, 0) : ptr + row * nb * qb;
      const len = il ? (cols / 128) * tile : nb * qb;
      const q = new Uint8Array(mem.buffer, mem.byteOffset + base, len);
      const qs = new Int8Array(mem.buffer, mem.byteOffset + base, len);
      const sc = il ? new DataView(mem.buffer, mem.byteOffset + base, len) : new DataView(mem.buffer, mem.byteOffset + ptr + (q8 ? rows * cols : (rows * cols) / 2) + 4 * row * nb, 4 * nb);
      for (let b = 0; b < nb; b++) {
        const d = sc.getFloat32(il ? ptr + ilScale(qb, row, cols, b) - base : 4 * b, true);
        const p = il ? ptr + ilAt(qb, row, cols, b, 0, dot) - base : qb * b, o = 32 * b;
        if (q8) {
          // Interleaved: values 2j, 2j + 1 at p + 8j, p + 8j + 1 (dot-add order: values 4j .. 4j + 3
          // at p + 16j, plus 128); else contiguous.
          if (dot) for (let l = 0; l < 32; l++) out[o + l] = f(d * (q[p + 16 * (l >> 2) + (l & 3)]! - 128));
          else if (il) for (let j = 0; j < 16; j++) {
            out[o + 2 * j] = f(d * qs[p + 8 * j]!);
            out[o + 2 * j + 1] = f(d * qs[p + 8 * j + 1]!);
          }
          else for (let l = 0; l < 32; l++) out[o + l] = f(d * qs[p + l]!);
        } else {
          // Interleaved: bytes 4j .. 4j + 3 at p + 16j; else contiguous.
          for (let l = 0; l < 16; l++) {
            const v = q[il ? p + 16 * (l >> 2) + (l & 3) : p + l]!;
            out[o + l] = f(((v & 15) - 8) * d);
            out[o + l + 16] = f(((v >> 4) - 8) * d);
          }
        }
      }
      return;
    }
    case "q4_k": {
      const nb = cols / 256;
      if (il) return dequantizeSbRow(type, dv, ptr, nb, row, out);
      for (let b = 0; b < nb; b++) {
        const p = ptr + (row * nb + b) * 152;
        const d = dv.getFloat32(p, true), dmin = dv.getFloat32(p + 4, true);
        for (let j = 0; j < 8; j++) {
          const d1 = f(d * dv.getUint8(p + 8 + j)), m1 = f(dmin * dv.getUint8(p + 16 + j));
          const qp = p + 24 + 32 * (j >> 1), shift = (j & 1) * 4;
          for (let l = 0; l < 32; l++) out[256 * b + 32 * j + l] = f(d1 * ((dv.getUint8(qp + l) >> shift) & 15) - m1);
        }
      }
      return;
    }
    case "q6_k": {
      const nb = cols / 256;
      if (il) return dequantizeSbRow(type, dv, ptr, nb, row, out);
      for (let b = 0; b < nb; b++) {
        const p = ptr + (row * nb + b) * 212;
        const d = dv.getFloat32(p, true);
        for (let h = 0; h < 2; h++) {
          const ql = p + 20 + 64 * h, qh = p + 148 + 32 * h, sc = p + 4 + 8 * h;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4, a = dv.getUint8(ql + l), c = dv.getUint8(ql + l + 32), hb = dv.getUint8(qh + l);
            const y = 256 * b + 128 * h + l;
            out[y] = f(f(d * dv.getInt8(sc + is)) * (((a & 15) | ((hb & 3) << 4)) - 32));
            out[y + 32] = f(f(d * dv.getInt8(sc + is + 2)) * (((c & 15) | (((hb >> 2) & 3) << 4)) - 32));
            out[y + 64] = f(f(d * dv.getInt8(sc + is + 4)) * (((a >> 4) | (((hb >> 4) & 3) << 4)) - 32));
            out[y + 96] = f(f(d * dv.getInt8(sc + is + 6)) * (((c >> 4) | ((hb >> 6) << 4)) - 32));
          }
        }
      }
      return;
    }
    default:
      throw new Error(`no repacked layout for ${type}`);
  }
}

const bits = new Uint32Array(1);
const asF32 = new Float32Array(bits.buffer);
