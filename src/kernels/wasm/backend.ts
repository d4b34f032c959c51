/**
 * The wasm kernel backend: SIMD kernels (assembly/) on one shared wasm memory, run by a persistent
 * worker pool. This class checks arguments and wires each call: host arrays through staging.ts
 * (tensors from `allocF32` are already in wasm memory and pass as byte offsets), matmuls through
 * dispatch.ts (kernel family by weight type), weights through matrix.ts, MoE through the shared
 * host composite (../host_moe.ts).
 */
import { QwenrtError } from "../../util/errors.js";
import { hostArg, hostCopy, hostCopyKv, hostF32, hostKv, hostView, hostWrite, need } from "../host.js";
import { causalConvSiluLoop, ropeLoop, sigmoidMulLoop } from "../host_hybrid.js";
import { HostMoe } from "../host_moe.js";
import { checkKvWrite, writeKvF32 } from "../kv.js";
import type { DeltaNetShape, HostKernelBackend, HostMatrix, KvBuffer, KvType, Matrix, MoeWeights, Tensor } from "../types.js";
import { chunkedGatedDeltaNet } from "./deltanet.js";
import { MatmulDispatch } from "./dispatch.js";
import { loadWasmMatrix, WasmMatrix, type LoadContext, type WasmDtype } from "./matrix.js";
import type { WasmHeap } from "./memory.js";
import { KernelJobs } from "./jobs.js";
import type { Pool } from "./pool.js";
import { kernelIds, type KernelExports } from "./protocol.js";
import { dequantizeRow } from "./repack.js";
import { Staging } from "./staging.js";

export type { WasmDtype };

export class WasmBackend implements HostKernelBackend {
  readonly name: string;
  readonly threads: number;
  private readonly staging: Staging;
  private readonly dispatch: MatmulDispatch;
  private readonly jobs: KernelJobs;
  private readonly loading: LoadContext;
  private moeRunner: HostMoe | undefined;
  private disposed = false;

  constructor(
    private readonly heap: WasmHeap,
    private readonly kernels: KernelExports,
    private readonly pool: Pool,
    dtype: WasmDtype | undefined,
    relaxed: boolean,
    log: (line: string) => void,
    readonly kvType: KvType,
  ) {
    this.threads = pool.threads;
    this.name = relaxed ? "wasm-relaxed" : "wasm";
    const ids = kernelIds(kernels);
    this.staging = new Staging(heap);
    this.dispatch = new MatmulDispatch(kernels, ids, pool, this.staging, relaxed);
    this.jobs = new KernelJobs(kernels, ids, pool, this.staging);
    this.loading = { heap, relaxed, dtype, log, announced: new Set() };
  }

  /** Bytes of wasm memory in use (weights, activations, scratch; freed blocks excluded). */
  get memoryBytes(): number {
    return this.heap.used;
  }

  /** The heap's high-water mark in bytes (what the wasm memory has to hold). */
  get memoryEnd(): number {
    return this.heap.end;
  }

  // ---- memory ----

  allocF32(length: number): Float32Array {
    this.live();
    // A recycled heap block holds its last owner's values: zero it, as the contract says.
    return this.heap.f32(this.heap.alloc(length * 4), length).fill(0);
  }

