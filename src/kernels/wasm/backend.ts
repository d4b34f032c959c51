/**
 * The wasm kernel backend: SIMD kernels (assembly/) on shared wasm memory banks (bank.ts), run by a
 * persistent worker pool. This class checks arguments and wires each call to the bank that holds
 * its data: weights' matmuls to their bank (a matrix split across banks runs one part per bank),
 * attention and f16 cache writes to the cache's bank, everything else to the home bank where
 * activations live; inputs from elsewhere go through that bank's staging.ts (a tensor already in
 * the bank passes as its byte offset), matmuls through dispatch.ts (kernel family by weight type),
 * weights through load_matrix.ts, MoE through the shared host composite (../host_moe.ts) with a
 * fused decode path (moe_decode.ts).
 */
import { QwenrtError } from "../../util/errors.js";
import { hostArg, hostCopy, hostCopyKv, hostF32, hostKv, hostView, hostWrite, need } from "../host.js";
import { ropeLoop } from "../host_hybrid.js";
import { HostMoe, type Routes } from "../host_moe.js";
import { checkKvWrite, kvElementBytes, writeKvF32 } from "../kv.js";
import type { DeltaNetShape, HeldMatrix, HostKernelBackend, HostMatrix, KvBuffer, KvType, Matrix, MatrixRowReader, MoeWeights, Tensor, WeightType } from "../types.js";
import type { Bank, BankInfo, Banks, MatrixPlacement } from "./bank.js";
import { DeltaNetJobs } from "./deltanet.js";
import { MatrixLoader } from "./load_matrix.js";
import { routedExperts } from "./moe_decode.js";
import { batchedExperts } from "./moe_prefill.js";
import { WasmMatrix, type PackedMatrix, type WasmDtype } from "./matrix.js";
import type { Pool } from "./pool.js";
import { kernelIds } from "./protocol.js";
import { PoolQuantizer } from "./quantize_rows.js";
import { dequantizeRow } from "./repack.js";

export type { BankInfo, MatrixPlacement, WasmDtype };

/** Bytes of one staged activation slot per bank (see `stagedRows`). */
const STAGE_BYTES = 8 << 20;

export class WasmBackend implements HostKernelBackend {
  readonly name: string;
  readonly threads: number;
  private readonly loader: MatrixLoader;
  private moeRunner: HostMoe | undefined;
  private deltaJobs: DeltaNetJobs | undefined;
  private disposed = false;

  constructor(
    private readonly memory: Banks,
    private readonly pool: Pool,
    dtype: WasmDtype | undefined,
    relaxed: boolean,
    log: (line: string) => void,
    readonly kvType: KvType,
    dotAdd = false,
  ) {
    this.threads = pool.threads;
    // "+dot": Q8_0 runs on the relaxed i8 dot-add (x86 VNNI; module.ts dotAddAvailable).
    this.name = relaxed ? (dotAdd ? "wasm-relaxed+dot" : "wasm-relaxed") : "wasm";
    // Quantize-on-load runs the SIMD quantizers on the pool, staged through the home bank.
    const quantizer = new PoolQuantizer(pool.runner(memory.home.index), memory.home.kernels, memory.home.heap);
    this.loader = new MatrixLoader(memory, relaxed, dtype, log, quantizer, dotAdd);
  }

  /** Bytes of wasm memory in use over all banks (weights, activations, caches, scratch; freed blocks excluded). */
  get memoryBytes(): number {
    return this.memory.all.reduce((a, b) => a + b.heap.used, 0);
  }

  /** The banks' high-water marks summed (what the wasm memories have to hold). */
  get memoryEnd(): number {
    return this.memory.all.reduce((a, b) => a + b.heap.end, 0);
  }

  /** The memory banks: bank 0 is the home bank (activations), then weight and KV cache banks. */
  get banks(): readonly BankInfo[] {
    return this.memory.all.map((b) => ({ index: b.index, role: b.role, placed: b.placed, end: b.heap.end, threads: this.pool.threadsOn(b.index) }));
  }

  /** The banks holding `w`, one entry per part (rows `first .. first + rows - 1`). */
  placement(w: Matrix): readonly MatrixPlacement[] {
    return this.own(w).parts.map((p) => ({ bank: p.bank, first: p.first, rows: p.rows }));
  }

  /** The bank holding a tensor or KV cache buffer of this backend (undefined for host arrays). */
  bankOf(t: Tensor | KvBuffer): number | undefined {
    return t instanceof Float32Array || t instanceof Uint16Array ? this.memory.bankOf(t)?.index : undefined;
  }

