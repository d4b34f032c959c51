// The dot-add kernels (Q8_0: assembly/matmul_q8il_dot.ts; interleaved Q4_0: matmul_q4il.ts `da`;
// Q4_K: matmul_k.ts q4kPairD; Q6_K decode: matmul_k6.ts q6kHalfD),
// switched on where module.ts dotAddAvailable finds the relaxed i8 dot-add exact (x86 VNNI on
// Node ≥ 22), give the bits of the kernels they replace: single matmuls at decode and prefill widths (tile edges: n = 1..9, a row range that does
// not start on a quad), fused matmulMany / swiGlu, and the MoE layer, threaded and single. Where the
// dot-add is not exact (Node 20, CPUs without VNNI) the probe must say so and the backend must refuse
// `dotAdd: true`.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import { hostMatrix, seededFloats } from "../cases.js";
import type { HostKernelBackend, HostMatrix, MoeWeights } from "../types.js";
import { createWasmBackend } from "./index.js";
import { dotAddAvailable } from "./module.js";

const available = dotAddAvailable();
const skip = available ? false : "the relaxed i8 dot-add is not exact on this runtime and CPU";

describe("wasm Q8_0 by the relaxed i8 dot-add", () => {
  const backends: HostKernelBackend[] = [];
  const make = async (o: { threads: number; dotAdd: boolean }): Promise<HostKernelBackend> => {
    const be = await createWasmBackend(o);
    backends.push(be);
    return be;
  };
  after(() => backends.forEach((b) => b.dispose()));

  test("the probe agrees with the backend option", { skip: available }, async () => {
    await assert.rejects(createWasmBackend({ threads: 1, dotAdd: true }), /dotAdd.*not exact/);
  });

  for (const type of ["q8_0", "q4_0", "q4_k", "q6_k"] as const) test(`${type}: matmul at every tile edge, matmulMany, swiGlu: the same bits as without the dot-add, threaded = single`, { skip }, async () => {
    const on = await make({ threads: 2, dotAdd: true }), one = await make({ threads: 1, dotAdd: true }), off = await make({ threads: 2, dotAdd: false });
    const cols = type === "q4_k" || type === "q6_k" ? 512 : 384, rows = 36;
    // Weights with extreme quants (q8_0: ±127, and −128 from hand-made bytes) beside ordinary ones.
    const host = hostMatrix(type, rows, cols, seededFloats(3, rows * cols, 2));
    if (type === "q8_0") for (let b = 0; b < host.bytes.length; b += 34 * 7) host.bytes[b + 2] = 0x80; // q = −128
    const second = hostMatrix(type, rows, cols, seededFloats(4, rows * cols));
    const results = [on, one, off].map((be) => {
      const w = be.loadMatrix(host), v = be.loadMatrix(second);
      const bias = seededFloats(9, rows);
      const out: number[][] = [];
      for (const n of [1, 2, 3, 4, 5, 7, 8, 9]) {
        const x = be.allocF32(n * cols);
        x.set(seededFloats(10 + n, n * cols, n === 5 ? 40 : 1));
        const y = be.allocF32(n * rows), z = be.allocF32(n * rows), s = be.allocF32(n * rows);
        be.matmul(w, x, n, y, bias);
        be.matmulMany([w, v], x, n, [z, be.allocF32(n * rows)]);
        be.swiGlu(w, v, x, n, s);
        out.push([...y], [...z], [...s]);
      }
      return out;
    });
    assert.deepEqual(results[0], results[2]);
    assert.deepEqual(results[1], results[2]);
    // Tiles of 4, 3, 2 and 1 x rows give each row the bits it gets alone (the decode kernels).
    for (const be of [on, off]) {
      const w = be.loadMatrix(host);
      for (const n of [2, 3, 5, 6, 7]) {
        const x = be.allocF32(n * cols);
        x.set(seededFloats(60 + n, n * cols));
        const all = be.allocF32(n * rows), one = be.allocF32(rows);
        be.matmul(w, x, n, all);
        for (let i = 0; i < n; i++) {
          be.matmul(w, x.subarray(i * cols, (i + 1) * cols), 1, one);
          assert.deepEqual([...all.subarray(i * rows, (i + 1) * rows)], [...one], `n=${n}, row ${i}`);
        }
      }
    }
  });

  for (const type of ["q8_0", "q4_0", "q4_k", "q6_k"] as const) test(`${type} MoE layer (decode and prefill rows): the same bits as without the dot-add`, { skip }, async () => {
    const on = await make({ threads: 2, dotAdd: true }), off = await make({ threads: 2, dotAdd: false });
    const [hidden, inter, E] = [256, type === "q4_k" || type === "q6_k" ? 512 : 384, 5];
    const q8 = (seed: number, r: number, c: number): HostMatrix => {
      const v = seededFloats(seed, r * c, 0.3);
      const bytes = new Uint8Array(r * rowBytes(type, c));
      getFormat(type).quantize!(v, bytes, v.length);
      return { type, rows: r, cols: c, bytes };
    };
    const run = (be: HostKernelBackend): number[][] => {
      const w: MoeWeights = {
        router: be.loadMatrix(hostMatrix("f32", E, hidden, seededFloats(20, E * hidden))),
        experts: Array.from({ length: E }, (_, e) => ({ gate: be.loadMatrix(q8(30 + e, inter, hidden)), up: be.loadMatrix(q8(40 + e, inter, hidden)), down: be.loadMatrix(q8(50 + e, hidden, inter)) })),
        topK: 2,
        normalize: true,
      };
      return [1, 6].map((n) => {
        const x = be.allocF32(n * hidden), out = be.allocF32(n * hidden);
        x.set(seededFloats(60 + n, n * hidden));
        be.moe(w, x, n, out);
        return [...out];
      });
    };
    assert.deepEqual(run(on), run(off));
  });
});
