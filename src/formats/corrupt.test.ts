/**
 * Issue 16's corrupt-checkpoint cases at the format layer: tensors that share bytes (safetensors,
 * in memory and from the header alone; GGUF), a GGUF block count its tensors do not hold, and the
 * non-finite weight scan over float and quantized types, in memory and on disk.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ggufToHfConfig } from "./gguf/arch.js";
import { parseGguf, readGgufIndex } from "./gguf/read.js";
import { encodeGguf } from "./gguf/write.js";
import { getFormat, rowBytes } from "./quant/index.js";
import type { TensorSource } from "./tensor_source.js";
import { parseSafetensors, readSafetensorsDirIndex } from "./safetensors.js";
import { findNonFinite } from "./weight_scan.js";

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** A safetensors file whose header is given as is (offsets included). */
function rawSafetensors(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  return out;
}

test("safetensors: tensors that share bytes are refused, in memory and from the header", async () => {
  const file = rawSafetensors(
    { "a.weight": { dtype: "F32", shape: [2], data_offsets: [0, 8] }, "b.weight": { dtype: "F32", shape: [2], data_offsets: [4, 12] } },
    12,
  );
  assert.throws(() => parseSafetensors(file, "model.safetensors"), /corrupt: tensors "a\.weight" \(bytes \[(\d+), \d+\)\) and "b\.weight" \(bytes \[\d+, \d+\)\) overlap/);
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-overlap-"));
  writeFileSync(join(dir, "model.safetensors"), file);
  await assert.rejects(readSafetensorsDirIndex(dir), /overlap/);
  const fine = rawSafetensors(
    { "a.weight": { dtype: "F32", shape: [2], data_offsets: [0, 8] }, "b.weight": { dtype: "F32", shape: [2], data_offsets: [8, 16] }, "empty": { dtype: "F32", shape: [0], data_offsets: [8, 8] } },
    16,
  );
  assert.equal(parseSafetensors(fine, "model.safetensors").tensors.size, 3);
});

test("GGUF: tensors that share bytes are refused", () => {
  const bytes = encodeGguf({
    metadata: new Map([["general.architecture", { type: "string", value: "qwen3" }]]),
    tensors: [
      { name: "a", type: "f32", shape: [8], bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) },
      { name: "b", type: "f32", shape: [8], bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) },
    ],
  });
  assert.equal(parseGguf(bytes, "m.gguf").tensors.size, 2);
  // Tensor "b"'s info: u64 name length 1, "b", u32 dims 1, u64 dim 8, u32 type, u64 offset → point it at "a".
  const at = Buffer.from(bytes).indexOf(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x62, 1, 0, 0, 0, 8]));
  assert.ok(at > 0);
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at + 9 + 4 + 8 + 4, 0n, true);
  assert.throws(() => parseGguf(bytes, "m.gguf"), /corrupt: tensors "a" .* and "b" .* overlap/);
});

test("GGUF: a block_count the file's tensors do not hold is refused at once, naming the key", () => {
  const header = (blocks: number) => ({
    path: "m.gguf",
    version: 3,
    alignment: 32,
    metadata: new Map<string, { type: "string"; value: string } | { type: "u32"; value: number } | { type: "f32"; value: number }>([
      ["general.architecture", { type: "string", value: "qwen3" }],
      ["qwen3.context_length", { type: "u32", value: 4096 }],
      ["qwen3.embedding_length", { type: "u32", value: 32 }],
      ["qwen3.block_count", { type: "u32", value: blocks }],
      ["qwen3.feed_forward_length", { type: "u32", value: 96 }],
      ["qwen3.attention.head_count", { type: "u32", value: 4 }],
      ["qwen3.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-6 }],
    ]),
    tensors: new Map([
      ["token_embd.weight", { shape: [100, 32] }],
      ["blk.0.attn_q.weight", { shape: [64, 32] }],
      ["blk.1.attn_q.weight", { shape: [64, 32] }],
    ]),
  });
  const t0 = performance.now();
  assert.throws(() => ggufToHfConfig(header(0xffffffff)), /"qwen3\.block_count" is 4294967295 but the file's tensors hold 2 blocks/);
  assert.ok(performance.now() - t0 < 1_000);
  assert.equal(ggufToHfConfig(header(2)).num_hidden_layers, 2);
});

test("findNonFinite: names the tensor and value holding NaN or Infinity, through block scales too, in memory and on disk", async () => {
  const finite = { type: "f32" as const, shape: [2, 4], bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) };
  const bf16 = new Uint8Array(8); // [1, 4] bf16: the third value +Infinity (0x7f80)
  new DataView(bf16.buffer).setUint16(4, 0x7f80, true);
  assert.equal(await findNonFinite(new Map([["ok", finite]])), undefined);
  const both = new Map<string, TensorSource>([["ok", finite], ["norm", { type: "bf16", shape: [1, 4], bytes: bf16 }]]);
  assert.deepEqual(await findNonFinite(both), { tensor: "norm", index: 2, value: Infinity });
  const q = new Uint8Array(2 * rowBytes("q8_0", 32)); // 2 blocks of 34 bytes
  getFormat("q8_0").quantize!(Float32Array.from({ length: 64 }, (_, i) => i / 10), q, 64);
  assert.equal(await findNonFinite(new Map([["q", { type: "q8_0", shape: [2, 32], bytes: q }]])), undefined);
  new DataView(q.buffer, q.byteOffset).setUint16(34, 0x7e00, true); // second block's f16 scale: NaN
  const bad = await findNonFinite(new Map([["q", { type: "q8_0", shape: [2, 32], bytes: q }]]));
  assert.equal(bad?.tensor, "q");
  assert.equal(bad?.index, 32);
  assert.ok(Number.isNaN(bad?.value));
  // On disk: a GGUF whose second tensor holds a NaN, read through the file index.
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-nan-"));
  const path = join(dir, "m.gguf");
  writeFileSync(path, encodeGguf({
    metadata: new Map([["general.architecture", { type: "string", value: "qwen3" }]]),
    tensors: [
      { name: "a", type: "f32", shape: [8], bytes: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) },
      { name: "b", type: "f32", shape: [8], bytes: f32Bytes([1, 2, 3, NaN, 5, 6, 7, 8]) },
    ],
  }));
  const onDisk = await findNonFinite(readGgufIndex(path).tensors);
  assert.deepEqual([onDisk?.tensor, onDisk?.index], ["b", 3]);
});
