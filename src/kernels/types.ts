/**
 * The one kernel interface. `ref` (plain TypeScript, float32) is the oracle; every faster backend
 * (`wasm`, later `webgpu`) implements the same calls and passes the same case suite against `ref`.
 *
 * Activations, norm weights, biases and KV caches are backend-owned buffers (`Tensor`, `KvBuffer`):
 * model code only passes them from kernel to kernel, takes views with `view`, and moves data across
 * the host boundary with `write` / `read` — so a device backend keeps every activation on its device
 * for a whole step. Host backends (`ref`, `wasm`) hand out `Float32Array`s; a GPU backend hands out
 * regions of device buffers. Kernel calls are enqueued in order; only `read` waits for them
 * (asynchronously — a GPU readback is), and host backends also offer `readSync`.
 */
import type { WeightType } from "../formats/quant/types.js";

export type { WeightType };

/** A weight matrix in host memory, as read from a file: row-major `[rows, cols]`, raw little-endian
 * bytes in `type`'s layout (block-quantized types pack each row as `cols / blockSize` blocks). */
export interface HostMatrix {
  readonly type: WeightType;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array; // [rows, rowBytes(type, cols)]
}

/**
 * Reads rows `first .. first + count - 1` of a matrix's source bytes (as `HostMatrix.bytes` holds
 * them: `count × rowBytes(type, cols)` bytes) into `into`, which is exactly that long and may be
 * backend memory (a positioned file read lands the bytes in place).
 */
export type MatrixRowReader = (first: number, count: number, into: Uint8Array) => Promise<void>;

/** What a backend holds for a matrix: its type after any conversion on load, and its bytes. */
export interface HeldMatrix {
  readonly type: WeightType;
  readonly bytes: number;
}

/** A backend-owned weight matrix. Opaque outside the backend that made it; it reports what the
 * backend actually holds (after any conversion on load), not what the file had. */
export interface Matrix {
  /** The layout the backend holds (ref: "f32"; wasm: the file's type, or the converted one). */
  readonly type: WeightType;
  readonly rows: number;
  readonly cols: number;
  /** Bytes of backend memory the matrix occupies. */
  readonly bytes: number;
}

/**
 * A backend-owned buffer of float32 values (activations, scratch, norm weights, biases). Opaque
 * outside the backend that made it except for its length in elements. Host backends use
 * `Float32Array` (any host `Float32Array` is accepted by them as input too).
 */
export interface Tensor {
  readonly length: number;
}

/** Element type of a KV cache: float32, or IEEE half (as llama.cpp's default `-ctk f16 -ctv f16`). */
export type KvType = "f32" | "f16";

/** A KV cache buffer from `allocKv`, of the backend's `kvType` (host backends: `Float32Array`, or a
 * `Uint16Array` of half bits). Opaque outside the backend except for its length in elements. */
export interface KvBuffer {
  readonly length: number;
}

/** One expert of a sparse MoE block: a SwiGLU feed-forward. */
export interface ExpertWeights {
  readonly gate: Matrix; // [inter, hidden]
  readonly up: Matrix; // [inter, hidden]
  readonly down: Matrix; // [hidden, inter]
}

/** A sparse MoE feed-forward's weights and routing rule. */
export interface MoeWeights {
  readonly router: Matrix; // [experts, hidden]
  readonly experts: readonly ExpertWeights[]; // [experts]
  /** Experts per token. */
  readonly topK: number;
  /** Renormalise the top-k probabilities to sum to 1 (`norm_topk_prob`). */
  readonly normalize: boolean;
}

export interface KernelBackend {
  readonly name: string;
  readonly threads: number;
  /** What `allocKv` hands out: "f32" or "f16". */
  readonly kvType: KvType;

  // ---- memory ----

  /** Allocate a zeroed float32 tensor of `length` values. */
  allocF32(length: number): Tensor;

  /** Return a tensor `allocF32` handed out (the whole tensor, not a view) for reuse. It must not be
   * used afterwards. A no-op where memory is garbage-collected (`ref`). */
  freeF32(buf: Tensor): void;

  /** Values `offset .. offset + length - 1` of `t` as a tensor sharing its storage. */
  view(t: Tensor, offset: number, length: number): Tensor;

  /** Copy host values into `t` at `offset` (default 0). */
  write(t: Tensor, data: Float32Array, offset?: number): void;

  /** A host copy of `t`'s values once every kernel enqueued before has run. */
  read(t: Tensor): Promise<Float32Array>;

  /** `read` without waiting: present on backends whose memory is host memory (`ref`, `wasm`). */
  readonly readSync?: (t: Tensor) => Float32Array;

  /** A weight vector (norm weight, bias) in backend memory; the caller may drop `v` afterwards. */
  loadVector(v: Float32Array): Tensor;

