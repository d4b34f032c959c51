// The wasm f16 KV cache: f32 → half in `writeKv` bit for bit equal to the TypeScript reference
// (ggml's GGML_FP32_TO_FP16, round to nearest even) on ties, subnormals and overflow; the attention
// kernel's half → f32 exact for every finite half; f16 attention against the ref backend given the
// same rounded K/V as float32.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { f16ToF32, f32ToF16 } from "../../formats/quant/float.js";
import { assertClose, seededFloats } from "../cases.js";
import { createRefBackend } from "../ref/index.js";
import type { HostKernelBackend } from "../types.js";
import { createWasmBackend } from "./index.js";

/** An f16 cache buffer of `be`. */
function halfCache(be: HostKernelBackend, length: number): Uint16Array {
  const b = be.allocKv(length);
  assert.ok(b instanceof Uint16Array, `${be.name} allocKv gives half bits`);
  return b;
}

/** Halves of `bits` (f32 bit patterns) through `writeKv` as one row of one head. */
function convert(be: HostKernelBackend, bits: Uint32Array): Uint16Array {
  const src = be.allocF32(bits.length);
  new Uint32Array(src.buffer, src.byteOffset, bits.length).set(bits); // keeps NaN payloads and signs
  const dst = halfCache(be, bits.length);
  be.writeKv(src, 1, 1, bits.length, dst, 1, 0);
  const out = Uint16Array.from(dst);
  be.freeF32(src);
  be.freeKv(dst);
  return out;
}

/** The reference half of f32 bit pattern `b` (NaN: the sign with a quiet NaN, as f32ToF16). */
function refHalf(b: number): number {
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0x8000) | 0x7e00;
  return f32ToF16(new Float32Array(new Uint32Array([b]).buffer)[0]!);
}

function firstMismatch(bits: Uint32Array, got: Uint16Array): string | undefined {
  for (let i = 0; i < bits.length; i++) {
    const want = refHalf(bits[i]!);
    if (got[i] !== want) return `f32 0x${bits[i]!.toString(16)}: got 0x${got[i]!.toString(16)}, want 0x${want.toString(16)}`;
  }
  return undefined;
}

