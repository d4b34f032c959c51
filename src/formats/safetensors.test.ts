import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QwenrtError } from "../util/errors.js";
import { encodeSafetensors, parseSafetensors, readSafetensorsDir, readSafetensorsFile, writeSafetensors } from "./safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "qwenrt-st-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = Float32Array.of(1, -2, 3.5, 0.25, 5, 6);
const tensors = {
  a: { dtype: "F32" as const, shape: [2, 3], bytes: new Uint8Array(f32.buffer) },
  b: { dtype: "BF16" as const, shape: [1], bytes: Uint8Array.of(0xc0, 0x3f) }, // 1.5
};

function throwsNaming(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof QwenrtError, `QwenrtError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" names ${p}`);
    return true;
  });
}

test("safetensors writer output reads back with shapes, dtypes, metadata and zero-copy views", () => {
  const path = join(dir, "rt.safetensors");
  writeSafetensors(path, tensors, { format: "pt" });
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0, "data is 8-byte aligned");
  const st = readSafetensorsFile(path);
  assert.deepEqual(st.metadata, { format: "pt" });
  const a = st.tensors.get("a")!;
  assert.deepEqual([a.dtype, a.type, [...a.shape]], ["F32", "f32", [2, 3]]);
  assert.deepEqual([...new Float32Array(a.bytes.slice().buffer)], [...f32]);
  assert.deepEqual([...st.tensors.get("b")!.bytes], [0xc0, 0x3f]);
  const mem = encodeSafetensors(tensors);
  const parsed = parseSafetensors(mem, "mem");
  assert.equal(parsed.tensors.get("a")!.bytes.buffer, mem.buffer, "a view over the file buffer, not a copy");
});

test("safetensors reader names the file and tensor of a truncated file", () => {
  const mem = encodeSafetensors(tensors);
  throwsNaming(() => parseSafetensors(mem.subarray(0, mem.length - 1), "cut.safetensors"), "cut.safetensors", "truncated", '"b"');
  throwsNaming(() => parseSafetensors(mem.subarray(0, 20), "cut.safetensors"), "cut.safetensors", "header length");
  throwsNaming(() => parseSafetensors(mem.subarray(0, 5), "tiny.safetensors"), "tiny.safetensors", "truncated");
});

function withHeader(header: unknown, dataBytes = 64): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test("safetensors reader rejects unsupported dtypes, bad shapes and corrupt headers by name", () => {
  throwsNaming(() => parseSafetensors(withHeader({ w: { dtype: "I8", shape: [4], data_offsets: [0, 4] } }), "m.st"), "m.st", '"w"', "I8");
  throwsNaming(() => parseSafetensors(withHeader({ w: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }), "m.st"), '"w"', "needs 12 bytes");
  throwsNaming(() => parseSafetensors(withHeader({ w: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }), "m.st"), '"w"', "data_offsets");
  throwsNaming(() => parseSafetensors(withHeader({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 0] } }), "m.st"), '"w"', "shape");
  const garbage = withHeader({});
  garbage.set(new TextEncoder().encode("{nope"), 8);
  throwsNaming(() => parseSafetensors(garbage, "g.st"), "g.st", "corrupt header");
});

test("sharded checkpoints read through the index; a tensor missing from its shard is named", () => {
  writeFileSync(join(dir, "s1.safetensors"), encodeSafetensors({ a: tensors.a }));
  writeFileSync(join(dir, "s2.safetensors"), encodeSafetensors({ b: tensors.b }));
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "s1.safetensors", b: "s2.safetensors" } }));
  const all = readSafetensorsDir(dir);
  assert.deepEqual([...all.tensors.keys()].sort(), ["a", "b"]);
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "s1.safetensors", c: "s2.safetensors" } }));
  throwsNaming(() => readSafetensorsDir(dir), "s2.safetensors", '"c"');
  // The same tensor stored in two shards is ambiguous.
  writeFileSync(join(dir, "s2.safetensors"), encodeSafetensors({ a: tensors.a, b: tensors.b }));
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "s1.safetensors", b: "s2.safetensors" } }));
  throwsNaming(() => readSafetensorsDir(dir), "s2.safetensors", '"a"', "more than one shard");
  rmSync(join(dir, "model.safetensors.index.json"));
});
