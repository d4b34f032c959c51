// The fused decode and prefill MoE (moe_decode.ts, moe_prefill.ts, assembly/moe.ts) against the
// per-expert loop of HostMoe on the same backend: the same bits, for every kernel family, on one bank
// and spread over many, threaded and single-threaded.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { getFormat, rowBytes } from "../../formats/quant/index.js";
import { HostMoe, routeTopK } from "../host_moe.js";
import type { HostMatrix, Matrix, MoeWeights, WeightType } from "../types.js";
import type { MatrixPlacement } from "./backend.js";
import { createWasmBackend, type WasmBackend } from "./index.js";

const [hidden, inter, E, K] = [256, 512, 6, 3];
let seed = 7;
const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;

function matrix(type: WeightType, rows: number, cols: number): HostMatrix {
  const v = Float32Array.from({ length: rows * cols }, () => rnd() * 0.2);
  if (type === "f32") return { type, rows, cols, bytes: new Uint8Array(v.buffer) };
  const bytes = new Uint8Array(rows * rowBytes(type, cols));
  getFormat(type).quantize!(v, bytes, v.length);
  return { type, rows, cols, bytes };
}

/** One MoE layer: gate/up of `gu`, down of `down` (as Q4_K_M mixes Q4_K and Q6_K). */
function layer(be: WasmBackend, gu: WeightType, down: WeightType): MoeWeights {
  return {
    router: be.loadMatrix(matrix("f32", E, hidden)),
    experts: Array.from({ length: E }, () => ({ gate: be.loadMatrix(matrix(gu, inter, hidden)), up: be.loadMatrix(matrix(gu, inter, hidden)), down: be.loadMatrix(matrix(down, hidden, inter)) })),
    topK: K,
    normalize: true,
  };
}

const cases: [WeightType, WeightType][] = [["q4_0", "q4_0"], ["q8_0", "q8_0"], ["q4_k", "q6_k"], ["q4_k", "q4_k"], ["f32", "f32"]];
const backends: { name: string; be: WasmBackend }[] = [];
for (const [name, opts] of [["2 threads, one bank", { threads: 2 }], ["1 thread, one bank", { threads: 1 }], ["2 threads, 1 MiB banks", { threads: 2, bankBytes: 1 << 20 }]] as const) {
  const be = await createWasmBackend(opts);
  assert.ok(be instanceof Object);
  backends.push({ name, be: be as WasmBackend });
}
after(() => backends.forEach(({ be }) => be.dispose()));

test("fused decode MoE == the per-expert loop, bit for bit, for every family and bank layout", () => {
  let spread = false; // some fused route had experts in several banks
  for (const [gu, down] of cases) {
    const results: Float32Array[] = [];
    for (const { name, be } of backends) {
      seed = 7;
      const w = layer(be, gu, down);
      const x = Float32Array.from({ length: hidden }, () => rnd());
      const fused = new Float32Array(hidden), perExpert = new Float32Array(hidden);
      // The backend's moe takes the fused path; a HostMoe without the hook runs one expert at a time.
      be.moe(w, x, 1, fused);
      new HostMoe(be).forward(w, x, 1, perExpert);
      assert.deepEqual(fused, perExpert, `${gu}/${down}, ${name}`);
      assert.ok(fused.some((v) => v !== 0), `${gu}/${down}, ${name}: all zero`);
      // The hook itself ran (not a fallback), on explicit routes.
      const logits = new Float32Array(E);
      be.matmul(w.router, x, 1, logits);
      const ids = new Int32Array(K), wts = new Float32Array(K);
      routeTopK(logits, 1, E, K, true, ids, wts);
      // It refuses only a matrix split across banks or a gate and up apart (then nothing is written).
      const place = (m: Matrix): readonly MatrixPlacement[] => be.placement(m);
      const fusable = [...ids].every((e) => {
        const { gate, up, down } = w.experts[e]!;
        return [gate, up, down].every((m) => place(m).length === 1) && place(gate)[0]!.bank === place(up)[0]!.bank;
      });
      const direct = new Float32Array(hidden);
      assert.equal(be.moeRouted(w, ids, wts, x, direct), fusable, `${gu}/${down}, ${name}`);
      assert.deepEqual(direct, fusable ? perExpert : new Float32Array(hidden));
      if (name.includes("one bank")) assert.ok(fusable);
      else spread ||= new Set([...ids].flatMap((e) => [w.experts[e]!.gate, w.experts[e]!.down].map((m) => place(m)[0]!.bank))).size > 1 && fusable;
      results.push(fused);
    }
    for (const r of results.slice(1)) assert.deepEqual(r, results[0], `${gu}/${down}: threads or banks changed the bits`);
  }
  assert.ok(spread, "no fused route crossed banks");
});

test("fused prefill MoE (rows gathered by expert, two jobs per bank) == the per-expert loop, bit for bit", () => {
  let spread = false;
  for (const [gu, down] of cases) {
    const results: Float32Array[] = [];
    for (const { name, be } of backends) {
      seed = 11;
      const w = layer(be, gu, down);
      for (const n of [2, 5, 23]) {
        const x = Float32Array.from({ length: n * hidden }, () => rnd());
        const fused = new Float32Array(n * hidden), perExpert = new Float32Array(n * hidden);
        be.moe(w, x, n, fused);
        new HostMoe(be).forward(w, x, n, perExpert);
        assert.deepEqual(fused, perExpert, `${gu}/${down}, ${name}, n=${n}`);
        assert.ok(fused.some((v) => v !== 0));
        // The hook itself took the batch unless a used expert has a matrix split across banks or its
        // gate and up apart.
        const logits = new Float32Array(n * E), ids = new Int32Array(n * K), wts = new Float32Array(n * K);
        be.matmul(w.router, x, n, logits);
        routeTopK(logits, n, E, K, true, ids, wts);
        const place = (m: Matrix): readonly MatrixPlacement[] => be.placement(m);
        const fusable = [...new Set(ids)].every((e) => {
          const { gate, up, down } = w.experts[e]!;
          return [gate, up, down].every((m) => place(m).length === 1) && place(gate)[0]!.bank === place(up)[0]!.bank;
        });
        if (name.includes("one bank")) assert.ok(fusable);
        let took = false;
        const probe = new HostMoe(be, undefined, (mw, routes, xr, rows, o) => (took = be.moeBatch(mw, routes, xr, rows, o)));
        const direct = new Float32Array(n * hidden);
        probe.forward(w, x, n, direct);
        assert.equal(took, fusable, `${gu}/${down}, ${name}, n=${n}`);
        assert.deepEqual(direct, perExpert);
        if (n === 23) {
          results.push(fused);
          const banks = new Set(w.experts.flatMap((ex) => [ex.gate, ex.down].map((m) => be.placement(m)[0]!.bank)));
          spread ||= banks.size > 1 && fusable;
          // Each row alone (the fused decode path) gives that row of the batch.
          for (let r = 0; r < n; r += 7) {
            const one = new Float32Array(hidden);
            be.moe(w, x.subarray(r * hidden, (r + 1) * hidden), 1, one);
            assert.deepEqual(one, fused.subarray(r * hidden, (r + 1) * hidden), `${gu}/${down}, ${name}: row ${r}`);
          }
        }
      }
    }
    for (const r of results.slice(1)) assert.deepEqual(r, results[0], `${gu}/${down}: threads or banks changed the bits`);
  }
  assert.ok(spread, "no fused batch crossed banks");
});
