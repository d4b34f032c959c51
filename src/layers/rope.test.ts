import assert from "node:assert/strict";
import { test } from "node:test";
import { createRopeTable, ropeParameters } from "./rope.js";

const yarn = (extra: Record<string, number | boolean | null> = {}) => ({
  type: "yarn" as const, factor: 4, originalMaxPositionEmbeddings: 32768, betaFast: 32, betaSlow: 1,
  mscale: null, mscaleAllDim: null, attentionFactor: null, truncate: true, ...extra,
});

test("default rope inverse frequencies are theta^(-2i/d)", () => {
  const { invFreq, attentionScaling } = ropeParameters(10000, 8, { type: "default" });
  assert.equal(attentionScaling, 1);
  [1, 0.1, 0.01, 0.001].forEach((want, i) => assert.ok(Math.abs(invFreq[i]! - want) <= want * 1e-6, `i=${i}`));
});

test("yarn keeps high frequencies, divides low ones by factor, ramps between; scaling 0.1 ln(factor) + 1", () => {
  const d = 128, theta = 1e6;
  const { invFreq, attentionScaling } = ropeParameters(theta, d, yarn());
  assert.ok(Math.abs(attentionScaling - (0.1 * Math.log(4) + 1)) < 1e-12);
  const base = (i: number): number => Math.pow(theta, (-2 * i) / d);
  // correction range: floor/ceil of d·ln(32768 / (β·2π)) / (2 ln θ) for β = 32 and 1
  const dimOf = (b: number): number => (d * Math.log(32768 / (b * 2 * Math.PI))) / (2 * Math.log(theta));
  const low = Math.floor(dimOf(32)), high = Math.ceil(dimOf(1));
  for (let i = 0; i < d / 2; i++) {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const want = base(i) * (1 - ramp) + (base(i) / 4) * ramp;
    assert.ok(Math.abs(invFreq[i]! - want) <= want * 1e-6, `i=${i}: ${invFreq[i]} vs ${want}`);
  }
  assert.ok(Math.abs(invFreq[0]! - 1) < 1e-7 && Math.abs(invFreq[63]! - base(63) / 4) < base(63) * 1e-6);
});

test("yarn attention factor: explicit value wins; mscale/mscale_all_dim ratio; truncate=false keeps fractional bounds", () => {
  assert.equal(ropeParameters(1e4, 64, yarn({ attentionFactor: 0.5 })).attentionScaling, 0.5);
  const m = ropeParameters(1e4, 64, yarn({ mscale: 2, mscaleAllDim: 1 })).attentionScaling;
  assert.ok(Math.abs(m - (0.2 * Math.log(4) + 1) / (0.1 * Math.log(4) + 1)) < 1e-12);
  const a = ropeParameters(1e4, 64, yarn()).invFreq;
  const b = ropeParameters(1e4, 64, yarn({ truncate: false })).invFreq;
  assert.ok(a.some((v, i) => v !== b[i]), "the ramp bounds differ without truncation");
});

test("rope table cos/sin are cos(p·f)·scale and sin(p·f)·scale per position", () => {
  const rope = createRopeTable(10000, 4, yarn({ factor: 2, originalMaxPositionEmbeddings: 64 }));
  const cos = new Float32Array(4), sin = new Float32Array(4);
  rope.fill(Int32Array.of(0, 7), 2, cos, sin);
  const s = rope.attentionScaling;
  assert.deepEqual([cos[0], cos[1], sin[0], sin[1]].map((v) => Math.fround(v! / s)), [1, 1, 0, 0].map(Math.fround));
  for (let i = 0; i < 2; i++) {
    assert.ok(Math.abs(cos[2 + i]! - Math.cos(7 * rope.invFreq[i]!) * s) < 1e-6);
    assert.ok(Math.abs(sin[2 + i]! - Math.sin(7 * rope.invFreq[i]!) * s) < 1e-6);
  }
});
