/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna) with its 128-bit state filled from a
 * 64-bit seed by splitmix64, as the authors recommend. Same seed → same sequence on every platform:
 * all arithmetic is 32-bit integer (`Math.imul`, `>>>`), never floating point.
 */
import { QwenrtError } from "../util/errors.js";

/** A stream of random numbers. Sampling takes one as an argument; nothing random is global. */
export interface Rng {
  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number;
  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number;
  /** Standard normal deviate (mean 0, variance 1), Marsaglia's polar method. */
  normal(): number;
  /** Fill `out` with normal(mean, std) deviates: Box–Muller on 32-bit uniforms, for bulk data
   * (random weights) where speed matters more than the last bits of each value. */
  fillNormal(out: Float32Array, mean: number, std: number): void;
}

const MASK64 = (1n << 64n) - 1n;

/** splitmix64 step: returns [next state, output] (both 64-bit). */
function splitmix64(state: bigint): [bigint, bigint] {
  const s = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [s, z ^ (z >> 31n)];
}

/** Normalise a seed to a 64-bit unsigned bigint; negative and fractional numbers are rejected. */
function seedToU64(seed: number | bigint, where: string): bigint {
  if (typeof seed === "bigint") {
    if (seed < 0n || seed > MASK64) throw new QwenrtError(where, `must be an integer in [0, 2^64), got ${seed}`);
    return seed;
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new QwenrtError(where, `must be a non-negative safe integer, got ${seed}`);
  }
  return BigInt(seed);
}

/**
 * A new generator from a 64-bit seed (number ≤ 2^53 − 1 or bigint < 2^64).
 *
 * @example
 * const rng = createRng(42);
 * rng.float(); // same value on every run
 */
export function createRng(seed: number | bigint, where = "seed"): Rng {
  let sm = seedToU64(seed, where);
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [next, out] = splitmix64(sm);
    sm = next;
    words.push(Number(out & 0xffffffffn), Number(out >> 32n));
  }
  let s0 = words[0]! | 0;
  let s1 = words[1]! | 0;
  let s2 = words[2]! | 0;
  let s3 = words[3]! | 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point (unreachable from splitmix, but cheap to rule out)

  function nextU32(): number {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  }

  function float(): number {
    const hi = nextU32() >>> 5; // 27 bits
    const lo = nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992; // (hi·2^26 + lo) / 2^53
  }

  let spare: number | undefined;
  function normal(): number {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    for (;;) {
      const u = 2 * float() - 1;
      const v = 2 * float() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const m = Math.sqrt((-2 * Math.log(s)) / s);
        spare = v * m;
        return u * m;
      }
    }
  }

  function fillNormal(out: Float32Array, mean: number, std: number): void {
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const u1 = (nextU32() + 1) * 2.3283064365386963e-10; // (0, 1]: log stays finite
      const u2 = nextU32() * 2.3283064365386963e-10;
      const r = std * Math.sqrt(-2 * Math.log(u1));
      const a = 6.283185307179586 * u2;
      out[i] = mean + r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = mean + r * Math.sin(a);
    }
  }

  return { nextU32, float, normal, fillNormal };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A 64-bit seed derived from a parent seed and a label (FNV-1a of the label mixed by splitmix64), so
 * independent streams (one per tensor, one per request) do not depend on the order they are made in.
 *
 * @example
 * createRng(deriveSeed(7, "model.layers.0.mlp.up_proj.weight"));
 */
export function deriveSeed(seed: number | bigint, label: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(label)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & MASK64;
  }
  const [, out] = splitmix64(seedToU64(seed, "seed") ^ h);
  return out;
}

/** A fresh unpredictable 53-bit seed (for requests that give none). */
export function randomSeed(): number {
  const a = new Uint32Array(2);
  crypto.getRandomValues(a);
  return (a[0]! & 0x1fffff) * 4294967296 + a[1]!;
}
