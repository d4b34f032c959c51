import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readGguf } from "./read.js";
import { writeGguf, type GgufTensorToWrite } from "./write.js";

const metadata = new Map([["general.architecture", { type: "string" as const, value: "qwen3" }]]);
const tensor = (name: string): GgufTensorToWrite => ({ name, type: "f32", shape: [4], bytes: new Uint8Array(Float32Array.of(1, 2, 3, 4).buffer) });

test("writeGguf replaces the file only once it is complete: a failed write leaves the old file and no temporary", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-write-"));
  const path = join(dir, "model.gguf");
  writeFileSync(path, "the model a server is reading");
  // A tensor whose bytes fail while its data is written (its size was read fine for the header).
  let reads = 0;
  const failing: GgufTensorToWrite = {
    name: "b",
    type: "f32",
    shape: [4],
    get bytes(): Uint8Array {
      if (++reads > 2) throw new Error("disk full");
      return new Uint8Array(16);
    },
  };
  assert.throws(() => writeGguf(path, { metadata, tensors: [tensor("a"), failing] }), /disk full/);
  assert.equal(readFileSync(path, "utf8"), "the model a server is reading");
  assert.deepEqual(readdirSync(dir), ["model.gguf"]);
  writeGguf(path, { metadata, tensors: [tensor("a")] });
  assert.deepEqual([...readGguf(path).tensors.keys()], ["a"]);
  assert.deepEqual(readdirSync(dir), ["model.gguf"]);
});
