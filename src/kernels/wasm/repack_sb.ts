/**
 * The sub-block-lane Q4_K and Q6_K layouts (relaxed build; assembly/matmul_ksb.ts reads them): the
 * repacked super-blocks of repack.ts with their quants reordered so that one i8 dot puts each
 * sub-block's products in its own i32 lane against x in Q4_0_IL order. Value (sub-block s, index v):
 *   q4_k: qs byte 64h + 16·((v % 16) >> 2) + 4b + (v % 4) (h = s >> 2, b = s % 4), low nibble for
 *         v < 16, high for v ≥ 16
 *   q6_k (value n = 16s + v: h = n >> 7, b = (n >> 5) % 4, m = (n >> 4) % 2, chunk j = (n >> 2) % 4,
 *         t = n % 4): part 2h + m is 48 bytes, vectors A, B, C; chunks j < 3 are the low 6 bits of
 *         byte 16j + 4b + t, chunk 3 the top two bits of bytes 4b + t (bits 0-1), 16 + 4b + t
 *         (2-3) and 32 + 4b + t (4-5)
 * Scales, mins and d stay where repack.ts puts them. The permutations work on 32-bit words: every
 * block of a K-quant model passes through them at load.
 */

/** Whether the relaxed build's sub-block-lane layout applies to a stored `type`. */
export function subBlockLanes(relaxed: boolean, type: string): boolean {
  return relaxed && (type === "q4_k" || type === "q6_k");
}

/** Reorder one repacked Q4_K super-block's qs (32 words at `d32[at ..]`) in place; `tmp`: 32 words. */
export function q4kLanes(d32: Uint32Array, at: number, tmp: Uint32Array): void {
  for (let i = 0; i < 32; i++) tmp[i] = d32[at + i]!;
  for (let s = 0; s < 8; s++) {
    const h = s >> 2, b = s & 3, p = s >> 1; // ggml: bytes 32p .. 32p + 31 hold sub-blocks 2p (low), 2p + 1 (high)
    for (let j = 0; j < 4; j++) {
      const w1 = tmp[8 * p + j]!, w2 = tmp[8 * p + 4 + j]!; // values 4j .. 4j + 3, then 16 on
      d32[at + 16 * h + 4 * j + b] = s & 1 ? ((w1 >>> 4) & 0x0f0f0f0f) | (w2 & 0xf0f0f0f0) : (w1 & 0x0f0f0f0f) | ((w2 & 0x0f0f0f0f) << 4);
    }
  }
}

/** The reordered quants of one ggml Q6_K block, given as words (`q`: its ql then qh, 48 words,
 * copied to an aligned scratch by the caller), into `d32` at word `at`: four parts of 12 words,
 * vectors A, B, C (chunks 0, 1, 2 of the part whole, chunk 3's bits 0-1, 2-3, 4-5 as their top two). */
export function q6kLanes(q: Uint32Array, d32: Uint32Array, at: number): void {
  for (let h = 0; h < 2; h++) {
    for (let m = 0; m < 2; m++) {
      const qh = 32 + 8 * h + 4 * m; // ggml qh words of values 16m + 4j + t of half h
      const h0 = q[qh]!, h1 = q[qh + 1]!, h2 = q[qh + 2]!, h3 = q[qh + 3]!;
      const part = at + 12 * (2 * h + m); // words of part (h, m)
      for (let b = 0; b < 4; b++) {
        const ql = 16 * h + 8 * (b & 1) + 4 * m, shift = 4 * (b >> 1); // ggml ql words of part (h, m), quarter b
        const sb = 2 * b, lo = 0x0f0f0f0f, two = 0x03030303;
        // chunk j of lane b: its four bytes' 6-bit quants (low 4 bits from ql word j, top 2 from qh word j)
        const c0 = ((q[ql]! >>> shift) & lo) | (((h0 >>> sb) & two) << 4);
        const c1 = ((q[ql + 1]! >>> shift) & lo) | (((h1 >>> sb) & two) << 4);
        const c2 = ((q[ql + 2]! >>> shift) & lo) | (((h2 >>> sb) & two) << 4);
        const c3 = ((q[ql + 3]! >>> shift) & lo) | (((h3 >>> sb) & two) << 4);
        d32[part + b] = c0 | ((c3 & two) << 6);
        d32[part + 4 + b] = c1 | (((c3 >>> 2) & two) << 6);
        d32[part + 8 + b] = c2 | (((c3 >>> 4) & two) << 6);
      }
    }
  }
}

/** Row `row` of a sub-block-lane q4_k / q6_k matrix at `ptr` (`nb` super-blocks per row) into `out`. */
export function dequantizeSbRow(type: "q4_k" | "q6_k", dv: DataView, ptr: number, nb: number, row: number, out: Float32Array): void {
  const f = Math.fround;
  for (let k = 0; k < nb; k++) {
    if (type === "q4_k") {
      const p = ptr + (row * nb + k) * 152;
      const d = dv.getFloat32(p, true), dmin = dv.getFloat32(p + 4, true);
      for (let s = 0; s < 8; s++) {
        const d1 = f(d * dv.getUint8(p + 8 + s)), m1 = f(dmin * dv.getUint8(p + 16 + s));
        const base = p + 24 + 64 * (s >> 2) + 4 * (s & 3);
        for (let v = 0; v < 32; v++) {
          const q = (dv.getUint8(base + 16 * ((v & 15) >> 2) + (v & 3)) >> (v >= 16 ? 4 : 0)) & 15;
          out[256 * k + 32 * s + v] = f(d1 * q - m1);
        }
      }
    } else {
      const p = ptr + (row * nb + k) * 212;
      const d = dv.getFloat32(p, true);
      for (let n = 0; n < 256; n++) {
        const hm = 2 * (n >> 7) + ((n >> 4) & 1), b = (n >> 5) & 3, j = (n >> 2) & 3, t = n & 3; // part 2h + m, chunk j
        const at = p + 20 + 48 * hm + 4 * b + t; // the value's byte in vector A; B, C 16 and 32 on
        const q = j < 3 ? dv.getUint8(at + 16 * j) & 63 : (dv.getUint8(at) >> 6) | ((dv.getUint8(at + 16) >> 6) << 2) | ((dv.getUint8(at + 32) >> 6) << 4);
        out[256 * k + n] = f(f(d * dv.getInt8(p + 4 + (n >> 4))) * (q - 32));
      }
    }
  }
}