  private get home(): Bank {
    return this.memory.home;
  }

  // ---- memory ----

  allocF32(length: number): Float32Array {
    this.live();
    const h = this.home.heap;
    // A recycled heap block holds its last owner's values: zero it, as the contract says.
    return h.f32(h.alloc(length * 4), length).fill(0);
  }

  freeF32(buf: Tensor): void {
    this.live();
    const b = hostF32(buf, "freeF32");
    if (!this.home.heap.owns(b)) throw new QwenrtError("free", "buffer was not allocated by this backend's allocF32");
    this.home.heap.release(b.byteOffset);
  }

  readonly view = hostView;
  readonly write = hostWrite;
  readonly copy = hostCopy;
  readonly copyKv = hostCopyKv;
  readonly readSync = (t: Tensor): Float32Array => hostF32(t, "read").slice();

  read(t: Tensor): Promise<Float32Array> {
    return Promise.resolve(this.readSync(t));
  }

  loadVector(v: Float32Array): Float32Array {
    const t = this.allocF32(v.length);
    t.set(v);
    return t;
  }

  /** A cache buffer in a KV bank: keys and values of a layer (allocated one after the other, of one
   * size) land in the same bank. */
  allocKv(length: number): Float32Array | Uint16Array {
    this.live();
    const bytes = length * kvElementBytes(this.kvType);
    const bank = this.memory.kvBank(bytes);
    const ptr = bank.heap.alloc(bytes);
    return this.kvType === "f16" ? bank.heap.u16(ptr, length) : bank.heap.f32(ptr, length);
  }

  freeKv(buf: KvBuffer): void {
    this.live();
    const b = hostKv(buf, "freeKv"), bank = this.memory.bankOf(b);
    if (bank === undefined || bank.role !== "kv") throw new QwenrtError("freeKv", "buffer was not allocated by this backend's allocKv");
    bank.heap.release(b.byteOffset);
    this.memory.kvFreed(bank, b.byteLength);
  }

  writeKv(srcT: Tensor, rows: number, kvHeads: number, headDim: number, dstB: KvBuffer, capacity: number, start: number): void {
    const src = hostF32(srcT, "writeKv src"), dst = hostKv(dstB, "writeKv");
    if (dst instanceof Float32Array) return writeKvF32(src, rows, kvHeads, headDim, dst, capacity, start);
    checkKvWrite(src, rows, kvHeads, headDim, dst, capacity, start);
    const bank = this.memory.bankOf(dst);
    if (bank === undefined) throw new QwenrtError("writeKv", "an f16 cache must come from this backend's allocKv");
    // One call per segment and layer: the conversion runs in wasm on the calling thread, in the cache's bank.
    bank.kernels.writeKvF16(bank.staging.input("kv", src, rows * kvHeads * headDim), dst.byteOffset, rows, kvHeads, headDim, capacity, start);
  }

  // ---- weights ----

  loadMatrix(m: HostMatrix): Matrix {
    this.live();
    return this.loader.load(m);
  }

  loadMatrixFrom(type: WeightType, rows: number, cols: number, read: MatrixRowReader): Promise<Matrix> {
    this.live();
    return this.loader.loadRows(type, rows, cols, read);
  }

  heldMatrix(type: WeightType, rows: number, cols: number): HeldMatrix {
    const { stored, bytes } = this.loader.plan(type, rows, cols);
    return { type: stored, bytes };
  }

  // ---- kernels ----

  matmul(w: Matrix, xt: Tensor, n: number, yt: Tensor, biasT?: Tensor): void {
    const m = this.own(w);
    const { rows, cols } = m;
    const x = hostArg(xt, "x", n * cols), y = hostArg(yt, "y", n * rows), bias = biasT === undefined ? undefined : hostArg(biasT, "bias", rows);
    if (n <= 0) return;
    const c = this.stagedRows(m.parts.every((p) => p.bank === 0), Math.max(rows, cols));
    if (n > c) {
      for (let i = 0; i < n; i += c) this.matmul(m, x.subarray(i * cols), Math.min(c, n - i), y.subarray(i * rows), bias);
      return;
    }
    if (m.parts.length === 1) {
      const p = m.parts[0]!, { staging: s, dispatch } = this.bankFor(p);
      const xp = s.input("x", x, n * cols), yp = s.output("y", y, n * rows);
      dispatch.matmul(p, xp, n, yp, bias === undefined ? 0 : s.input("bias", bias, rows));
      s.copyOut(y, yp, n * rows);
      return;
    }
    // Split by rows: each bank computes its rows' columns of y, which go back into place row by row.
    for (const p of m.parts) {
      const bank = this.bankFor(p), s = bank.staging;
      const xp = s.input("x", x, n * cols), tp = s.tmp("split.y", n * p.rows * 4);
      const bp = bias === undefined ? 0 : s.input("bias", bias.subarray(p.first, p.first + p.rows), p.rows);
      bank.dispatch.matmul(p, xp, n, tp, bp);
      const t = bank.heap.f32(tp, n * p.rows);
      for (let j = 0; j < n; j++) y.set(t.subarray(j * p.rows, (j + 1) * p.rows), j * rows + p.first);
    }
  }

