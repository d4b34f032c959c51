import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { getFormat, rowBytes, dequantizeAll } from "./index.js";
import { f32ToF16 } from "./float.js";
import { nearestInt } from "./block_util.js";
import type { WeightType } from "./types.js";

const blockTypes: WeightType[] = ["q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"];

interface Golden {
  input: Float32Array;
  quant: Uint8Array;
  dequant: Float32Array;
  random: Uint8Array;
  randomDequant: Float32Array;
}

function loadGolden(type: WeightType): Golden {
  const buf = readFileSync(new URL(`../../../test/fixtures/quant/${type}.bin`, import.meta.url));
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
  const n = new DataView(bytes.buffer).getUint32(0, true);
  const b = rowBytes(type, n);
  let o = 4;
  const take = (len: number): Uint8Array => {
    const s = bytes.slice(o, o + len);
    o += len;
    return s;
  };
  const input = new Float32Array(take(4 * n).buffer);
  const quant = take(b);
  const dequant = new Float32Array(take(4 * n).buffer);
  const random = take(b);
  const randomDequant = new Float32Array(take(4 * n).buffer);
  assert.equal(o, bytes.length);
  return { input, quant, dequant, random, randomDequant };
}

/** Bitwise float equality (distinguishes -0 and compares NaN payloads), reporting the first mismatch. */
function assertBitsEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  assert.equal(a.length, e.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) assert.fail(`${what}: value ${i} is ${actual[i]}, ggml gives ${expected[i]}`);
  }
}

function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string, blockBytes: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${what}: byte ${i} (block ${Math.floor(i / blockBytes)}, offset ${i % blockBytes}) is ${actual[i]}, ggml gives ${expected[i]}`);
    }
  }
}

for (const type of blockTypes) {
  test(`${type} dequantizes ggml's own encoding and random blocks bit-exactly`, () => {
    const g = loadGolden(type);
    assertBitsEqual(dequantizeAll(type, g.quant, g.input.length), g.dequant, `${type} dequantize`);
    assertBitsEqual(dequantizeAll(type, g.random, g.input.length), g.randomDequant, `${type} dequantize random`);
  });

  test(`${type} quantizes to exactly the bytes of ggml's quantize_row_${type}_ref`, () => {
    const g = loadGolden(type);
    const fmt = getFormat(type);
    assert.ok(fmt.quantize, `${type} has a quantizer`);
    const out = new Uint8Array(g.quant.length);
    fmt.quantize(g.input, out, g.input.length);
    assertBytesEqual(out, g.quant, `${type} quantize`, fmt.blockBytes);
  });

  test(`${type} round-trips gaussian data within its bit budget`, () => {
    const fmt = getFormat(type);
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed + 0.5) / 4294967296;
    };
    const n = 4096;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    const q = new Uint8Array(rowBytes(type, n));
    fmt.quantize!(x, q, n);
    const y = dequantizeAll(type, q, n);
    let err = 0;
    let sig = 0;
    for (let i = 0; i < n; i++) {
      err += (y[i]! - x[i]!) ** 2;
      sig += x[i]! ** 2;
    }
    const rel = Math.sqrt(err / sig);
    // relative RMS error bounds a bit above what each format's bits per weight allow
    const bound: Record<string, number> = {
      q8_0: 0.007, q6_k: 0.024, q5_1: 0.05, q5_0: 0.055, q5_k: 0.047, q4_1: 0.1, q4_0: 0.11, q4_k: 0.09, q3_k: 0.2, q2_k: 0.4,
    };
    assert.ok(rel < bound[type]!, `${type} relative RMS error ${rel}`);
    assert.ok(rel > 0, `${type} is lossy`);
  });
}

function half(v: number): [number, number] {
  const h = f32ToF16(v);
  return [h & 0xff, h >> 8];
}

test("q4_0 hand-built block decodes as (q - 8) * d with low nibbles first", () => {
  const block = new Uint8Array(18);
  block.set(half(0.5), 0);
  for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
  const y = dequantizeAll("q4_0", block, 32);
  for (let j = 0; j < 16; j++) {
    assert.equal(y[j], (j - 8) * 0.5);
    assert.equal(y[j + 16], (15 - j - 8) * 0.5);
  }
});

