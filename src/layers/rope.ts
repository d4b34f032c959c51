/**
 * Rotary position embedding tables, computed exactly as transformers' `modeling_rope_utils`
 * (`_compute_default_rope_parameters`, `_compute_yarn_parameters`) and `*RotaryEmbedding.forward`
 * do it: every step rounded to float32 like the PyTorch float32 tensors, so cos/sin match the
 * reference to the last bit or so (angles reach ~1e5 rad at long positions, where it matters).
 */
const f = Math.fround;

/** Rotary-embedding scaling, as `models/config.ts` parses it from `rope_scaling` (`null` / absent = default). */
export type RopeScaling =
  | { readonly type: "default" }
  | {
      readonly type: "yarn";
      readonly factor: number;
      readonly originalMaxPositionEmbeddings: number;
      readonly betaFast: number; // default 32
      readonly betaSlow: number; // default 1
      readonly mscale: number | null;
      readonly mscaleAllDim: number | null;
      readonly attentionFactor: number | null; // explicit override; else derived (`ropeParameters`)
      readonly truncate: boolean; // floor/ceil the correction range (default true)
    };

/** Inverse frequencies and the cos/sin multiplier for one head size. */
export interface RopeTable {
  readonly headDim: number;
  readonly invFreq: Float32Array; // [headDim / 2]
  readonly attentionScaling: number; // multiplies cos and sin (YaRN's mscale; 1 otherwise)
  /** Fill `cos`, `sin` ([n, headDim/2]) for `positions[0..n)`. */
  fill(positions: Int32Array, n: number, cos: Float32Array, sin: Float32Array): void;
}

function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** `base ** (2i / dim)` for i < dim/2, in float32 as torch computes it. */
function posFreqs(base: number, dim: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = f(Math.pow(f(base), f((2 * i) / dim)));
  return out;
}

/** Inverse frequencies and attention scaling for `scaling`, as transformers computes them. */
export function ropeParameters(
  theta: number,
  headDim: number,
  scaling: RopeScaling,
): { invFreq: Float32Array; attentionScaling: number } {
  const pf = posFreqs(theta, headDim);
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  if (scaling.type === "default") {
    for (let i = 0; i < half; i++) invFreq[i] = f(1 / pf[i]!);
    return { invFreq, attentionScaling: 1 };
  }
  const { factor, betaFast, betaSlow, originalMaxPositionEmbeddings: orig, truncate } = scaling;
  let attentionScaling = scaling.attentionFactor;
  if (attentionScaling === null) {
    attentionScaling =
      scaling.mscale && scaling.mscaleAllDim
        ? yarnMscale(factor, scaling.mscale) / yarnMscale(factor, scaling.mscaleAllDim)
        : yarnMscale(factor);
  }
  const correctionDim = (rot: number): number =>
    (headDim * Math.log(orig / (rot * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, headDim - 1);
  if (low === high) high += 0.001; // the reference's guard against a zero-width ramp
  const lowF = f(low);
  const span = f(f(high) - lowF);
  const fac = f(factor);
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(1, Math.max(0, f(f(i - lowF) / span)));
    const extrapFactor = f(1 - ramp);
    const extrap = f(1 / pf[i]!);
    const interp = f(1 / f(fac * pf[i]!));
    invFreq[i] = f(f(interp * f(1 - extrapFactor)) + f(extrap * extrapFactor));
  }
  return { invFreq, attentionScaling };
}

/**
 * Build the rope table of a model.
 *
 * @example
 * const rope = createRopeTable(1e6, 128, { type: "default" });
 * rope.fill(Int32Array.of(0, 1, 2), 3, cos, sin); // cos, sin: [3, 64]
 */
export function createRopeTable(theta: number, headDim: number, scaling: RopeScaling): RopeTable {
  const { invFreq, attentionScaling } = ropeParameters(theta, headDim, scaling);
  const half = headDim / 2;
  const scale = f(attentionScaling);
  return {
    headDim,
    invFreq,
    attentionScaling,
    fill(positions, n, cos, sin) {
      for (let t = 0; t < n; t++) {
        const p = positions[t]!;
        const o = t * half;
        for (let i = 0; i < half; i++) {
          const angle = f(invFreq[i]! * p);
          cos[o + i] = f(f(Math.cos(angle)) * scale);
          sin[o + i] = f(f(Math.sin(angle)) * scale);
        }
      }
    },
  };
}