  matmulMany(ws: readonly Matrix[], xt: Tensor, n: number, yts: readonly Tensor[], biasTs?: readonly (Tensor | undefined)[]): void {
    if (yts.length !== ws.length) throw new QwenrtError("matmulMany", `${ws.length} matrices but ${yts.length} outputs`);
    const ms = ws.map((w) => this.own(w));
    const ps = this.oneBank(ms);
    if (ps === undefined || !this.bankFor(ps[0]!).dispatch.fusable(ps)) {
      // Mixed kernel families, widths or banks cannot share one prepared x: one call each (same values).
      ms.forEach((m, j) => this.matmul(m, xt, n, yts[j]!, biasTs?.[j]));
      return;
    }
    const cols = ms[0]!.cols;
    const x = hostArg(xt, "x", n * cols);
    const ys = ms.map((m, j) => hostArg(yts[j]!, `ys[${j}]`, n * m.rows));
    const biases = ms.map((m, j) => (biasTs?.[j] === undefined ? undefined : hostArg(biasTs[j]!, `biases[${j}]`, m.rows)));
    if (n <= 0) return;
    const c = this.stagedRows(ps[0]!.bank === 0, Math.max(cols, ms.reduce((a, m) => a + m.rows, 0)));
    if (n > c) {
      for (let i = 0; i < n; i += c) this.matmulMany(ms, x.subarray(i * cols), Math.min(c, n - i), ms.map((m, j) => ys[j]!.subarray(i * m.rows)), biases);
      return;
    }
    const bank = this.bankFor(ps[0]!), s = bank.staging;
    const xp = s.input("x", x, n * cols);
    const outs = ms.map((m, j) => ({ y: s.output(`y${j}`, ys[j]!, n * m.rows), b: biases[j] === undefined ? 0 : s.input(`bias${j}`, biases[j]!, m.rows) }));
    bank.dispatch.many(ps, xp, n, outs);
    ms.forEach((m, j) => s.copyOut(ys[j]!, outs[j]!.y, n * m.rows));
  }

  swiGlu(gate: Matrix, up: Matrix, xt: Tensor, n: number, outT: Tensor): void {
    const g = this.own(gate), u = this.own(up);
    const { rows, cols } = g;
    const x = hostArg(xt, "x", n * cols), out = hostArg(outT, "out", n * rows);
    const ps = this.oneBank([g, u]);
    if (u.rows !== rows || u.cols !== cols || ps === undefined || !this.bankFor(ps[0]!).dispatch.fusable(ps)) {
      // Different kernel families or banks cannot share one job: unfused (same values).
      const t = this.home.staging.tmpF32("swiglu.up", n * rows);
      this.matmul(g, x, n, out);
      this.matmul(u, x, n, t);
      this.siluMul(out, t, out, n * rows);
      return;
    }
    if (n <= 0) return;
    const c = this.stagedRows(ps[0]!.bank === 0, Math.max(cols, 3 * rows)); // x in; the two halves and out
    if (n > c) {
      for (let i = 0; i < n; i += c) this.swiGlu(g, u, x.subarray(i * cols), Math.min(c, n - i), out.subarray(i * rows));
      return;
    }
    const { staging: s, dispatch } = this.bankFor(ps[0]!);
    const xp = s.input("x", x, n * cols), op = s.output("out", out, n * rows);
    dispatch.swiGlu(ps[0]!, ps[1]!, xp, n, op);
    s.copyOut(out, op, n * rows);
  }

  embedRow(w: Matrix, row: number, outT: Tensor): void {
    const m = this.own(w), out = hostArg(outT, "out", m.cols);
    this.dequantize(m, row, out);
  }

