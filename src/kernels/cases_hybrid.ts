/**
 * Kernel cases of the hybrid models: causal convolution with a rolling state, the gated delta rule
 * (a backend's chunked prefill against ref's token-by-token recurrence, continuation across calls,
 * and the tiled key-head order as a permutation of the grouped one), sigmoid gating and partial RoPE.
 * Part of the shared suite (cases.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertClose, seededFloats, upload, type CaseContext } from "./case_util.js";
import { QwenrtError } from "../util/errors.js";
import type { DeltaNetShape, KernelBackend } from "./types.js";

/** Run `gatedDeltaNet` on `be` from host inputs; returns `out` and the final state. */
async function deltaNet(be: KernelBackend, qkv: Float32Array, a: Float32Array, b: Float32Array, negA: Float32Array, dt: Float32Array, state0: Float32Array, n: number, s: DeltaNetShape, splits: readonly number[] = [n]): Promise<{ out: Float32Array; state: Float32Array }> {
  const width = 2 * s.keyHeads * s.keyDim + s.valueHeads * s.valueDim;
  const state = upload(be, state0);
  const out = be.allocF32(n * s.valueHeads * s.valueDim);
  const qkvT = upload(be, qkv), aT = upload(be, a), bT = upload(be, b), negAT = be.loadVector(negA), dtT = be.loadVector(dt);
  let at = 0;
  for (const m of splits) {
    const rows = (t: typeof qkvT, w: number): typeof qkvT => be.view(t, at * w, m * w);
    be.gatedDeltaNet(rows(qkvT, width), rows(aT, s.valueHeads), rows(bT, s.valueHeads), negAT, dtT, state, m, s, rows(out, s.valueHeads * s.valueDim));
    at += m;
  }
  return { out: await be.read(out), state: await be.read(state) };
}

/** Seeded inputs of a delta-rule call: decays across (0, 1), betas across (0, 1), a warm state. */
function deltaInputs(s: DeltaNetShape, n: number, seed: number): { qkv: Float32Array; a: Float32Array; b: Float32Array; negA: Float32Array; dt: Float32Array; state: Float32Array } {
  const width = 2 * s.keyHeads * s.keyDim + s.valueHeads * s.valueDim;
  return {
    qkv: seededFloats(seed, n * width, 1.5),
    a: seededFloats(seed + 1, n * s.valueHeads, 2),
    b: seededFloats(seed + 2, n * s.valueHeads, 3),
    negA: seededFloats(seed + 3, s.valueHeads).map((x) => -Math.exp(x * 1.5)),
    dt: seededFloats(seed + 4, s.valueHeads),
    state: seededFloats(seed + 5, s.valueHeads * s.keyDim * s.valueDim, 0.5),
  };
}

