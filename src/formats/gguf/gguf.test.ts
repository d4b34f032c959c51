import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getFormat } from "../quant/index.js";
import { gv } from "./arch.js";
import { mapGgufTensorName, mapHfTensorName } from "./names.js";
import { QuantMix, useMoreBits } from "./quant_mix.js";
import { parseGguf, readGguf } from "./read.js";
import type { GgufValue } from "./types.js";
import { encodeGguf, writeGguf, type GgufTensorToWrite } from "./write.js";

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

const allTypes = new Map<string, GgufValue>([
  ["general.architecture", gv.str("qwen3")],
  ["t.u8", { type: "u8", value: 255 }],
  ["t.i8", { type: "i8", value: -128 }],
  ["t.u16", { type: "u16", value: 65535 }],
  ["t.i16", { type: "i16", value: -32768 }],
  ["t.u32", { type: "u32", value: 4294967295 }],
  ["t.i32", { type: "i32", value: -2147483648 }],
  ["t.f32", { type: "f32", value: Math.fround(0.1) }],
  ["t.f64", { type: "f64", value: 0.1 }],
  ["t.u64", { type: "u64", value: 18446744073709551615n }],
  ["t.i64", { type: "i64", value: -9223372036854775808n }],
  ["t.bool", { type: "bool", value: true }],
  ["t.str", gv.str("héllo ✓ 中文")],
  ["t.arr", { type: "array", value: { itemType: "i32", items: [1, -2, 3] } }],
  ["t.nested", { type: "array", value: { itemType: "array", items: [{ itemType: "string", items: ["a", "bc"] }, { itemType: "u64", items: [7n] }] } }],
]);

const tensors: GgufTensorToWrite[] = [
  { name: "a.weight", type: "f32", shape: [2, 3], bytes: f32Bytes([1, 2, 3, 4, 5, 6]) },
  { name: "b.weight", type: "q8_0", shape: [1, 32], bytes: new Uint8Array(34).fill(3) },
];

test("GGUF metadata of every value type and tensors survive write → read bit-identically", () => {
  const bytes = encodeGguf({ metadata: allTypes, tensors });
  const g = parseGguf(bytes, "mem.gguf");
  assert.equal(g.version, 3);
  assert.deepEqual([...g.metadata.entries()], [...allTypes.entries()]);
  const a = g.tensors.get("a.weight")!;
  assert.deepEqual(a.dims, [3, 2]);
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual([...a.bytes], [...tensors[0]!.bytes]);
  const b = g.tensors.get("b.weight")!;
  assert.equal(b.type, "q8_0");
  assert.equal((b.bytes.byteOffset - a.bytes.byteOffset) % 32, 0, "data offsets are 32-byte aligned");
  assert.deepEqual(encodeGguf({ metadata: g.metadata, tensors: [...g.tensors.values()] }), bytes);
});

test("bad GGUF files fail naming the file and the problem", () => {
  const good = encodeGguf({ metadata: allTypes, tensors });
  const bad = (mutate: (b: Uint8Array) => Uint8Array): (() => unknown) => () => parseGguf(mutate(good.slice()), "bad.gguf");
  assert.throws(bad((b) => b.subarray(0, 40)), /bad\.gguf: truncated: .*while reading/);
  assert.throws(bad((b) => { b[0] = 0x47; b[3] = 0x00; return b; }), /bad\.gguf: not a GGUF file/);
  assert.throws(bad((b) => { b[4] = 1; return b; }), /unsupported GGUF version 1/);
  // tensor info of "b.weight": name, u32 dimension count, 2 × u64 dims, then the u32 type id
  const nameAt = Buffer.from(good).lastIndexOf("b.weight");
  assert.ok(nameAt > 0);
  const infoType = nameAt + "b.weight".length + 4 + 16;
  assert.throws(bad((b) => { b[infoType] = 16; return b; }), /tensor "b\.weight" has type IQ2_XXS \(ggml id 16\)/);
  assert.throws(bad((b) => { b[infoType] = 99; return b; }), /tensor "b\.weight" has unknown ggml type id 99/);
  assert.throws(bad((b) => b.subarray(0, b.length - 40)), /tensor "b\.weight" data .* beyond the end of the file/);
});

test("split GGUF files are read part by part into one tensor map", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-gguf-"));
  const split = (no: number, t: GgufTensorToWrite[], md: [string, GgufValue][]): void => {
    const metadata = new Map<string, GgufValue>([...md, ["split.no", { type: "u16", value: no }], ["split.count", { type: "u16", value: 2 }], ["split.tensors.count", gv.i32(2)]]);
    writeGguf(join(dir, `m-0000${no + 1}-of-00002.gguf`), { metadata, tensors: t });
  };
  split(0, [tensors[0]!], [["general.architecture", gv.str("qwen3")]]);
  split(1, [tensors[1]!], []);
  const g = readGguf(join(dir, "m-00002-of-00002.gguf"));
  assert.deepEqual([...g.tensors.keys()], ["a.weight", "b.weight"]);
  assert.equal(g.parts.length, 2);
  assert.equal(g.metadata.get("general.architecture")?.value, "qwen3");
  writeFileSync(join(dir, "lone.gguf"), readGgufBytes(join(dir, "m-00001-of-00002.gguf")));
  assert.throws(() => readGguf(join(dir, "lone.gguf")), /part of a 2-part split model/);
});