  embed(w: Matrix, ids: Int32Array, outT: Tensor): void {
    const m = this.own(w), out = hostArg(outT, "out", ids.length * m.cols);
    for (let i = 0; i < ids.length; i++) this.dequantize(m, ids[i]!, out.subarray(i * m.cols, (i + 1) * m.cols));
  }

  rmsNorm(xt: Tensor, weightT: Tensor, eps: number, rows: number, dim: number, outT: Tensor): void {
    const x = hostArg(xt, "x", rows * dim), weight = hostArg(weightT, "weight", dim), out = hostArg(outT, "out", rows * dim);
    const { staging: s, jobs } = this.home;
    const xp = s.input("x", x, rows * dim), wp = s.input("weight", weight, dim), op = s.output("out", out, rows * dim);
    jobs.rmsNorm(xp, wp, eps, rows, dim, op);
    s.copyOut(out, op, rows * dim);
  }

  add(at: Tensor, bt: Tensor, outT: Tensor, length: number): void {
    const a = hostArg(at, "a", length), b = hostArg(bt, "b", length), out = hostArg(outT, "out", length);
    if (length <= 0) return;
    const h = this.home.heap;
    if (!h.owns(a) || !h.owns(b) || !h.owns(out)) {
      for (let i = 0; i < length; i++) out[i] = a[i]! + b[i]!; // host arrays: staging would cost more than the sum
    } else {
      this.home.jobs.add(a.byteOffset, b.byteOffset, out.byteOffset, length);
    }
  }

  rope(xt: Tensor, n: number, heads: number, headDim: number, cosT: Tensor, sinT: Tensor, rotaryDim = headDim): void {
    if (headDim % 2 !== 0) throw new QwenrtError("rope", `headDim must be even, got ${headDim}`);
    if (rotaryDim !== headDim) return ropeLoop(xt, n, heads, headDim, cosT, sinT, rotaryDim); // partial RoPE: host loop for now
    const len = n * heads * headDim, half = (n * headDim) / 2;
    const x = hostArg(xt, "x", len), cos = hostArg(cosT, "cos", half), sin = hostArg(sinT, "sin", half);
    const { staging: s, jobs } = this.home;
    const xp = s.output("x", x, len, true), cp = s.input("cos", cos, half), sp = s.input("sin", sin, half);
    jobs.rope(xp, n, heads, headDim, cp, sp);
    s.copyOut(x, xp, len);
  }

  siluMul(gateT: Tensor, upT: Tensor, outT: Tensor, length: number): void {
    const gate = hostArg(gateT, "gate", length), up = hostArg(upT, "up", length), out = hostArg(outT, "out", length);
    const { staging: s, jobs } = this.home;
    const gp = s.input("gate", gate, length), upp = s.input("up", up, length), op = s.output("out", out, length);
    jobs.siluMul(gp, upp, op, length);
    s.copyOut(out, op, length);
  }

  moe(w: MoeWeights, x: Tensor, n: number, out: Tensor): void {
    this.live();
    // Fused paths: a decode row (moe_decode.ts) and a batch (moe_prefill.ts), all routed experts of a bank in two jobs.
    this.moeRunner ??= new HostMoe(this, this.moeRouted.bind(this), this.moeBatch.bind(this));
    this.moeRunner.forward(w, x, n, out);
  }

  /** One row's routed experts (`RoutedExperts` of ../host_moe.ts) on the fused path of moe_decode.ts;
   * false, nothing written, when they cannot take it. */
  moeRouted(w: MoeWeights, ids: Int32Array, weights: Float32Array, x: Float32Array, out: Float32Array): boolean {
    this.live();
    return routedExperts(this.memory, (m) => this.own(m), w, ids, weights, x, out);
  }

  /** A batch's grouped routes (`RoutedBatch` of ../host_moe.ts) on the fused path of moe_prefill.ts;
   * false, nothing written, when they cannot take it. */
  moeBatch(w: MoeWeights, routes: Routes, x: Float32Array, n: number, out: Float32Array): boolean {
    this.live();
    return batchedExperts(this.memory, (m) => this.own(m), w, routes, x, n, out);
  }

