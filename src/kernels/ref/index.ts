/**
 * The reference kernel backend: plain TypeScript over Float32Arrays, weights dequantized to float32
 * at load, dot products and softmax sums accumulated in float64 (JS numbers). It is the oracle every
 * faster backend is compared against (`kernels/cases.ts`), so clarity and exactness come before speed
 * — but loops stay on typed arrays with no per-element allocation.
 */
import { dequantizeAll, rowBytes } from "../../formats/quant/index.js";
import { QwenrtError } from "../../util/errors.js";
import { addLoop, hostCopy, hostCopyKv, hostF32, hostView, hostWrite } from "../host.js";
import { causalConvSiluLoop, ropeLoop, sigmoidMulLoop } from "../host_hybrid.js";
import { HostMoe } from "../host_moe.js";
import { f32Cache, writeKvF32 } from "../kv.js";
import type { HostKernelBackend, HostMatrix, Matrix, MoeWeights, Tensor } from "../types.js";
import { refGatedDeltaNet } from "./deltanet.js";

/** A weight matrix dequantized to float32 (so it reports "f32", whatever the file held). */
class RefMatrix implements Matrix {
  readonly type = "f32";
  constructor(
    readonly rows: number,
    readonly cols: number,
    readonly data: Float32Array, // [rows, cols]
  ) {}

  get bytes(): number {
    return this.data.byteLength;
  }
}

function own(w: Matrix): RefMatrix {
  if (!(w instanceof RefMatrix)) throw new Error("ref backend: matrix was loaded by another backend");
  return w;
}

/** Rows of `x` handled together in matmul, so each weight row is read once per block. */
const ROW_BLOCK = 4;

/**
 * Create the reference backend.
 *
 * @example
 * const be = createRefBackend();
 * const w = be.loadMatrix({ type: "f32", rows: 2, cols: 2, bytes });
 */
