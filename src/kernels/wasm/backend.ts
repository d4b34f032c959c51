/**
 * The wasm kernel backend: SIMD kernels (assembly/) on one shared wasm memory, run by a persistent
 * worker pool. Weights are repacked into wasm memory at load; activations from `allocF32` are views
 * of the same memory, so calls pass byte offsets. Arrays from elsewhere are copied into scratch.
 */
import { rowBytes } from "../../formats/quant/index.js";
import { QwenrtError } from "../../util/errors.js";
import { checkKvWrite, writeKvF32 } from "../kv.js";
import type { HostMatrix, KernelBackend, KvBuffer, KvType, Matrix, WeightType } from "../types.js";
import { WasmHeap } from "./memory.js";
import type { JobArg, Pool } from "./pool.js";
import { CONVERTED, convertInto, storedType } from "./load_convert.js";
import { kernelIds, type KernelExports, type KernelIds } from "./protocol.js";
import { NATIVE_TYPES, dequantizeRow, interleaveQ4, interleaveQ8, repackedSize } from "./repack.js";

/** Types `dtype` may convert float weights to on load. */
export type WasmDtype = "q8_0" | "q4_0" | "q4_k";

const FLOAT_KIND: Partial<Record<WeightType, number>> = { f32: 0, bf16: 1, f16: 2 };
const Q_KIND: Partial<Record<WeightType, number>> = { q8_0: 0, q4_0: 1, q5_0: 3 };
const Q4_0_IL = 2; // assembly/matmul_q.ts Q_Q4_0_IL
const Q8_0_IL = 4; // assembly/matmul_q.ts Q_Q8_0_IL
const K_KIND: Partial<Record<WeightType, number>> = { q4_k: 0, q6_k: 1, q5_k: 2 };
/** Σq group size of the K kernels' x sums: 16 for Q6_K's sub-blocks, else 32. */
const sumGroup = (t: WeightType): number => (t === "q6_k" ? 16 : 32);

/** A weight matrix repacked into wasm memory at `ptr` (see repack.ts). */
class WasmMatrix implements Matrix {
  constructor(
    readonly owner: WasmBackend,
    readonly type: WeightType,
    readonly rows: number,
    readonly cols: number,
    readonly ptr: number, // byte offset of the repacked data
    readonly scales: number, // byte offset of q8_0 / q4_0 scales (0 for other types)
    readonly bytes: number, // repacked size
    readonly il: boolean, // q4_0 / q8_0 in the interleaved layout
  ) {}

  /** q8_0 in the interleaved layout: reads x as i16 in its own order (quantizeQ8 `il` bit 2). */
  get il8(): boolean {
    return this.il && this.type === "q8_0";
  }

  /** quantizeQ8's `il` bits this matrix needs: 1 = i8 x in Q4_0_IL order, 2 = i16 x in Q8_0_IL order. */
  get ilBits(): number {
    return this.il ? (this.il8 ? 2 : 1) : 0;
  }

  /** Kernel kind within its family (assembly/*.ts). */
  get kind(): number {
    if (this.il) return this.il8 ? Q8_0_IL : Q4_0_IL;
    return FLOAT_KIND[this.type] ?? Q_KIND[this.type] ?? K_KIND[this.type]!;
  }
}

/** Kernel families of assembly/multi.ts (matrices of one family share the prepared x). */
const FAMILY_FLOAT = 0, FAMILY_Q = 1, FAMILY_K = 2;
function familyOf(t: WeightType): number | undefined {
  if (FLOAT_KIND[t] !== undefined) return FAMILY_FLOAT;
  if (Q_KIND[t] !== undefined) return FAMILY_Q;
  if (K_KIND[t] !== undefined) return FAMILY_K;
  return undefined;
}
const ENTRY_BYTES = 32; // one assembly/multi.ts table entry
/** Query positions per attention work item (assembly/attention.ts): each key row is loaded once per tile. */
export const ATTENTION_QTILE = 8;
/** Most bytes of f32 copies of f16 K/V rows that prefill attention keeps (beyond it: read halves directly). */
const ATTENTION_WIDE_MAX = 64 << 20;

