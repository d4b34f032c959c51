// The pool's load-time repack (assembly/repack.ts) writes the same bytes as repack.ts for every
// layout it has — q8_0 / q4_0 plain and interleaved (q8_0 also in the dot-add order), q4_k / q6_k
// plain and in sub-block lanes — on
// random blocks whose scales include every kind of half (normal, subnormal, ±0, ±inf, NaN), whole
// and as slabs of rows of a bigger matrix, split over two threads; and the layouts it lacks fall
// back to repack.ts.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { rowBytes } from "../../formats/quant/index.js";
import type { WeightType } from "../../formats/quant/types.js";
import { WasmHeap } from "./memory.js";
import { loadKernelModule } from "./module.js";
import { Pool } from "./pool.js";
import { JOB, instantiateKernels } from "./protocol.js";
import { repack, repackedSize } from "./repack.js";
import { PoolRepacker } from "./repack_pool.js";
import { wasmApi } from "./wasm_api.js";

const module = { module: (await loadKernelModule(false)).module, dotAdd: false };
const memory = new wasmApi.Memory({ initial: 64, maximum: 4096, shared: true });
const kernels = instantiateKernels(module, memory);
const heap = new WasmHeap(memory, kernels.heapBase());
const pool = await Pool.create(module, memory, kernels, heap.alloc(JOB.bytes, 64), 2);
const repacker = new PoolRepacker(pool.runner(0), kernels, heap);
after(() => pool.dispose());

/** Where each block's f16 scale(s) sit: [block bytes, offsets]. */
const LAYOUT: Record<string, readonly [number, readonly number[]]> = { q8_0: [34, [0]], q4_0: [18, [0]], q4_k: [144, [0, 2]], q6_k: [210, [208]] };
/** Halves of every kind: 1.0, a subnormal, -0, +inf, -inf, two NaNs, the largest finite. */
const HALVES = [0x3c00, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0xfd01, 0x7bff, 0x83ff];

function blocks(type: string, rows: number, cols: number, seed: number): Uint8Array {
  const [bb, scales] = LAYOUT[type]!;
  const out = new Uint8Array(rowBytes(type as WeightType, cols) * rows);
  let x = seed >>> 0;
  for (let i = 0; i < out.length; i++) out[i] = (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) >>> 24;
  for (let b = 0, k = 0; b < out.length / bb; b++) {
    for (const o of scales) {
      if (b % 3 !== 0) continue;
      const h = HALVES[k++ % HALVES.length]!;
      out[b * bb + o] = h & 0xff;
      out[b * bb + o + 1] = h >> 8;
    }
  }
  return out;
}

/** Repack through the pool: ggml rows staged into the memory, the job, the matrix bytes read back. */
function viaPool(type: WeightType, il: boolean, dot: boolean, src: Uint8Array, rows: number, cols: number, r0: number, totalRows: number, into: Uint8Array): void {
  const size = repackedSize(type, totalRows, cols).bytes;
  const ptr = heap.alloc(size), buf = heap.alloc(src.byteLength);
  try {
    heap.u8(ptr, size).set(into);
    heap.u8(buf, src.byteLength).set(src);
    const t = { type, il, dot, ptr, rows: totalRows, cols };
    repacker.runStaged(repacker.kind(t)!, t, buf, rows, r0);
    into.set(heap.u8(ptr, size));
  } finally {
    heap.release(buf);
    heap.release(ptr);
  }
}

const CASES: readonly (readonly [WeightType, boolean, number, number, boolean?])[] = [
  ["q8_0", false, 6, 96],
  ["q8_0", true, 12, 384],
  ["q8_0", true, 12, 384, true],
  ["q4_0", false, 5, 160],
  ["q4_0", true, 12, 256],
  ["q4_k", false, 5, 512],
  ["q4_k", true, 6, 768],
  ["q6_k", false, 5, 512],
  ["q6_k", true, 6, 768],
];

for (const [type, il, rows, cols, dot = false] of CASES) {
  test(`${type}${il ? " (interleaved / sub-block lanes)" : ""}${dot ? " in the dot-add order" : ""}: the pool's repack equals repack.ts, whole and from a row offset`, () => {
    const src = blocks(type, rows, cols, rows * cols + (il ? 1 : 0));
    const size = repackedSize(type, rows, cols).bytes;
    const want = new Uint8Array(size), got = new Uint8Array(size);
    repack(type, src, rows, cols, want, il, 0, rows, dot);
    viaPool(type, il, dot, src, rows, cols, 0, rows, got);
    assert.deepEqual(got, want);
    // Rows 4.. of the matrix from their own slab, into a matrix already holding rows 0..3.
    const row = rowBytes(type, cols);
    const part = new Uint8Array(size), wantPart = new Uint8Array(size);
    repack(type, src.subarray(0, 4 * row), 4, cols, part, il, 0, rows, dot);
    wantPart.set(part);
    repack(type, src.subarray(4 * row), rows - 4, cols, wantPart, il, 4, rows, dot);
    viaPool(type, il, dot, src.subarray(4 * row), rows - 4, cols, 4, rows, part);
    assert.deepEqual(part, wantPart);
    assert.deepEqual(part, want);
  });
}

test("the sink stages host rows in slabs through the pool, and leaves other layouts to repack.ts", () => {
  const rows = 40, cols = 256;
  for (const [type, il] of [["q4_k", true], ["q5_k", false]] as const) {
    const src = type === "q5_k" ? new Uint8Array(rowBytes(type, cols) * rows).map((_, i) => (i * 37) & 0x3b) : blocks(type, rows, cols, 7);
    const size = repackedSize(type, rows, cols).bytes;
    const want = new Uint8Array(size);
    repack(type, src, rows, cols, want, il);
    const ptr = heap.alloc(size), stage = heap.alloc(5 * rowBytes(type, cols) + 3); // slabs of 5 rows
    try {
      const t = { type, il, dot: false, ptr, rows, cols };
      const put = repacker.sink(t, heap.u8(ptr, size), { ptr: stage, bytes: 5 * rowBytes(type, cols) + 3 });
      put(src.subarray(0, 17 * rowBytes(type, cols)), 17, 0);
      put(src.subarray(17 * rowBytes(type, cols)), rows - 17, 17);
      assert.equal(repacker.kind(t) === undefined, type === "q5_k");
      assert.deepEqual(heap.u8(ptr, size), want);
    } finally {
      heap.release(stage);
      heap.release(ptr);
    }
  }
});