  /** Allocate a KV cache buffer of `length` values of `kvType` (a position's values are defined once
   * `writeKv` wrote them). */
  allocKv(length: number): KvBuffer;

  /** Return a buffer `allocKv` handed out (the whole buffer) for reuse; it must not be used afterwards. */
  freeKv(buf: KvBuffer): void;

  /** Copy `length` raw elements `src[srcOffset ..]` → `dst[dstOffset ..]` (both from `allocKv`; f16
   * half bits move unchanged). Growing and forking a cache use it. */
  copyKv(src: KvBuffer, srcOffset: number, dst: KvBuffer, dstOffset: number, length: number): void;

  /** Append new k or v rows to a cache: `src` [rows, kvHeads, headDim] float32 → `dst`
   * [kvHeads, capacity, headDim] at positions `start .. start + rows - 1`, converted to `dst`'s
   * element type (f32 → f16 rounds to nearest even, as ggml's `GGML_FP32_TO_FP16`). */
  writeKv(src: Tensor, rows: number, kvHeads: number, headDim: number, dst: KvBuffer, capacity: number, start: number): void;

  // ---- weights ----

  /** Take a weight matrix. The backend may convert it (ref → f32) or copy it into its own memory;
   * the caller may drop `m.bytes` afterwards. */
  loadMatrix(m: HostMatrix): Matrix;

  /** Optional `loadMatrix` for weights still on disk: the backend hands `read` its own memory as the
   * destination (or a slab of it when the layout changes on load), so no host copy of the whole
   * matrix exists. Same result as `loadMatrix` of the same bytes. */
  loadMatrixFrom?(type: WeightType, rows: number, cols: number, read: MatrixRowReader): Promise<Matrix>;

  /** What `loadMatrix` would hold for a `rows × cols` matrix of `type`, without loading anything (the
   * memory preflight). Absent: the file's bytes. */
  heldMatrix?(type: WeightType, rows: number, cols: number): HeldMatrix;

  // ---- kernels ----

  /** `y[n, rows] = x[n, cols] · Wᵀ (+ bias[rows])`. */
  matmul(w: Matrix, x: Tensor, n: number, y: Tensor, bias?: Tensor): void;

  /** `ys[j][n, ws[j].rows] = x[n, cols] · ws[j]ᵀ (+ biases[j])` for matrices of one width `cols`
   * (q/k/v projections): the same values as `ws.length` `matmul` calls, with `x` read (and
   * quantized) once and one dispatch. */
  matmulMany(ws: readonly Matrix[], x: Tensor, n: number, ys: readonly Tensor[], biases?: readonly (Tensor | undefined)[]): void;

  /** SwiGLU's first half: `out[n, inter] = silu(x · gateᵀ) * (x · upᵀ)` (gate, up: [inter, cols]);
   * the same values as two `matmul` calls and `siluMul`. `out` must not alias `x`. */
  swiGlu(gate: Matrix, up: Matrix, x: Tensor, n: number, out: Tensor): void;

  /** Copy row `row` of `w`, dequantized, into `out[cols]` (embedding lookup of one token). */
  embedRow(w: Matrix, row: number, out: Tensor): void;

  /** `out[i, cols]` = row `ids[i]` of `w`, dequantized, for each of the `ids.length` tokens. */
  embed(w: Matrix, ids: Int32Array, out: Tensor): void;

  /** RMSNorm over each of `rows` rows of length `dim`: `out = x / sqrt(mean(x²) + eps) * weight`.
   * `out` may alias `x`. */
  rmsNorm(x: Tensor, weight: Tensor, eps: number, rows: number, dim: number, out: Tensor): void;

  /** `out[i] = a[i] + b[i]` for `i < length` (residual connections). `out` may alias `a` or `b`. */
  add(a: Tensor, b: Tensor, out: Tensor, length: number): void;

  /** `dst[i] = src[i]` for `i < src.length` (`dst` at least as long; take views for row ranges). */
  copy(src: Tensor, dst: Tensor): void;

  /** Rotary embedding in place, Hugging Face "rotate_half" layout over the first `rotaryDim`
   * (default `headDim`) dims of each head: pairs `i` and `i + rotaryDim/2`; dims `rotaryDim ..` pass
   * through (partial RoPE). `x`: [n, heads, headDim]; `cos`, `sin`: [n, rotaryDim/2] for each row's
   * position. */
  rope(x: Tensor, n: number, heads: number, headDim: number, cos: Tensor, sin: Tensor, rotaryDim?: number): void;

  /** `out[i] = silu(gate[i]) * up[i]` for `i < length`. `out` may alias `gate`. */
  siluMul(gate: Tensor, up: Tensor, out: Tensor, length: number): void;