describe("wasm f16 KV cache", async () => {
  const one = await createWasmBackend({ threads: 1, kv: "f16" });
  const two = await createWasmBackend({ threads: 2 }); // f16 by default
  const ref = createRefBackend();
  after(() => {
    one.dispose();
    two.dispose();
  });

  test("f32 → f16 equals f32ToF16 bit for bit: every exponent and mantissa head with tie-relevant tails", () => {
    // Every sign/exponent/top-6-mantissa-bits combination × low bits around the rounding point of
    // normals (bit 12 is the half-ulp) — exactly below, at and above a tie, both parities — and
    // every shift point of subnormal results, plus overflow to inf, inf and NaN.
    const tails = [0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x5000, 0x7fff, 0x3fff, 0x4000, 0x4001, 0x7ffff, 0x40000, 0x7fffff];
    const bits = new Uint32Array(512 * 64 * tails.length);
    let i = 0;
    for (let head = 0; head < 512; head++) {
      for (let m = 0; m < 64; m++) for (const t of tails) bits[i++] = ((head << 23) | (m << 17) | t) >>> 0;
    }
    assert.equal(firstMismatch(bits, convert(two, bits)), undefined);
  });

  test("f32 → f16 equals f32ToF16 on named edge cases and a million seeded values", () => {
    const named = [0, 0.5, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, -Infinity, Infinity, 2 ** -14, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 2 ** -26, 2 ** -24 * 1.5, 3 * 2 ** -25, 1e-10, -0];
    const f = new Float32Array(named.length + 1_000_000);
    f.set(named);
    const r = new Uint32Array(f.buffer);
    let s = 12345;
    for (let i = named.length; i < f.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      r[i] = (Math.imul(s ^ (s >>> 13), 0x5bd1e995) >>> 0) ^ (i << 7); // any bit pattern
    }
    assert.equal(firstMismatch(r, convert(one, r)), undefined);
  });

  test("writeKv scatters rows into the head-major cache at start, with a headDim tail", () => {
    const [rows, kvHeads, headDim, capacity, start] = [3, 2, 13, 7, 2];
    const src = seededFloats(4, rows * kvHeads * headDim, 3);
    const dst = halfCache(two, kvHeads * capacity * headDim).fill(0xabcd);
    two.writeKv(src, rows, kvHeads, headDim, dst, capacity, start);
    for (let h = 0; h < kvHeads; h++) {
      for (let p = 0; p < capacity; p++) {
        for (let c = 0; c < headDim; c++) {
          const r = p - start;
          const want = r >= 0 && r < rows ? f32ToF16(src[(r * kvHeads + h) * headDim + c]!) : 0xabcd;
          assert.equal(dst[(h * capacity + p) * headDim + c], want, `head ${h} position ${p} dim ${c}`);
        }
      }
    }
    assert.throws(() => two.writeKv(src, rows, kvHeads, headDim, dst, capacity, 5), { name: "QwenrtError", message: /capacity/ });
  });

  test("attention reads every finite half exactly (one key: the output is the value row)", () => {
    // 63,488 finite halves plus 3 repeats for the kernel's scalar tail; softmax over one key is 1.
    const halves: number[] = [];
    for (let h = 0; h < 65536; h++) if ((h & 0x7c00) !== 0x7c00) halves.push(h);
    halves.push(0x0001, 0x83ff, 0x7bff);
    const hd = halves.length;
    const k = halfCache(two, hd).fill(0), v = halfCache(two, hd);
    v.set(halves);
    const q = two.allocF32(hd).fill(0), out = two.allocF32(hd);
    two.attention(q, k, v, 1, 0, 1, 1, 1, hd, 1, out);
    for (let i = 0; i < hd; i++) {
      if (out[i] !== f16ToF32(halves[i]!)) assert.fail(`half 0x${halves[i]!.toString(16)}: got ${out[i]}, want ${f16ToF32(halves[i]!)}`);
    }
  });

  interface Case {
    readonly heads: number;
    readonly kvHeads: number;
    readonly headDim: number;
    readonly n: number;
    readonly start: number;
  }
  const cases: Case[] = [
    { heads: 16, kvHeads: 8, headDim: 128, n: 1, start: 511 }, // Qwen3-0.6B decode, group 2
    { heads: 16, kvHeads: 8, headDim: 128, n: 19, start: 40 }, // prefill tiles, partial last tile
    { heads: 4, kvHeads: 4, headDim: 64, n: 1, start: 30 }, // group 1
    { heads: 8, kvHeads: 2, headDim: 36, n: 1, start: 17 }, // group 4, headDim tail (4 SIMD + 0)
    { heads: 8, kvHeads: 2, headDim: 38, n: 5, start: 3 }, // group 4, scalar tail lanes
    { heads: 6, kvHeads: 2, headDim: 21, n: 3, start: 9 }, // group 3 (2 + 1 rows), odd headDim
    { heads: 14, kvHeads: 2, headDim: 64, n: 9, start: 0 }, // group 7 (4 + 2 + 1 rows)
  ];

  /** Random q, and k/v rows written into an f16 cache of `be` (and their rounded float32 copy). */
  function inputs(be: HostKernelBackend, c: Case, seed: number) {
    const capacity = c.start + c.n + 3;
    const len = c.kvHeads * capacity * c.headDim;
    const q = be.allocF32(c.n * c.heads * c.headDim);
    q.set(seededFloats(seed, q.length, 2));
    const kf = seededFloats(seed + 1, len, 2), vf = seededFloats(seed + 2, len, 2);
    const k = be.allocKv(len), v = be.allocKv(len);
    be.writeKv(kf, capacity, c.kvHeads, c.headDim, k, capacity, 0); // rows given position-major
    be.writeKv(vf, capacity, c.kvHeads, c.headDim, v, capacity, 0);
    const k32 = Float32Array.from(k, f16ToF32), v32 = Float32Array.from(v, f16ToF32); // head-major, like k, v
    return { q, k, v, k32, v32, capacity };
  }

  function run(be: HostKernelBackend, c: Case, seed: number, rowByRow = false): Float32Array {
    const { q, k, v, capacity } = inputs(be, c, seed);
    const w = c.heads * c.headDim, scale = 1 / Math.sqrt(c.headDim);
    const out = be.allocF32(c.n * w);
    if (!rowByRow) be.attention(q, k, v, c.n, c.start, capacity, c.heads, c.kvHeads, c.headDim, scale, out);
    for (let i = 0; rowByRow && i < c.n; i++) {
      be.attention(q.subarray(i * w, (i + 1) * w), k, v, 1, c.start + i, capacity, c.heads, c.kvHeads, c.headDim, scale, out.subarray(i * w, (i + 1) * w));
    }
    return Float32Array.from(out);
  }

  for (const c of cases) {
    const name = `heads=${c.heads} kv=${c.kvHeads} dim=${c.headDim} n=${c.n} start=${c.start}`;
    test(`f16 attention matches ref on the same rounded K/V (${name})`, (t) => {
      const { q, k32, v32, capacity } = inputs(two, c, 7);
      const want = new Float32Array(q.length);
      ref.attention(q, k32, v32, c.n, c.start, capacity, c.heads, c.kvHeads, c.headDim, 1 / Math.sqrt(c.headDim), want);
      const got = run(two, c, 7);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-3));
      t.diagnostic(`max relative |Δ| ${worst.toExponential(2)}`);
      assertClose(got, want, 1e-6, 1e-5, "f16 attention");
    });
    test(`f16: query tiles equal one query at a time and 2 threads equal 1, bit for bit (${name})`, () => {
      const tiled = run(two, c, 3);
      assert.deepEqual(tiled, run(two, c, 3, true));
      assert.deepEqual(tiled, run(one, c, 3));
    });
  }

  test("ref keeps a float32 cache and rejects f16 buffers by name", () => {
    assert.equal(ref.kvType, "f32");
    assert.ok(ref.allocKv(4) instanceof Float32Array);
    const h = halfCache(two, 8);
    assert.throws(() => ref.attention(new Float32Array(8), h, h, 1, 0, 1, 1, 1, 8, 1, new Float32Array(8)), { name: "QwenrtError", message: /float32/ });
  });

  test("kv option: f16 by default, f32 on request, anything else named", async () => {
    assert.equal(two.kvType, "f16");
    assert.ok(two.allocKv(4) instanceof Uint16Array);
    const f32 = await createWasmBackend({ threads: 1, kv: "f32" });
    try {
      assert.equal(f32.kvType, "f32");
      assert.ok(f32.allocKv(4) instanceof Float32Array);
    } finally {
      f32.dispose();
    }
    await assert.rejects(createWasmBackend({ threads: 1, kv: "q8_0" as "f16" }), { name: "QwenrtError", message: /^kv:/ });
  });
});
