// The header-only GGUF reader (`readGgufMetadata`) against the full parse, on a GGUF converted from
// a fixture checkpoint: same metadata and tensor layout, fewer bytes read, and it works on a file
// whose data section is missing (so `tokenize` / `render` never need the weights; see open.test.ts).
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { test } from "node:test";
import { fixtureGguf, truncatedCopy } from "../../../test/helpers/gguf-fixture.js";
import { readGguf, readGgufAsync, readGgufMetadata } from "./read.js";

test("readGgufMetadata: the full parse's metadata and tensor layout, from fewer bytes", () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  const full = readGguf(path);
  const h = readGgufMetadata(path, { chunkBytes: 4096 });
  assert.deepEqual([...h.metadata], [...full.metadata]);
  assert.equal(h.version, full.version);
  assert.equal(h.alignment, full.alignment);
  assert.deepEqual(
    h.tensorInfos.map((t) => [t.name, t.type, t.dims, t.byteLength]),
    [...full.tensors.values()].map((t) => [t.name, t.type, t.dims, t.bytes.byteLength]),
  );
  for (const t of h.tensorInfos) assert.equal(full.tensors.get(t.name)!.bytes.byteOffset, t.begin, t.name);
  const size = statSync(path).size;
  assert.equal(h.fileBytes, size);
  assert.ok(h.bytesRead >= h.dataStart - full.alignment && h.bytesRead < size, `read ${h.bytesRead} of ${size} bytes (data at ${h.dataStart})`);
  // With a default chunk the header still comes in one pass of growing reads, never the data.
  const d = readGgufMetadata(path);
  assert.ok(d.bytesRead < size, `default chunk read ${d.bytesRead} of ${size}`);
});

test("readGgufMetadata reads a GGUF whose data section is cut off; the full reader refuses it", () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  const h = readGgufMetadata(path);
  const cut = truncatedCopy(path, h.dataStart, "header-only.gguf");
  assert.deepEqual([...readGgufMetadata(cut).metadata], [...h.metadata]);
  assert.throws(() => readGguf(cut), /header-only\.gguf: tensor ".*" data .* lies beyond the end of the file/);
  // Cut inside the tensor infos: the header reader says where it ran out.
  const short = truncatedCopy(path, h.dataStart - h.alignment, "short.gguf");
  assert.throws(() => readGgufMetadata(short), /short\.gguf: truncated: file ends at byte \d+ while reading/);
});

test("readGgufAsync: the same file as readGguf, with read progress to the file size", async () => {
  const path = fixtureGguf("qwen3-dense-tiny", "q8_0");
  const sizes: number[] = [];
  let total = -1;
  const g = await readGgufAsync(path, { chunkBytes: 1 << 20, onStart: (t) => (total = t), onBytes: (n) => sizes.push(n) });
  const full = readGguf(path);
  assert.equal(total, statSync(path).size);
  assert.equal(sizes.reduce((a, b) => a + b, 0), total);
  assert.ok(sizes.length > 1, "read in more than one chunk");
  assert.deepEqual([...g.metadata], [...full.metadata]);
  for (const [name, t] of full.tensors) assert.deepEqual(g.tensors.get(name)!.bytes, t.bytes, name);
});