export class WasmBackend implements KernelBackend {
  readonly name: string;
  readonly threads: number;
  private readonly ids: KernelIds;
  private readonly scratch = new Map<string, { ptr: number; bytes: number }>();
  private readonly announced = new Set<WeightType>(); // source types whose conversion was logged
  private disposed = false;

  constructor(
    private readonly heap: WasmHeap,
    private readonly kernels: KernelExports,
    private readonly pool: Pool,
    private readonly dtype: WasmDtype | undefined,
    private readonly relaxed: boolean,
    private readonly log: (line: string) => void,
    readonly kvType: KvType,
  ) {
    this.threads = pool.threads;
    this.name = relaxed ? "wasm-relaxed" : "wasm";
    this.ids = kernelIds(kernels);
  }

  /** Bytes of wasm memory in use (weights, activations, scratch; freed blocks excluded). */
  get memoryBytes(): number {
    return this.heap.used;
  }

  /** The heap's high-water mark in bytes (what the wasm memory has to hold). */
  get memoryEnd(): number {
    return this.heap.end;
  }

  allocF32(length: number): Float32Array {
    this.live();
    return this.heap.f32(this.heap.alloc(length * 4), length);
  }

  freeF32(buf: Float32Array): void {
    this.freeKv(buf);
  }

  allocKv(length: number): KvBuffer {
    this.live();
    return this.kvType === "f16" ? this.heap.u16(this.heap.alloc(length * 2), length) : this.allocF32(length);
  }

  freeKv(buf: KvBuffer): void {
    this.live();
    if (!this.heap.owns(buf)) throw new QwenrtError("free", "buffer was not allocated by this backend");
    this.heap.release(buf.byteOffset);
  }

  writeKv(src: Float32Array, rows: number, kvHeads: number, headDim: number, dst: KvBuffer, capacity: number, start: number): void {
    if (dst instanceof Float32Array) return writeKvF32(src, rows, kvHeads, headDim, dst, capacity, start);
    checkKvWrite(src, rows, kvHeads, headDim, dst, capacity, start);
    if (!this.heap.owns(dst)) throw new QwenrtError("writeKv", "an f16 cache must come from this backend's allocKv");
    // One call per segment and layer: the conversion runs in wasm on the calling thread.
    this.kernels.writeKvF16(this.input("kv", src, rows * kvHeads * headDim), dst.byteOffset, rows, kvHeads, headDim, capacity, start);
  }

  loadMatrix(m: HostMatrix): Matrix {
    this.live();
    const need = m.rows * rowBytes(m.type, m.cols);
    if (m.bytes.byteLength !== need) {
      throw new QwenrtError("weights", `a [${m.rows}, ${m.cols}] ${m.type} matrix needs ${need} bytes, got ${m.bytes.byteLength}`);
    }
    const type = storedType(m.type, m.cols, this.dtype);
    if (!NATIVE_TYPES.includes(type)) {
      throw new QwenrtError("weights", `the wasm backend has no kernel for "${type}" (supported: ${NATIVE_TYPES.join(", ")})`, { code: "unsupported" });
    }
    const conv = CONVERTED[m.type];
    if (conv !== undefined && !this.announced.has(m.type)) {
      this.announced.add(m.type);
      this.log(`wasm backend: no ${m.type} kernel; converting ${m.type} matrices to ${conv.to} on load (${conv.exact ? "exact" : "lossy, ~8-bit"})`);
    }
    const { bytes: size, scales } = repackedSize(type, m.rows, m.cols);
    const ptr = this.heap.alloc(size);
    const il = (type === "q4_0" && interleaveQ4(this.relaxed, m.rows, m.cols)) || (type === "q8_0" && interleaveQ8(m.rows, m.cols));
    // Quantize-on-load and conversions go through a slab-sized scratch, never a whole-matrix copy.
    convertInto(m, type, this.heap.u8(ptr, size), il);
    return new WasmMatrix(this, type, m.rows, m.cols, ptr, ptr + scales, size, il);
  }