  /**
   * Sparse mixture-of-experts feed-forward: per row of `x[n, hidden]`, router logits, softmax over
   * all experts (float32 probabilities), the `topK` largest (ties → lower index), optionally
   * renormalised; `out[n, hidden]` = Σ weight × expert SwiGLU(x). Routing happens inside the
   * backend (host backends group rows by expert and run one matmul per used expert).
   */
  moe(w: MoeWeights, x: Tensor, n: number, out: Tensor): void;

  /** Causal grouped-query attention of `n` new queries over a sequence's KV cache.
   * `q`: [n, heads, headDim]; `k`, `v`: [kvHeads, capacity, headDim] (head-major, so one head's
   * positions are contiguous) holding positions `0 .. start + n - 1`, `capacity ≥ start + n`;
   * query `i` (position `start + i`) attends to keys `0 .. start + i`. `out`: [n, heads, headDim].
   * `k` and `v` are of one element type. */
  attention(
    q: Tensor,
    k: KvBuffer,
    v: KvBuffer,
    n: number,
    start: number,
    capacity: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
    out: Tensor,
  ): void;

  // ---- hybrid models (Gated DeltaNet, gated attention, shared experts) ----

  /**
   * Depthwise causal 1-D convolution + SiLU over `n` rows of one sequence, continuing from `state`:
   * with `in` = the `kernel - 1` rows of `state` followed by the rows of `x`,
   * `out[t, c] = silu(Σ_j weight[c, j] · in[t + j, c])`; afterwards `state` holds the last
   * `kernel - 1` rows of `in`. `x`, `out`: [n, channels]; `weight`: [channels, kernel];
   * `state`: [kernel - 1, channels]. `out` must not alias `x` or `state`.
   */
  causalConvSilu(x: Tensor, n: number, channels: number, kernel: number, weight: Tensor, state: Tensor, out: Tensor): void;

  /**
   * The gated delta rule (Gated DeltaNet's recurrent core) over `n` tokens of one sequence,
   * continuing from `state` and leaving the state after the last token in it. Per token `t` and value
   * head `h` (key head `kh` = `shape.tiledHeads ? h % keyHeads : floor(h / (valueHeads / keyHeads))`):
   * `q = l2norm(q[t, kh]) / sqrt(keyDim)`, `k = l2norm(k[t, kh])` (`x / sqrt(Σx² + 1e-6)`),
   * `decay = exp(negA[h] · softplus(a[t, h] + dtBias[h]))`, `beta = sigmoid(b[t, h])`;
   * `S ← decay · S`, `S ← S + k · (beta · (v[t, h] − Sᵀk))ᵀ`, `out[t, h] = Sᵀq`.
   * `qkv`: [n, 2·keyHeads·keyDim + valueHeads·valueDim] (all q heads, all k heads, all v heads);
   * `a`, `b`: [n, valueHeads]; `negA` (= −exp(A_log)), `dtBias`: [valueHeads];
   * `state`: [valueHeads, keyDim, valueDim]; `out`: [n, valueHeads, valueDim]. A backend may evaluate
   * several tokens at once by the chunked (WY) form; the values are the recurrence's.
   */
  gatedDeltaNet(qkv: Tensor, a: Tensor, b: Tensor, negA: Tensor, dtBias: Tensor, state: Tensor, n: number, shape: DeltaNetShape, out: Tensor): void;

  /** Sigmoid gating: `out[r, i] = x[r, i] · sigmoid(gate[r, floor(i / (width / gateWidth))])` for
   * `rows` rows of `width` values — one gate per value (`gateWidth = width`, gated attention) or per
   * row (`gateWidth = 1`, the shared expert). `x`, `out`: [rows, width]; `gate`: [rows, gateWidth];
   * `width` a multiple of `gateWidth`. `out` may alias `x`. */
  sigmoidMul(x: Tensor, gate: Tensor, rows: number, width: number, gateWidth: number, out: Tensor): void;

  /** Release threads and memory. */
  dispose(): void;
}

/** The head layout of a Gated DeltaNet layer (see `KernelBackend.gatedDeltaNet`). */
export interface DeltaNetShape {
  readonly keyHeads: number;
  readonly valueHeads: number; // a multiple of keyHeads
  readonly keyDim: number;
  readonly valueDim: number;
  /** Value head `h` reads key head `h % keyHeads` (llama.cpp's GGUF order for Qwen3.5, "tiled")
   * rather than `floor(h / (valueHeads / keyHeads))` (the checkpoints' order, "grouped"). */
  readonly tiledHeads: boolean;
}

/** A backend whose memory is host memory (`ref`, `wasm`): tensors are `Float32Array`s, reads are
 * synchronous, and host `Float32Array`s are accepted wherever a tensor is. */
export interface HostKernelBackend extends KernelBackend {
  allocF32(length: number): Float32Array;
  view(t: Tensor, offset: number, length: number): Float32Array;
  loadVector(v: Float32Array): Float32Array;
  allocKv(length: number): Float32Array | Uint16Array;
  readonly readSync: (t: Tensor) => Float32Array;
}