export function createRefBackend(): HostKernelBackend {
  let scores = new Float64Array(256); // [keys] attention probabilities, grown on demand
  let upBuf = new Float32Array(0); // [n, inter] swiGlu's up projection
  let accBuf = new Float64Array(256); // [headDim] attention output accumulator

  let moe: HostMoe | undefined;

  const be: HostKernelBackend = {
    name: "ref",
    threads: 1,
    kvType: "f32",

    allocF32(length: number): Float32Array {
      return new Float32Array(length);
    },

    freeF32(): void {
      // Garbage-collected: nothing to return.
    },

    view: hostView,
    write: hostWrite,

    read(t: Tensor): Promise<Float32Array> {
      return Promise.resolve(hostF32(t, "read").slice());
    },

    readSync(t: Tensor): Float32Array {
      return hostF32(t, "readSync").slice();
    },

    loadVector(v: Float32Array): Float32Array {
      return v.slice();
    },

    allocKv(length: number): Float32Array {
      return new Float32Array(length);
    },

    freeKv(): void {
      // Garbage-collected: nothing to return.
    },

    copyKv: hostCopyKv,

    writeKv(src, rows, kvHeads, headDim, dst, capacity, start): void {
      writeKvF32(hostF32(src, "writeKv src"), rows, kvHeads, headDim, f32Cache("writeKv", dst), capacity, start);
    },

    loadMatrix(m: HostMatrix): Matrix {
      const need = m.rows * rowBytes(m.type, m.cols);
      if (m.bytes.byteLength !== need) {
        throw new QwenrtError("weights", `a [${m.rows}, ${m.cols}] ${m.type} matrix needs ${need} bytes, got ${m.bytes.byteLength}`);
      }
      return new RefMatrix(m.rows, m.cols, dequantizeAll(m.type, m.bytes, m.rows * m.cols));
    },

    heldMatrix: (_type, rows, cols) => ({ type: "f32", bytes: rows * cols * 4 }),

    matmul(w: Matrix, xt: Tensor, n: number, yt: Tensor, biast?: Tensor): void {
      const { rows, cols, data } = own(w);
      const x = hostF32(xt, "x"), y = hostF32(yt, "y"), bias = biast === undefined ? undefined : hostF32(biast, "bias");
      let i = 0;
      for (; i + ROW_BLOCK <= n; i += ROW_BLOCK) {
        const x0 = i * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        const y0 = i * rows, y1 = y0 + rows, y2 = y1 + rows, y3 = y2 + rows;
        for (let r = 0; r < rows; r++) {
          const wo = r * cols;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let c = 0; c < cols; c++) {
            const wv = data[wo + c]!;
            s0 += wv * x[x0 + c]!;
            s1 += wv * x[x1 + c]!;
            s2 += wv * x[x2 + c]!;
            s3 += wv * x[x3 + c]!;
          }
          const b = bias === undefined ? 0 : bias[r]!;
          y[y0 + r] = s0 + b;
          y[y1 + r] = s1 + b;
          y[y2 + r] = s2 + b;
          y[y3 + r] = s3 + b;
        }
      }
      for (; i < n; i++) {
        const xo = i * cols, yo = i * rows;
        for (let r = 0; r < rows; r++) {
          const wo = r * cols;
          let s = 0;
          for (let c = 0; c < cols; c++) s += data[wo + c]! * x[xo + c]!;
          y[yo + r] = s + (bias === undefined ? 0 : bias[r]!);
        }
      }
    },

    matmulMany(ws: readonly Matrix[], x: Tensor, n: number, ys: readonly Tensor[], biases?: readonly (Tensor | undefined)[]): void {
      if (ys.length !== ws.length) throw new QwenrtError("matmulMany", `${ws.length} matrices but ${ys.length} outputs`);
      ws.forEach((w, j) => this.matmul(w, x, n, ys[j]!, biases?.[j]));
    },

    swiGlu(gate: Matrix, up: Matrix, x: Tensor, n: number, out: Tensor): void {
      const len = n * own(up).rows;
      if (upBuf.length < len) upBuf = new Float32Array(len);
      this.matmul(gate, x, n, out);
      this.matmul(up, x, n, upBuf);
      this.siluMul(out, upBuf, out, len);
    },

    embedRow(w: Matrix, row: number, out: Tensor): void {
      const m = own(w);
      if (!Number.isInteger(row) || row < 0 || row >= m.rows) {
        throw new QwenrtError("ids", `token id ${row} is out of range [0, ${m.rows})`);
      }
      hostF32(out, "out").set(m.data.subarray(row * m.cols, (row + 1) * m.cols));
    },

    embed(w: Matrix, ids: Int32Array, out: Tensor): void {
      const cols = own(w).cols;
      for (let i = 0; i < ids.length; i++) this.embedRow(w, ids[i]!, hostView(out, i * cols, cols));
    },

    rmsNorm(xt: Tensor, wt: Tensor, eps: number, rows: number, dim: number, outt: Tensor): void {
      const x = hostF32(xt, "x"), weight = hostF32(wt, "weight"), out = hostF32(outt, "out");
      for (let r = 0; r < rows; r++) {
        const o = r * dim;
        let ss = 0;
        for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
        // float32 rsqrt of the float32 mean, as the reference computes it.
        const inv = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / dim) + eps)));
        for (let i = 0; i < dim; i++) out[o + i] = weight[i]! * Math.fround(x[o + i]! * inv);
      }
    },

    add(a: Tensor, b: Tensor, out: Tensor, length: number): void {
      addLoop(hostF32(a, "a"), hostF32(b, "b"), hostF32(out, "out"), length);
    },

    copy: hostCopy,

    rope(xt: Tensor, n: number, heads: number, headDim: number, cost: Tensor, sint: Tensor, rotaryDim = headDim): void {
      ropeLoop(xt, n, heads, headDim, cost, sint, rotaryDim);
    },

    siluMul(gatet: Tensor, upt: Tensor, outt: Tensor, length: number): void {
      const gate = hostF32(gatet, "gate"), up = hostF32(upt, "up"), out = hostF32(outt, "out");
      for (let i = 0; i < length; i++) {
        const g = gate[i]!;
        out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
      }
    },

    moe(w: MoeWeights, x: Tensor, n: number, out: Tensor): void {
      moe ??= new HostMoe(be);
      moe.forward(w, x, n, out);
    },

    attention(qt, kb, vb, n, start, capacity, heads, kvHeads, headDim, scale, outt): void {
      const k = f32Cache("attention", kb), v = f32Cache("attention", vb);
      const q = hostF32(qt, "q"), out = hostF32(outt, "out");
      const group = heads / kvHeads;
      const headStride = capacity * headDim; // k, v: [kvHeads, capacity, headDim]
      if (scores.length < start + n) scores = new Float64Array(Math.max(start + n, scores.length * 2));
      if (accBuf.length < headDim) accBuf = new Float64Array(headDim);
      const p = scores;
      const acc = accBuf;
      for (let i = 0; i < n; i++) {
        const len = start + i + 1; // causal: keys 0 .. start + i
        for (let h = 0; h < heads; h++) {
          const qo = (i * heads + h) * headDim;
          const kvo = Math.floor(h / group) * headStride;
          let max = -Infinity;
          for (let j = 0; j < len; j++) {
            const ko = kvo + j * headDim;
            let s = 0;
            for (let d = 0; d < headDim; d++) s += q[qo + d]! * k[ko + d]!;
            s *= scale;
            p[j] = s;
            if (s > max) max = s;
          }
          let sum = 0;
          for (let j = 0; j < len; j++) {
            const e = Math.exp(p[j]! - max);
            p[j] = e;
            sum += e;
          }
          acc.fill(0, 0, headDim);
          for (let j = 0; j < len; j++) {
            const pj = p[j]!;
            const vo = kvo + j * headDim;
            for (let d = 0; d < headDim; d++) acc[d] += pj * v[vo + d]!;
          }
          const inv = 1 / sum;
          for (let d = 0; d < headDim; d++) out[qo + d] = acc[d]! * inv;
        }
      }
    },

    causalConvSilu: causalConvSiluLoop,
    gatedDeltaNet: refGatedDeltaNet,
    sigmoidMul: sigmoidMulLoop,

    dispose(): void {
      scores = new Float64Array(0);
      upBuf = new Float32Array(0);
      moe = undefined;
    },
  };
  return be;
}