  matmul(w: Matrix, x: Float32Array, n: number, y: Float32Array, bias?: Float32Array): void {
    const m = this.own(w);
    const { rows, cols } = m;
    need("x", x, n * cols);
    need("y", y, n * rows);
    if (bias !== undefined) need("bias", bias, rows);
    if (n <= 0) return;
    const xp = this.input("x", x, n * cols);
    const yp = this.output("y", y, n * rows);
    const bp = bias === undefined ? 0 : this.input("bias", bias, rows);
    const chunk = Math.max(4, Math.ceil(rows / (this.threads * 8) / 4) * 4);
    const fk = FLOAT_KIND[m.type], qk = Q_KIND[m.type], kk = K_KIND[m.type];
    if (fk !== undefined) {
      this.pool.run(this.ids.matmulFloat, rows, chunk, [fk, m.ptr, xp, yp, bp, n, rows, cols]);
    } else if (qk !== undefined) {
      const xq = this.tmp("xq", n * cols * 2), xd = this.tmp("xd", n * (cols / 32) * 4), xs = this.tmp("xs", n * (cols / 32) * 4);
      const xq8 = this.relaxed && m.type === "q4_0" ? this.tmp("xq8", n * cols) : 0;
      this.quantizeX(xp, xq, xq8, m.ilBits, xd, xs, n, cols, 32);
      this.pool.run(this.ids.matmulQ, rows, chunk, [m.kind, m.ptr, m.scales, xq, xq8, xd, xs, yp, bp, n, rows, cols]);
    } else if (kk !== undefined) {
      const xq = this.tmp("xq", n * cols * 2), xd = this.tmp("xd", n * (cols / 256) * 4), xs = this.tmp("xs", n * (cols / 256) * 4);
      const sums = this.tmp("sums", n * (cols / 16) * 4), xq8 = this.relaxed && m.type !== "q5_k" ? this.tmp("xq8", n * cols) : 0;
      this.quantizeX(xp, xq, xq8, 0, xd, xs, n, cols, 256);
      this.kernels.blockSums(xq, sums, n * cols, sumGroup(m.type));
      this.pool.run(this.ids.matmulK, rows, chunk, [kk, m.ptr, xq, xq8, xd, sums, yp, bp, n, rows, cols]);
    } else {
      throw new Error(`unreachable: no kernel for ${m.type}`);
    }
    this.copyOut(y, yp, n * rows);
  }

  matmulMany(ws: readonly Matrix[], x: Float32Array, n: number, ys: readonly Float32Array[], biases?: readonly (Float32Array | undefined)[]): void {
    if (ys.length !== ws.length) throw new QwenrtError("matmulMany", `${ws.length} matrices but ${ys.length} outputs`);
    const ms = ws.map((w) => this.own(w));
    const family = ms.length > 0 ? familyOf(ms[0]!.type) : undefined;
    const cols = ms[0]?.cols ?? 0;
    // q4_0 matrices read one i8 x, interleaved or plain: a mix of layouts (rows % 4 differs) cannot share it.
    const q4 = ms.filter((m) => m.type === "q4_0"), q4Mixed = q4.some((m) => m.il) && q4.some((m) => !m.il);
    if (ms.length < 2 || ms.length > 8 || q4Mixed || ms.some((m) => familyOf(m.type) !== family || m.cols !== cols)) {
      // Mixed kernel families or widths cannot share one prepared x: one call each (same values).
      ms.forEach((m, j) => this.matmul(m, x, n, ys[j]!, biases?.[j]));
      return;
    }
    need("x", x, n * cols);
    ms.forEach((m, j) => {
      need(`ys[${j}]`, ys[j]!, n * m.rows);
      const b = biases?.[j];
      if (b !== undefined) need(`biases[${j}]`, b, m.rows);
    });
    if (n <= 0) return;
    const xp = this.input("x", x, n * cols);
    const ptrs = ms.map((m, j) => ({ y: this.output(`y${j}`, ys[j]!, n * m.rows), b: biases?.[j] === undefined ? 0 : this.input(`bias${j}`, biases[j]!, m.rows) }));
    const total = ms.reduce((a, m) => a + m.rows, 0);
    this.runMulti(family!, ms, ptrs, xp, n, cols, total, 0);
    ms.forEach((m, j) => this.copyOut(ys[j]!, ptrs[j]!.y, n * m.rows));
  }