  attention(qt: Tensor, kb: KvBuffer, vb: KvBuffer, n: number, start: number, capacity: number, heads: number, kvHeads: number, headDim: number, scale: number, outT: Tensor): void {
    if (kvHeads <= 0 || heads % kvHeads !== 0) throw new QwenrtError("attention", `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
    if (capacity < start + n) throw new QwenrtError("attention", `capacity ${capacity} cannot hold ${start + n} positions`);
    const qLen = n * heads * headDim, kvLen = kvHeads * capacity * headDim; // k, v: [kvHeads, capacity, headDim]
    const q = hostArg(qt, "q", qLen), out = hostArg(outT, "out", qLen), k = hostKv(kb, "k"), v = hostKv(vb, "v");
    need("k", k, kvLen);
    need("v", v, kvLen);
    if (k.constructor !== v.constructor) throw new QwenrtError("attention", "k and v caches must have one element type");
    // In the cache's bank (allocKv keeps a layer's keys and values together): q in, out back.
    const bank = this.memory.bankOf(k) ?? this.home, s = bank.staging;
    const qp = s.input("q", q, qLen), kp = s.input("k", k, kvLen), vp = s.input("v", v, kvLen);
    const op = s.output("out", out, qLen);
    bank.jobs.attention(qp, kp, vp, k instanceof Uint16Array, n, start, capacity, heads, kvHeads, headDim, scale, op);
    s.copyOut(out, op, qLen);
  }

  // ---- hybrid models: conv, delta rule and output gate as pool jobs in the home bank (deltanet.ts) ----

  causalConvSilu(x: Tensor, n: number, channels: number, kernel: number, weight: Tensor, state: Tensor, out: Tensor): void {
    this.delta().causalConvSilu(x, n, channels, kernel, weight, state, out);
  }

  gatedDeltaNet(qkv: Tensor, a: Tensor, b: Tensor, negA: Tensor, dtBias: Tensor, state: Tensor, n: number, shape: DeltaNetShape, out: Tensor): void {
    this.delta().gatedDeltaNet(qkv, a, b, negA, dtBias, state, n, shape, out);
  }

  private delta(): DeltaNetJobs {
    this.live();
    const home = this.home;
    this.deltaJobs ??= new DeltaNetJobs(kernelIds(home.kernels), this.pool.runner(home.index), home.staging, home.heap);
    return this.deltaJobs;
  }

  sigmoidMul(x: Tensor, gate: Tensor, rows: number, width: number, gateWidth: number, out: Tensor): void {
    this.delta().sigmoidMul(x, gate, rows, width, gateWidth, out);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.moeRunner = undefined;
    this.pool.dispose();
  }

  private live(): void {
    if (this.disposed) throw new QwenrtError("wasm backend", "used after dispose()");
  }

  private bankFor(p: PackedMatrix): Bank {
    return this.memory.all[p.bank]!;
  }

  /**
   * Rows of x a matmul runs at a time: all in the home bank, where activations already are; on
   * another bank, at most what keeps its staging (x in, y out, the prepared x, the SwiGLU halves)
   * near STAGE_BYTES per slot, `width` values per row at most — so a prefill chunk does not grow
   * every bank by its activations. Rows of x are independent: the chunks give the same bits.
   */
  private stagedRows(home: boolean, width: number): number {
    return home ? Infinity : Math.max(16, Math.floor(STAGE_BYTES / (4 * width)));
  }

  /** The matrices' only parts when each lies whole in one bank and all in the same one. */
  private oneBank(ms: readonly WasmMatrix[]): PackedMatrix[] | undefined {
    const ps: PackedMatrix[] = [];
    for (const m of ms) {
      const p = m.parts[0]!;
      if (m.parts.length !== 1 || (ps.length > 0 && p.bank !== ps[0]!.bank)) return undefined;
      ps.push(p);
    }
    return ps;
  }

  /** Row `row` of `m` into `out[cols]`, exactly, from the part that holds it. */
  private dequantize(m: WasmMatrix, row: number, out: Float32Array): void {
    if (!Number.isInteger(row) || row < 0 || row >= m.rows) throw new QwenrtError("embedRow", `row ${row} is outside 0..${m.rows - 1}`);
    const p = m.partOf(row);
    const heap = this.bankFor(p).heap;
    dequantizeRow(p.type, heap.u8(0, p.ptr + p.bytes), p.ptr, p.rows, p.cols, row - p.first, out, p.il, p.dot);
  }

  private own(w: Matrix): WasmMatrix {
    this.live();
    if (!(w instanceof WasmMatrix) || w.owner !== this.memory) throw new QwenrtError("matmul", "matrix was loaded by another backend");
    return w;
  }
}