export function hybridCases({ be, ref }: CaseContext): void {
  if (be.name === "webgpu") {
    // No WGSL versions yet: each hybrid kernel refuses with an error naming it.
    test("the hybrid kernels are refused with an error naming the kernel", () => {
      const t = be.allocF32(64);
      const shape: DeltaNetShape = { keyHeads: 1, valueHeads: 1, keyDim: 4, valueDim: 4, tiledHeads: false };
      const calls: [string, () => void][] = [
        ["causalConvSilu", () => be.causalConvSilu(t, 1, 4, 4, t, t, t)],
        ["gatedDeltaNet", () => be.gatedDeltaNet(t, t, t, t, t, t, 1, shape, t)],
        ["sigmoidMul", () => be.sigmoidMul(t, t, 1, 4, 4, t)],
        ["rope with rotaryDim", () => be.rope(t, 1, 1, 8, t, t, 4)],
      ];
      for (const [kernel, call] of calls) {
        assert.throws(call, (e: unknown) => e instanceof QwenrtError && e.code === "unsupported" && e.message.includes(kernel), kernel);
      }
    });
    return;
  }
  for (const n of [1, 3, 9]) {
    test(`causalConvSilu n=${n} (kernel 4, from a non-zero state) matches ref, and the state rolls`, async () => {
      const C = 10, K = 4;
      const x = seededFloats(500 + n, n * C, 2), w = seededFloats(501, C * K), st = seededFloats(502, (K - 1) * C);
      const run = async (b: KernelBackend, splits: number[]): Promise<{ out: Float32Array; state: Float32Array }> => {
        const xt = upload(b, x), wt = b.loadVector(w), state = upload(b, st), out = b.allocF32(n * C);
        let at = 0;
        for (const m of splits) {
          b.causalConvSilu(b.view(xt, at * C, m * C), m, C, K, wt, state, b.view(out, at * C, m * C));
          at += m;
        }
        return { out: await b.read(out), state: await b.read(state) };
      };
      const got = await run(be, [n]);
      const want = await run(ref, [n]);
      assertClose(got.out, want.out, 1e-6, 1e-6, "out");
      assertClose(got.state, want.state, 0, 0, "state");
      // The state after n rows is the last K - 1 rows of [state; x].
      const all = new Float32Array([...st, ...x]);
      assert.deepEqual([...got.state], [...all.subarray(all.length - (K - 1) * C)]);
      // Row by row equals all at once (the state carries the left context).
      const split = await run(be, Array.from({ length: n }, () => 1));
      assertClose(split.out, got.out, 1e-6, 1e-6, "row by row");
      // Row 0 by hand: silu(Σ_j w[c, j] · in[j, c]).
      for (const c of [0, 7]) {
        let s = 0;
        for (let j = 0; j < K; j++) s += w[c * K + j]! * (j < K - 1 ? st[j * C + c]! : x[c]!);
        const y = Math.fround(s);
        assert.ok(Math.abs(got.out[c]! - y / (1 + Math.exp(-y))) < 1e-6, `row 0 channel ${c}`);
      }
    });
  }

  const shapes: DeltaNetShape[] = [
    { keyHeads: 2, valueHeads: 4, keyDim: 8, valueDim: 6, tiledHeads: false },
    { keyHeads: 2, valueHeads: 4, keyDim: 8, valueDim: 6, tiledHeads: true },
    { keyHeads: 3, valueHeads: 3, keyDim: 16, valueDim: 16, tiledHeads: false },
    // wasm: an odd key dim and a value dim of two 8-column blocks and a 4-column tail.
    { keyHeads: 1, valueHeads: 2, keyDim: 9, valueDim: 20, tiledHeads: false },
  ];
  for (const s of shapes) {
    for (const n of [1, 5, 70, 130]) {
      const label = `${s.keyHeads}/${s.valueHeads} heads of ${s.keyDim}/${s.valueDim}${s.tiledHeads ? " tiled" : ""}`;
      test(`gatedDeltaNet ${label} n=${n} from a warm state matches ref's recurrence (out and state)`, async () => {
        const inp = deltaInputs(s, n, 600 + n);
        const got = await deltaNet(be, inp.qkv, inp.a, inp.b, inp.negA, inp.dt, inp.state, n, s);
        const want = await deltaNet(ref, inp.qkv, inp.a, inp.b, inp.negA, inp.dt, inp.state, n, s);
        assertClose(got.out, want.out, 2e-5, 1e-4, "out");
        assertClose(got.state, want.state, 2e-5, 1e-4, "state");
        if (n > 1) {
          // Prefill in pieces (a chunk, then single tokens, then the rest) continues the same state.
          const first = Math.min(n - 1, 64);
          const pieces = [first, ...Array.from({ length: Math.min(3, n - first) }, () => 1)];
          const rest = n - pieces.reduce((x, y) => x + y, 0);
          if (rest > 0) pieces.push(rest);
          const split = await deltaNet(be, inp.qkv, inp.a, inp.b, inp.negA, inp.dt, inp.state, n, s, pieces);
          assertClose(split.out, got.out, 2e-5, 1e-4, `split ${pieces.join("+")}`);
          assertClose(split.state, got.state, 2e-5, 1e-4, "split state");
        }
      });
    }
  }

  test("gatedDeltaNet: the tiled key-head order is the grouped one with value heads permuted", async () => {
    const g: DeltaNetShape = { keyHeads: 2, valueHeads: 6, keyDim: 4, valueDim: 5, tiledHeads: false };
    const t: DeltaNetShape = { ...g, tiledHeads: true };
    const n = 9, r = g.valueHeads / g.keyHeads, qk = 2 * g.keyHeads * g.keyDim, width = qk + g.valueHeads * g.valueDim;
    const inp = deltaInputs(g, n, 700);
    // Grouped head kh·r + j sits at tiled position j·keyHeads + kh.
    const perm = Array.from({ length: g.valueHeads }, (_, p) => (p % g.keyHeads) * r + Math.floor(p / g.keyHeads));
    const permute = (x: Float32Array, rows: number, lead: number, per: number): Float32Array => {
      const y = x.slice();
      for (let i = 0; i < rows; i++) {
        perm.forEach((src, dst) => y.set(x.subarray(i * (lead + g.valueHeads * per) + lead + src * per, i * (lead + g.valueHeads * per) + lead + (src + 1) * per), i * (lead + g.valueHeads * per) + lead + dst * per));
      }
      return y;
    };
    assert.equal(width, qk + g.valueHeads * g.valueDim);
    const grouped = await deltaNet(be, inp.qkv, inp.a, inp.b, inp.negA, inp.dt, inp.state, n, g);
    const tiled = await deltaNet(be, permute(inp.qkv, n, qk, g.valueDim), permute(inp.a, n, 0, 1), permute(inp.b, n, 0, 1), permute(inp.negA, 1, 0, 1), permute(inp.dt, 1, 0, 1), permute(inp.state, 1, 0, g.keyDim * g.valueDim), n, t);
    assertClose(tiled.out, permute(grouped.out, n, 0, g.valueDim), 1e-6, 1e-6, "out");
    assertClose(tiled.state, permute(grouped.state, 1, 0, g.keyDim * g.valueDim), 1e-6, 1e-6, "state");
  });

  for (const [rows, width, gateWidth] of [[3, 12, 12], [5, 8, 1], [2, 12, 3]] as const) {
    test(`sigmoidMul rows=${rows} width=${width} gateWidth=${gateWidth} matches ref, in place too`, async () => {
      const x = seededFloats(800 + width, rows * width, 3), gate = seededFloats(801 + gateWidth, rows * gateWidth, 4);
      const out = be.allocF32(rows * width);
      be.sigmoidMul(upload(be, x), upload(be, gate), rows, width, gateWidth, out);
      const want = new Float32Array(rows * width);
      ref.sigmoidMul(x, gate, rows, width, gateWidth, want);
      assertClose(await be.read(out), want, 1e-7, 1e-6, "out");
      const inPlace = upload(be, x);
      be.sigmoidMul(inPlace, upload(be, gate), rows, width, gateWidth, inPlace);
      assertClose(await be.read(inPlace), want, 1e-7, 1e-6, "in place");
      const per = width / gateWidth;
      assert.ok(Math.abs(want[per]! - x[per]! / (1 + Math.exp(-gate[1]!))) < 1e-6, "the second gate covers the second group");
    });
  }

  test("rope with rotaryDim < headDim rotates only the first rotaryDim dims of each head", async () => {
    const n = 3, heads = 2, headDim = 16, rot = 4;
    const x = seededFloats(900, n * heads * headDim, 2), cos = seededFloats(901, n * rot / 2), sin = seededFloats(902, n * rot / 2);
    const t = upload(be, x);
    be.rope(t, n, heads, headDim, upload(be, cos), upload(be, sin), rot);
    const got = await be.read(t);
    // Expected: a full rope over a [n, heads, rot] copy of the rotated part; the rest unchanged.
    const part = new Float32Array(n * heads * rot);
    for (let i = 0; i < n * heads; i++) part.set(x.subarray(i * headDim, i * headDim + rot), i * rot);
    ref.rope(part, n, heads, rot, cos, sin);
    for (let i = 0; i < n * heads; i++) {
      assertClose(got.subarray(i * headDim, i * headDim + rot), part.subarray(i * rot, (i + 1) * rot), 1e-6, 1e-6, `row ${i} rotated`);
      assert.deepEqual([...got.subarray(i * headDim + rot, (i + 1) * headDim)], [...x.subarray(i * headDim + rot, (i + 1) * headDim)], `row ${i} passes through`);
    }
  });
}