  swiGlu(gate: Matrix, up: Matrix, x: Float32Array, n: number, out: Float32Array): void {
    const g = this.own(gate), u = this.own(up);
    const { rows, cols } = g;
    const family = familyOf(g.type);
    need("x", x, n * cols);
    need("out", out, n * rows);
    if (u.rows !== rows || u.cols !== cols || familyOf(u.type) !== family) {
      // Different kernel families cannot share one job: unfused (same values).
      const t = this.tmpF32("swiglu.up", n * rows);
      this.matmul(g, x, n, out);
      this.matmul(u, x, n, t);
      this.siluMul(out, t, out, n * rows);
      return;
    }
    if (n <= 0) return;
    const xp = this.input("x", x, n * cols);
    const op = this.output("out", out, n * rows);
    const gp = this.tmp("swiglu.gate", n * rows * 4), upp = this.tmp("swiglu.up", n * rows * 4);
    this.runMulti(family!, [g, u], [{ y: gp, b: 0 }, { y: upp, b: 0 }], xp, n, cols, rows, op);
    this.copyOut(out, op, n * rows);
  }

  /** Prepare x for `family` once and run the multi-matrix job over `total` items. */
  private runMulti(family: number, ms: readonly WasmMatrix[], ptrs: readonly { y: number; b: number }[], xp: number, n: number, cols: number, total: number, out: number): void {
    const table = this.tmp("multi.table", ms.length * ENTRY_BYTES);
    const t = new Uint32Array(this.heap.u8(table, ms.length * ENTRY_BYTES).buffer, table, ms.length * (ENTRY_BYTES / 4));
    let xa = xp, xb = 0, xc = 0, xd = 0;
    let xi = 0; // interleaved i16 x of q8_0 entries when others read the plain xa (table slot 7)
    if (family === FAMILY_Q) {
      xa = this.tmp("xq", n * cols * 2);
      xc = this.tmp("xd", n * (cols / 32) * 4);
      xd = this.tmp("xs", n * (cols / 32) * 4);
      xb = this.relaxed && ms.some((m) => m.type === "q4_0") ? this.tmp("xq8", n * cols) : 0;
      // q4_0 entries all share one layout (matmulMany); q8_0 entries may mix (xi below).
      const q4il = ms.some((m) => m.il && !m.il8) ? 1 : 0;
      const all8 = ms.every((m) => m.il8);
      this.quantizeX(xp, xa, xb, q4il | (all8 ? 2 : 0), xc, xd, n, cols, 32);
      if (!all8 && ms.some((m) => m.il8)) {
        xi = this.tmp("xqi", n * cols * 2);
        this.quantizeX(xp, xi, 0, 2, xc, xd, n, cols, 32); // same xd / xs values again
      }
    } else if (family === FAMILY_K) {
      xa = this.tmp("xq", n * cols * 2);
      xc = this.tmp("xd", n * (cols / 256) * 4);
      const xs = this.tmp("xs", n * (cols / 256) * 4); // xb: Q4_K / Q6_K's i8 copy of x (relaxed build)
      xb = this.relaxed && ms.some((m) => m.type !== "q5_k") ? this.tmp("xq8", n * cols) : 0;
      this.quantizeX(xp, xa, xb, 0, xc, xs, n, cols, 256);
    }
    let first = 0;
    ms.forEach((m, j) => {
      const e = j * (ENTRY_BYTES / 4);
      const kind = m.kind;
      let sums = 0;
      if (family === FAMILY_K) {
        const group = sumGroup(m.type);
        sums = this.tmp(`sums${group}`, n * (cols / 16) * 4);
        this.kernels.blockSums(xa, sums, n * cols, group);
      }
      t.set([kind, m.ptr, m.scales, ptrs[j]!.y, ptrs[j]!.b, m.rows, first, family === FAMILY_K ? sums : m.il8 ? xi : 0], e);
      first += m.rows;
    });
    const chunk = Math.max(4, Math.ceil(total / (this.threads * 8) / 4) * 4);
    this.pool.run(this.ids.matmulMulti, total, chunk, [family, ms.length, table, xa, xb, xc, xd, n, cols, out]);
  }

