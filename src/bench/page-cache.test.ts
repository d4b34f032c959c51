import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { warmPageCache, weightFiles } from "./page-cache.js";

test("warmPageCache reads a .gguf file, or a directory's weight files, whole", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-warm-"));
  try {
    writeFileSync(join(dir, "model-00002-of-00002.safetensors"), Buffer.alloc(3 << 20, 1));
    writeFileSync(join(dir, "model-00001-of-00002.safetensors"), Buffer.alloc((17 << 20) + 5, 2)); // more than one 16 MiB read
    writeFileSync(join(dir, "config.json"), "{}");
    assert.deepEqual(weightFiles(dir).map((p) => p.slice(dir.length + 1)), ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
    assert.equal(warmPageCache(dir).bytes, (3 << 20) + (17 << 20) + 5);
    const gguf = join(dir, "m.gguf");
    writeFileSync(gguf, Buffer.alloc(1000, 3));
    assert.deepEqual(weightFiles(gguf), [gguf]);
    const r = warmPageCache(gguf);
    assert.equal(r.bytes, 1000);
    assert.ok(r.seconds >= 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