  freeF32(buf: Tensor): void {
    this.release(hostF32(buf, "freeF32"));
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

  allocKv(length: number): Float32Array | Uint16Array {
    this.live();
    return this.kvType === "f16" ? this.heap.u16(this.heap.alloc(length * 2), length) : this.allocF32(length);
  }

  freeKv(buf: KvBuffer): void {
    this.release(hostKv(buf, "freeKv"));
  }

  writeKv(srcT: Tensor, rows: number, kvHeads: number, headDim: number, dstB: KvBuffer, capacity: number, start: number): void {
    const src = hostF32(srcT, "writeKv src"), dst = hostKv(dstB, "writeKv");
    if (dst instanceof Float32Array) return writeKvF32(src, rows, kvHeads, headDim, dst, capacity, start);
    checkKvWrite(src, rows, kvHeads, headDim, dst, capacity, start);
    if (!this.heap.owns(dst)) throw new QwenrtError("writeKv", "an f16 cache must come from this backend's allocKv");
    // One call per segment and layer: the conversion runs in wasm on the calling thread.
    this.kernels.writeKvF16(this.staging.input("kv", src, rows * kvHeads * headDim), dst.byteOffset, rows, kvHeads, headDim, capacity, start);
  }

  // ---- weights ----

  loadMatrix(m: HostMatrix): Matrix {
    this.live();
    return loadWasmMatrix(this.loading, m);
  }

  // ---- kernels ----

  matmul(w: Matrix, xt: Tensor, n: number, yt: Tensor, biasT?: Tensor): void {
    const m = this.own(w);
    const { rows, cols } = m;
    const x = hostArg(xt, "x", n * cols), y = hostArg(yt, "y", n * rows), bias = biasT === undefined ? undefined : hostArg(biasT, "bias", rows);
    if (n <= 0) return;
    const s = this.staging;
    const xp = s.input("x", x, n * cols), yp = s.output("y", y, n * rows);
    this.dispatch.matmul(m, xp, n, yp, bias === undefined ? 0 : s.input("bias", bias, rows));
    s.copyOut(y, yp, n * rows);
  }

  matmulMany(ws: readonly Matrix[], xt: Tensor, n: number, yts: readonly Tensor[], biasTs?: readonly (Tensor | undefined)[]): void {
    if (yts.length !== ws.length) throw new QwenrtError("matmulMany", `${ws.length} matrices but ${yts.length} outputs`);
    const ms = ws.map((w) => this.own(w));
    if (!this.dispatch.fusable(ms)) {
      // Mixed kernel families or widths cannot share one prepared x: one call each (same values).
      ms.forEach((m, j) => this.matmul(m, xt, n, yts[j]!, biasTs?.[j]));
      return;
    }
    const cols = ms[0]!.cols;
    const x = hostArg(xt, "x", n * cols);
    const ys = ms.map((m, j) => hostArg(yts[j]!, `ys[${j}]`, n * m.rows));
    const biases = ms.map((m, j) => (biasTs?.[j] === undefined ? undefined : hostArg(biasTs[j]!, `biases[${j}]`, m.rows)));
    if (n <= 0) return;
    const s = this.staging;
    const xp = s.input("x", x, n * cols);
    const outs = ms.map((m, j) => ({ y: s.output(`y${j}`, ys[j]!, n * m.rows), b: biases[j] === undefined ? 0 : s.input(`bias${j}`, biases[j]!, m.rows) }));
    this.dispatch.many(ms, xp, n, outs);
    ms.forEach((m, j) => s.copyOut(ys[j]!, outs[j]!.y, n * m.rows));
  }

  swiGlu(gate: Matrix, up: Matrix, xt: Tensor, n: number, outT: Tensor): void {
    const g = this.own(gate), u = this.own(up);
    const { rows, cols } = g;
    const x = hostArg(xt, "x", n * cols), out = hostArg(outT, "out", n * rows);
    if (u.rows !== rows || u.cols !== cols || !this.dispatch.fusable([g, u])) {
      // Different kernel families cannot share one job: unfused (same values).
      const t = this.staging.tmpF32("swiglu.up", n * rows);
      this.matmul(g, x, n, out);
      this.matmul(u, x, n, t);
      this.siluMul(out, t, out, n * rows);
      return;
    }
    if (n <= 0) return;
    const xp = this.staging.input("x", x, n * cols), op = this.staging.output("out", out, n * rows);
    this.dispatch.swiGlu(g, u, xp, n, op);
    this.staging.copyOut(out, op, n * rows);
  }

  embedRow(w: Matrix, row: number, outT: Tensor): void {
    const m = this.own(w), out = hostArg(outT, "out", m.cols);
    this.dequantize(m, this.heap.u8(0, m.ptr + m.bytes), row, out);
  }

  embed(w: Matrix, ids: Int32Array, outT: Tensor): void {
    const m = this.own(w), out = hostArg(outT, "out", ids.length * m.cols);
    const mem = this.heap.u8(0, m.ptr + m.bytes);
    for (let i = 0; i < ids.length; i++) this.dequantize(m, mem, ids[i]!, out.subarray(i * m.cols, (i + 1) * m.cols));
  }

  rmsNorm(xt: Tensor, weightT: Tensor, eps: number, rows: number, dim: number, outT: Tensor): void {
    const x = hostArg(xt, "x", rows * dim), weight = hostArg(weightT, "weight", dim), out = hostArg(outT, "out", rows * dim);
    const s = this.staging;
    const xp = s.input("x", x, rows * dim), wp = s.input("weight", weight, dim), op = s.output("out", out, rows * dim);
    this.jobs.rmsNorm(xp, wp, eps, rows, dim, op);
    s.copyOut(out, op, rows * dim);
  }

  add(at: Tensor, bt: Tensor, outT: Tensor, length: number): void {
    const a = hostArg(at, "a", length), b = hostArg(bt, "b", length), out = hostArg(outT, "out", length);
    if (length <= 0) return;
    const h = this.heap;
    if (!h.owns(a) || !h.owns(b) || !h.owns(out)) {
      for (let i = 0; i < length; i++) out[i] = a[i]! + b[i]!; // host arrays: staging would cost more than the sum
    } else {
      this.jobs.add(a.byteOffset, b.byteOffset, out.byteOffset, length);
    }
  }

  rope(xt: Tensor, n: number, heads: number, headDim: number, cosT: Tensor, sinT: Tensor, rotaryDim = headDim): void {
    if (headDim % 2 !== 0) throw new QwenrtError("rope", `headDim must be even, got ${headDim}`);
    if (rotaryDim !== headDim) return ropeLoop(xt, n, heads, headDim, cosT, sinT, rotaryDim); // partial RoPE: host loop for now
    const len = n * heads * headDim, half = (n * headDim) / 2;
    const x = hostArg(xt, "x", len), cos = hostArg(cosT, "cos", half), sin = hostArg(sinT, "sin", half);
    const s = this.staging;
    const xp = s.output("x", x, len, true), cp = s.input("cos", cos, half), sp = s.input("sin", sin, half);
    this.jobs.rope(xp, n, heads, headDim, cp, sp);
    s.copyOut(x, xp, len);
  }

  siluMul(gateT: Tensor, upT: Tensor, outT: Tensor, length: number): void {
    const gate = hostArg(gateT, "gate", length), up = hostArg(upT, "up", length), out = hostArg(outT, "out", length);
    const s = this.staging;
    const gp = s.input("gate", gate, length), upp = s.input("up", up, length), op = s.output("out", out, length);
    this.jobs.siluMul(gp, upp, op, length);
    s.copyOut(out, op, length);
  }

  moe(w: MoeWeights, x: Tensor, n: number, out: Tensor): void {
    this.live();
    this.moeRunner ??= new HostMoe(this);
    this.moeRunner.forward(w, x, n, out);
  }

  attention(qt: Tensor, kb: KvBuffer, vb: KvBuffer, n: number, start: number, capacity: number, heads: number, kvHeads: number, headDim: number, scale: number, outT: Tensor): void {
    if (kvHeads <= 0 || heads % kvHeads !== 0) throw new QwenrtError("attention", `heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
    if (capacity < start + n) throw new QwenrtError("attention", `capacity ${capacity} cannot hold ${start + n} positions`);
    const qLen = n * heads * headDim, kvLen = kvHeads * capacity * headDim; // k, v: [kvHeads, capacity, headDim]
    const q = hostArg(qt, "q", qLen), out = hostArg(outT, "out", qLen), k = hostKv(kb, "k"), v = hostKv(vb, "v");
    need("k", k, kvLen);
    need("v", v, kvLen);
    if (k.constructor !== v.constructor) throw new QwenrtError("attention", "k and v caches must have one element type");
    const s = this.staging;
    const qp = s.input("q", q, qLen), kp = s.input("k", k, kvLen), vp = s.input("v", v, kvLen);
    const op = s.output("out", out, qLen);
    this.jobs.attention(qp, kp, vp, k instanceof Uint16Array, n, start, capacity, heads, kvHeads, headDim, scale, op);
    s.copyOut(out, op, qLen);
  }

  // ---- hybrid models: host loops over heap views (correctness first; kernels can replace them) ----

  causalConvSilu(x: Tensor, n: number, channels: number, kernel: number, weight: Tensor, state: Tensor, out: Tensor): void {
    this.live();
    causalConvSiluLoop(x, n, channels, kernel, weight, state, out);
  }

  gatedDeltaNet(qkv: Tensor, a: Tensor, b: Tensor, negA: Tensor, dtBias: Tensor, state: Tensor, n: number, shape: DeltaNetShape, out: Tensor): void {
    this.live();
    chunkedGatedDeltaNet(qkv, a, b, negA, dtBias, state, n, shape, out);
  }

  sigmoidMul(x: Tensor, gate: Tensor, rows: number, width: number, gateWidth: number, out: Tensor): void {
    this.live();
    sigmoidMulLoop(x, gate, rows, width, gateWidth, out);
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

  private release(buf: Float32Array | Uint16Array): void {
    this.live();
    if (!this.heap.owns(buf)) throw new QwenrtError("free", "buffer was not allocated by this backend");
    this.heap.release(buf.byteOffset);
  }

  /** Row `row` of `m` (in `mem`, a byte view of wasm memory from 0) into `out[cols]`, exactly. */
  private dequantize(m: WasmMatrix, mem: Uint8Array, row: number, out: Float32Array): void {
    if (!Number.isInteger(row) || row < 0 || row >= m.rows) throw new QwenrtError("embedRow", `row ${row} is outside 0..${m.rows - 1}`);
    dequantizeRow(m.type, mem, m.ptr, m.rows, m.cols, row, out, m.il);
  }

  private own(w: Matrix): WasmMatrix {
    this.live();
    if (!(w instanceof WasmMatrix) || w.owner !== this.heap) throw new QwenrtError("matmul", "matrix was loaded by another backend");
    return w;
  }
}