  /** quantizeQ8 of n x rows; prefill-sized batches split by rows over the pool (the same bytes). */
  private quantizeX(x: number, xq: number, xq8: number, il: number, xd: number, xs: number, n: number, cols: number, block: number): void {
    if (n < 16 || this.threads === 1) this.kernels.quantizeQ8(x, xq, xq8, il, xd, xs, n, cols, block);
    else this.pool.run(this.ids.quantize, n, Math.ceil(n / (this.threads * 4)), [x, xq, xq8, il, xd, xs, cols, block]);
  }

  embedRow(w: Matrix, row: number, out: Float32Array): void {
    const m = this.own(w);
    if (!Number.isInteger(row) || row < 0 || row >= m.rows) throw new QwenrtError("embedRow", `row ${row} is outside 0..${m.rows - 1}`);
    need("out", out, m.cols);
    dequantizeRow(m.type, this.heap.u8(0, m.ptr + m.bytes), m.ptr, m.rows, m.cols, row, out, m.il);
  }

  rmsNorm(x: Float32Array, weight: Float32Array, eps: number, rows: number, dim: number, out: Float32Array): void {
    need("x", x, rows * dim);
    need("weight", weight, dim);
    need("out", out, rows * dim);
    const xp = this.input("x", x, rows * dim), wp = this.input("weight", weight, dim);
    const op = this.output("out", out, rows * dim);
    const chunk = Math.max(1, Math.ceil(16384 / Math.max(dim, 1)));
    this.pool.run(this.ids.rmsNorm, rows, chunk, [xp, wp, op, dim, { f32: eps }]);
    this.copyOut(out, op, rows * dim);
  }