test("q8_0 hand-built block decodes signed bytes times d", () => {
  const block = new Uint8Array(34);
  block.set(half(0.25), 0);
  for (let j = 0; j < 32; j++) block[2 + j] = (j * 7 - 100) & 0xff;
  const y = dequantizeAll("q8_0", block, 32);
  for (let j = 0; j < 32; j++) assert.equal(y[j], (j * 7 - 100) * 0.25);
});

test("q5_1 hand-built block takes the 5th bits from qh and adds m", () => {
  const block = new Uint8Array(24);
  block.set(half(2), 0);
  block.set(half(-1), 2);
  const qh = 0x80000001; // value 0 and value 31 get their 5th bit
  new DataView(block.buffer).setUint32(4, qh, true);
  for (let j = 0; j < 16; j++) block[8 + j] = 0x33;
  const y = dequantizeAll("q5_1", block, 32);
  assert.equal(y[0], (3 + 16) * 2 - 1);
  assert.equal(y[1], 3 * 2 - 1);
  assert.equal(y[31], (3 + 16) * 2 - 1);
  assert.equal(y[16], 3 * 2 - 1);
});

test("q4_k hand-built block unpacks 6-bit scales and mins of all eight sub-blocks", () => {
  const block = new Uint8Array(144);
  block.set(half(1), 0); // d
  block.set(half(0.5), 2); // dmin
  // sub-block j: scale = 10 + 6j, min = 3 + 7j (values up to 59 use the packed high bits)
  const sc = Array.from({ length: 8 }, (_, j) => 10 + 6 * j);
  const mn = Array.from({ length: 8 }, (_, j) => 3 + 7 * j);
  for (let j = 0; j < 4; j++) {
    block[4 + j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    block[8 + j] = mn[j]! | ((mn[j + 4]! >> 4) << 6);
    block[12 + j] = (sc[j + 4]! & 15) | ((mn[j + 4]! & 15) << 4);
  }
  for (let l = 0; l < 128; l++) block[16 + l] = 0x52; // low nibble 2, high nibble 5
  const y = dequantizeAll("q4_k", block, 256);
  for (let j = 0; j < 8; j++) {
    const q = j % 2 === 0 ? 2 : 5;
    assert.equal(y[32 * j], sc[j]! * q - 0.5 * mn[j]!, `sub-block ${j}`);
  }
});

test("q6_k hand-built block decodes d * scale * (q - 32) with signed scales", () => {
  const block = new Uint8Array(210);
  block.set(half(0.125), 208);
  for (let i = 0; i < 16; i++) block[192 + i] = (i % 2 === 0 ? i + 1 : -(i + 1)) & 0xff;
  block.fill(0xff, 0, 128); // low nibbles 15
  block.fill(0xaa, 128, 192); // high bits 2 → q = 15 | 32 = 47
  const y = dequantizeAll("q6_k", block, 256);
  for (let v = 0; v < 256; v++) {
    const is = Math.floor(v / 16);
    const s = is % 2 === 0 ? is + 1 : -(is + 1);
    assert.equal(y[v], 0.125 * s * 15, `value ${v}`);
  }
});

test("nearestInt rounds half to even like ggml's magic-number trick", () => {
  assert.equal(nearestInt(2.5), 2);
  assert.equal(nearestInt(3.5), 4);
  assert.equal(nearestInt(-2.5), -2);
  assert.equal(nearestInt(-0.4), 0);
  assert.equal(nearestInt(14.6), 15);
});

test("registry serves every block type with ggml's sizes and rejects partial blocks", () => {
  const sizes: Record<string, [number, number]> = {
    q8_0: [32, 34], q4_0: [32, 18], q4_1: [32, 20], q5_0: [32, 22], q5_1: [32, 24],
    q2_k: [256, 84], q3_k: [256, 110], q4_k: [256, 144], q5_k: [256, 176], q6_k: [256, 210],
  };
  for (const t of blockTypes) {
    const fmt = getFormat(t);
    assert.deepEqual([fmt.blockSize, fmt.blockBytes], sizes[t]);
  }
  assert.equal(rowBytes("q4_k", 512), 288);
  assert.throws(() => rowBytes("q4_k", 32), /q4_k's block size 256/);
  assert.throws(() => dequantizeAll("q8_0", new Uint8Array(33), 32), /need 34 bytes/);
});
