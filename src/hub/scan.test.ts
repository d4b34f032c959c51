import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { blobPath, linkSnapshotFile, repoCacheDir } from "./cache.js";
import { quantOf, removeCached, scanCache } from "./scan.js";

const cacheDir = mkdtempSync(join(tmpdir(), "qwenrt-scan-"));
after(() => rmSync(cacheDir, { recursive: true, force: true }));

/** Write files into a repo's cache folder as the downloader does (blobs + snapshot links). */
function fakeRepo(cache: string, repo: string, commit: string, files: Record<string, string | number>): void {
  const dir = repoCacheDir(cache, repo);
  mkdirSync(join(dir, "blobs"), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const body = typeof content === "number" ? Buffer.alloc(content, 7) : Buffer.from(content);
    const etag = `e${Buffer.from(`${repo}/${path}`).toString("hex").slice(-30)}`;
    writeFileSync(blobPath(dir, etag), body);
    linkSnapshotFile(dir, commit, path, etag);
  }
}

const C1 = "1".repeat(40);
fakeRepo(cacheDir, "org/Dense", C1, { "config.json": '{"torch_dtype": "bfloat16"}', "tokenizer.json": "{}", "model.safetensors": 1000 });
fakeRepo(cacheDir, "org/Tiny-GGUF", C1, { "tiny-Q4_K_M.gguf": 300, "tiny-Q8_0.gguf": 500, "mmproj-tiny-f16.gguf": 50, "README.md": "# gguf" });
fakeRepo(cacheDir, "org/Split-GGUF", C1, { "Q8_0/split-Q8_0-00001-of-00002.gguf": 200, "Q8_0/split-Q8_0-00002-of-00002.gguf": 100 });

test("quantOf reads the quant tag at the end of a GGUF stem", () => {
  assert.equal(quantOf("Qwen3-8B-Q4_K_M"), "Q4_K_M");
  assert.equal(quantOf("Q8_0/split-Q8_0"), "Q8_0");
  assert.equal(quantOf("qwen3-0.6b-iq4_xs"), "IQ4_XS");
  assert.equal(quantOf("model-bf16"), "BF16");
});

test("scanCache lists a safetensors repo as one model and a GGUF repo as one model per quant", () => {
  const old = new Date("2024-01-02T00:00:00Z");
  const dense = repoCacheDir(cacheDir, "org/Dense");
  for (const b of readdirSync(join(dense, "blobs"))) utimesSync(join(dense, "blobs", b), old, old);
  const models = scanCache(cacheDir);
  assert.deepEqual(
    models.map((m) => [m.name, m.format, m.type, m.bytes]),
    [
      ["org/Dense", "safetensors", "bf16", 1000 + 27 + 2],
      ["org/Split-GGUF:Q8_0", "gguf", "Q8_0", 300],
      ["org/Tiny-GGUF:Q4_K_M", "gguf", "Q4_K_M", 300],
      ["org/Tiny-GGUF:Q8_0", "gguf", "Q8_0", 500],
    ],
  );
  assert.equal(models[0]!.lastUsed.getTime(), old.getTime());
  assert.ok(models[0]!.path.endsWith(join("snapshots", C1)));
  assert.deepEqual(scanCache(join(cacheDir, "nope")), []);
});

test("removeCached removes one quant (keeping the others) or a whole repo, and names what it cannot find", () => {
  assert.equal(removeCached(cacheDir, "org/Tiny-GGUF", "q8_0"), 500);
  assert.deepEqual(scanCache(cacheDir).filter((m) => m.repo === "org/Tiny-GGUF").map((m) => m.name), ["org/Tiny-GGUF:Q4_K_M"]);
  assert.equal(removeCached(cacheDir, "org/Split-GGUF", "Q8_0"), 300);
  assert.ok(!existsSync(repoCacheDir(cacheDir, "org/Split-GGUF")), "a repo with nothing left goes");
  assert.equal(removeCached(cacheDir, "org/Dense"), 1029);
  assert.ok(!existsSync(repoCacheDir(cacheDir, "org/Dense")));
  assert.throws(() => removeCached(cacheDir, "org/Dense"), /^QwenrtError: org\/Dense: not in the Hugging Face cache/);
  assert.throws(() => removeCached(cacheDir, "org/Tiny-GGUF", "Q2_K"), /no \.gguf file of quant "Q2_K"/);
});