  rope(x: Float32Array, n: number, heads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
    if (headDim % 2 !== 0) throw new QwenrtError("rope", `headDim must be even, got ${headDim}`);
    need("x", x, n * heads * headDim);
    need("cos", cos, (n * headDim) / 2);
    need("sin", sin, (n * headDim) / 2);
    const xp = this.output("x", x, n * heads * headDim, true);
    const cp = this.input("cos", cos, (n * headDim) / 2), sp = this.input("sin", sin, (n * headDim) / 2);
    const chunk = Math.max(1, Math.ceil(32768 / Math.max(headDim, 1)));
    this.pool.run(this.ids.rope, n * heads, chunk, [xp, cp, sp, heads, headDim]);
    this.copyOut(x, xp, n * heads * headDim);
  }

  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array, length: number): void {
    need("gate", gate, length);
    need("up", up, length);
    need("out", out, length);
    const gp = this.input("gate", gate, length), upp = this.input("up", up, length);
    const op = this.output("out", out, length);
    const chunk = Math.max(8192, Math.ceil(length / (this.threads * 4)));
    this.pool.run(this.ids.siluMul, length, chunk, [gp, upp, op]);
    this.copyOut(out, op, length);
  }

  attention(q: Float32Array, k: KvBuffer, v: KvBuffer, n: number, start: number, capacity: number, heads: number, kvHeads: number, headDim: number, scale: number, out: Float32Array): void {
    if (kvHeads <= 0 || heads % kvHeads !== 0) throw new QwenrtError("attention", `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
    if (capacity < start + n) throw new QwenrtError("attention", `capacity ${capacity} cannot hold ${start + n} positions`);
    const qLen = n * heads * headDim, kvLen = kvHeads * capacity * headDim; // k, v: [kvHeads, capacity, headDim]
    need("q", q, qLen);
    need("k", k, kvLen);
    need("v", v, kvLen);
    need("out", out, qLen);
    if (k.constructor !== v.constructor) throw new QwenrtError("attention", "k and v caches must have one element type");
    const qp = this.input("q", q, qLen), kp = this.input("k", k, kvLen), vp = this.input("v", v, kvLen);
    const op = this.output("out", out, qLen);
    const stride = Math.ceil((start + n) / 4) * 16;
    const qtile = Math.min(n, ATTENTION_QTILE);
    const sp = this.tmp("scores", (stride + headDim * 4) * qtile * (heads / kvHeads) * this.threads); // [threads, qtile · group, stride + q row]
    const items = Math.ceil(n / qtile) * kvHeads;
    const f16 = k instanceof Uint16Array, wideBytes = this.threads * 2 * (start + n) * headDim * 4; // [threads, 2, start + n, headDim]
    const wide = f16 && n > 1 && wideBytes <= ATTENTION_WIDE_MAX ? this.tmp("attn.wide", wideBytes) : 0;
    this.pool.run(this.ids.attention, items, 1, [qp, kp, vp, op, sp, stride, start, n, heads, kvHeads, headDim, capacity, qtile, { f32: scale }, f16 ? 1 : 0, wide] satisfies JobArg[]);
    this.copyOut(out, op, qLen);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  private live(): void {
    if (this.disposed) throw new QwenrtError("wasm backend", "used after dispose()");
  }

  private own(w: Matrix): WasmMatrix {
    this.live();
    if (!(w instanceof WasmMatrix) || w.owner !== this) throw new QwenrtError("matmul", "matrix was loaded by another backend");
    return w;
  }

  /** A scratch area for slot `name` of at least `bytes`, reused across calls (grown by reallocation). */
  private tmp(name: string, bytes: number): number {
    const s = this.scratch.get(name);
    if (s !== undefined && s.bytes >= bytes) return s.ptr;
    const size = Math.max(bytes, 2 * (s?.bytes ?? 0), 256);
    if (s !== undefined) this.heap.release(s.ptr);
    const ptr = this.heap.alloc(size);
    this.scratch.set(name, { ptr, bytes: size });
    return ptr;
  }

  /** A scratch float32 view of `len` values for slot `name`. */
  private tmpF32(name: string, len: number): Float32Array {
    return this.heap.f32(this.tmp(name, len * 4), len);
  }

  /** Address of `a[0..len)`: itself when in wasm memory, else a scratch copy. */
  private input(name: string, a: Float32Array | Uint16Array, len: number): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const bytes = len * a.BYTES_PER_ELEMENT;
    const p = this.tmp(`in:${name}`, bytes);
    this.heap.u8(p, bytes).set(new Uint8Array(a.buffer, a.byteOffset, bytes));
    return p;
  }

  /** Address to write `a[0..len)` at: itself when in wasm memory, else scratch (copied in when `inPlace`). */
  private output(name: string, a: Float32Array, len: number, inPlace = false): number {
    if (this.heap.owns(a)) return a.byteOffset;
    const p = this.tmp(`out:${name}`, len * 4);
    if (inPlace) this.heap.f32(p, len).set(a.subarray(0, len));
    return p;
  }

  private copyOut(a: Float32Array, p: number, len: number): void {
    if (!this.heap.owns(a)) a.set(this.heap.f32(p, len));
  }
}

function need(name: string, a: ArrayLike<number>, len: number): void {
  if (a.length < len) throw new QwenrtError(name, `needs at least ${len} values, got ${a.length}`);
}