function readGgufBytes(p: string): Uint8Array {
  const g = readGguf(p.replace(/-0000\d-of-/, "-00001-of-"));
  return encodeGguf({ metadata: g.metadata, tensors: [...g.tensors.values()].filter((t) => t.file === p) });
}

test("tensor names map GGUF ↔ HF both ways, experts included", () => {
  assert.deepEqual(mapGgufTensorName("blk.3.attn_q.weight"), { kind: "plain", hf: "model.layers.3.self_attn.q_proj.weight" });
  assert.deepEqual(mapGgufTensorName("blk.0.attn_k.bias"), { kind: "plain", hf: "model.layers.0.self_attn.k_proj.bias" });
  assert.deepEqual(mapGgufTensorName("output.weight"), { kind: "plain", hf: "lm_head.weight" });
  assert.deepEqual(mapGgufTensorName("blk.1.ffn_gate_inp.weight"), { kind: "plain", hf: "model.layers.1.mlp.gate.weight" });
  assert.deepEqual(mapGgufTensorName("blk.1.ffn_down_exps.weight"), { kind: "experts", layer: 1, hfPart: "down_proj", suffix: ".weight" });
  assert.equal(mapGgufTensorName("blk.1.rope_freqs.weight"), undefined);
  for (const n of ["model.embed_tokens.weight", "model.norm.weight", "model.layers.7.self_attn.k_norm.weight", "model.layers.2.mlp.up_proj.weight"]) {
    const g = mapHfTensorName(n);
    assert.ok(g?.kind === "plain");
    assert.deepEqual(mapGgufTensorName(g.gguf), { kind: "plain", hf: n });
  }
  assert.deepEqual(mapHfTensorName("model.layers.0.mlp.experts.5.gate_proj.weight"), { kind: "expert", gguf: "blk.0.ffn_gate_exps.weight", layer: 0, expert: 5 });
});

test("Q4_K_M mix follows llama.cpp: Q6_K on use_more_bits layers, output rules, fallbacks logged", () => {
  assert.deepEqual(Array.from({ length: 28 }, (_, i) => useMoreBits(i, 28)).flatMap((b, i) => (b ? [i] : [])), [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]);
  const logs: string[] = [];
  const mix = new QuantMix("q4_k_m", { numLayers: 28, numExperts: 0, tiedEmbeddings: true }, (l) => logs.push(l));
  assert.equal(mix.choose({ name: "token_embd.weight", dims: [1024, 151936] }), "q6_k");
  assert.equal(mix.choose({ name: "output_norm.weight", dims: [1024] }), "f32");
  assert.equal(mix.choose({ name: "blk.0.attn_v.weight", dims: [1024, 1024] }), "q6_k");
  assert.equal(mix.choose({ name: "blk.0.ffn_down.weight", dims: [3072, 1024] }), "q6_k");
  assert.equal(mix.choose({ name: "blk.0.attn_q.weight", dims: [1024, 2048] }), "q4_k");
  assert.equal(mix.choose({ name: "blk.1.attn_v.weight", dims: [1024, 1024] }), "q6_k");
  assert.equal(mix.choose({ name: "blk.2.attn_v.weight", dims: [1024, 1024] }), "q6_k");
  assert.equal(mix.choose({ name: "blk.3.attn_v.weight", dims: [1024, 1024] }), "q4_k");
  assert.equal(mix.choose({ name: "blk.0.attn_k.bias", dims: [1024] }), "f32");
  assert.deepEqual(logs, []);
  assert.equal(mix.choose({ name: "blk.5.ffn_up.weight", dims: [32, 96] }), "q5_0");
  assert.match(logs[0]!, /blk\.5\.ffn_up\.weight: row length 32 .* falling back to q5_0/);
  assert.equal(mix.choose({ name: "blk.5.ffn_gate.weight", dims: [16, 96] }), "f16");
  const moe = new QuantMix("q4_k_m", { numLayers: 2, numExperts: 8, tiedEmbeddings: false }, () => {});
  assert.equal(moe.choose({ name: "blk.0.attn_k.weight", dims: [256, 256] }), "q8_0");
  assert.equal(moe.choose({ name: "blk.0.attn_output.weight", dims: [256, 256] }), "q5_k");
  assert.equal(moe.choose({ name: "blk.0.ffn_gate_inp.weight", dims: [256, 8] }), "f32");
  assert.equal(moe.choose({ name: "token_embd.weight", dims: [256, 1000] }), "q4_k");
  assert.equal(new QuantMix("q8_0", { numLayers: 1, numExperts: 0, tiedEmbeddings: false }, () => {}).choose({ name: "output.weight", dims: [48, 8] }), "f16");
  assert.equal(getFormat("q5_0").blockSize, 32);
});
