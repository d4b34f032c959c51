/**
 * Shared cases (see cases.ts) of the sparse-MoE kernel: several batch sizes, top-k and both
 * renormalisation rules on float experts, quantized experts, and exact router ties (which must go to
 * the lower expert index). The router stays float32 so both sides choose the same experts.
 */
import { test } from "node:test";
import { assertClose, hostMatrix, seededFloats, upload, type CaseContext } from "./case_util.js";
import type { HostMatrix, KernelBackend, MoeWeights, WeightType } from "./types.js";

interface MoeHost {
  readonly router: HostMatrix; // [experts, hidden]
  readonly experts: readonly { gate: HostMatrix; up: HostMatrix; down: HostMatrix }[];
}

/** Seeded MoE weights; `router` overrides the router's values. */
function moeHost(experts: number, hidden: number, inter: number, type: WeightType, seed: number, router?: Float32Array): MoeHost {
  const m = (rows: number, cols: number, s: number): HostMatrix => hostMatrix(type, rows, cols, seededFloats(s, rows * cols, 0.5));
  return {
    router: hostMatrix("f32", experts, hidden, router ?? seededFloats(seed, experts * hidden, 0.5)),
    experts: Array.from({ length: experts }, (_, e) => ({ gate: m(inter, hidden, seed + 3 * e + 1), up: m(inter, hidden, seed + 3 * e + 2), down: m(hidden, inter, seed + 3 * e + 3) })),
  };
}

function load(be: KernelBackend, h: MoeHost, topK: number, normalize: boolean): MoeWeights {
  const experts = h.experts.map((e) => ({ gate: be.loadMatrix(e.gate), up: be.loadMatrix(e.up), down: be.loadMatrix(e.down) }));
  return { router: be.loadMatrix(h.router), experts, topK, normalize };
}

const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export function moeCases({ be, ref, tol }: CaseContext): void {
  const [E, hidden, inter] = [6, 64, 32];

  /** Run `be.moe` and `ref.moe` on the same weights and x; returns (got, want). */
  async function run(h: MoeHost, xh: Float32Array, n: number, topK: number, normalize: boolean): Promise<[Float32Array, Float32Array]> {
    const out = upload(be, new Float32Array(n * hidden).fill(3)); // moe overwrites every value
    be.moe(load(be, h, topK, normalize), upload(be, xh), n, out);
    const want = new Float32Array(n * hidden);
    ref.moe(load(ref, h, topK, normalize), xh, n, want);
    return [await be.read(out), want];
  }

  const f32 = moeHost(E, hidden, inter, "f32", 500);
  for (const n of [1, 5, 17]) {
    for (const topK of [1, 2, 4]) {
      for (const normalize of [false, true]) {
        test(`moe f32 experts=${E} n=${n} topK=${topK}${normalize ? " renormalised" : ""} matches ref`, async () => {
          const [got, want] = await run(f32, seededFloats(600 + n, n * hidden, 2), n, topK, normalize);
          assertClose(got, want, 4 * tol.atol * Math.sqrt(hidden + inter), 4 * tol.rtol, "moe");
        });
      }
    }
  }

  for (const type of ["bf16", "q8_0", "q4_0"] as const) {
    test(`moe ${type} experts n=9 topK=2 renormalised matches ref within 5% of the largest output (int8 activations twice)`, async () => {
      const [got, want] = await run(moeHost(E, hidden, inter, type, 700), seededFloats(701, 9 * hidden, 2), 9, 2, true);
      assertClose(got, want, (type === "bf16" ? 1e-4 : 0.05) * maxAbs(want) + tol.atol, 0, `moe ${type}`);
    });
  }

  for (const topK of [1, 2, 3]) {
    test(`moe router ties go to the lower expert index (topK=${topK})`, async () => {
      // x > 0 and router rows 1 and 3 zero, the others negative: logits 0, 0 and < 0 on every
      // backend, so experts 1 and 3 tie exactly for the top place.
      const router = seededFloats(800, E * hidden).map((v) => -0.1 - 0.4 * Math.abs(v));
      router.fill(0, hidden, 2 * hidden).fill(0, 3 * hidden, 4 * hidden);
      const x = seededFloats(801, 3 * hidden).map((v) => 0.1 + 0.9 * Math.abs(v));
      const [got, want] = await run(moeHost(E, hidden, inter, "f32", 802, router), x, 3, topK, topK > 1);
      assertClose(got, want, 4 * tol.atol * Math.sqrt(hidden + inter), 4 * tol.rtol, "moe with ties");
    });
  }
}
