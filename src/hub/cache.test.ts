import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { blobPath, isCommitHash, linkSnapshotFile, listSnapshotFiles, pointerPath, readRef, repoFolderName, writeRef } from "./cache.js";

const root = mkdtempSync(join(tmpdir(), "qwenrt-cache-"));
after(() => rmSync(root, { recursive: true, force: true }));
const commit = "0123456789abcdef0123456789abcdef01234567";

test("repo folders are named like huggingface_hub's", () => {
  assert.equal(repoFolderName("Qwen/Qwen3-0.6B"), "models--Qwen--Qwen3-0.6B");
  assert.equal(isCommitHash(commit), true);
  assert.equal(isCommitHash("main"), false);
});

test("refs hold the bare commit, nest for refs/pr/N, and a commit resolves to itself", () => {
  const repo = join(root, "models--a--b");
  writeRef(repo, "main", commit);
  writeRef(repo, "refs/pr/1", commit);
  writeRef(repo, commit, commit);
  assert.equal(readFileSync(join(repo, "refs", "main"), "utf8"), commit);
  assert.equal(readFileSync(join(repo, "refs", "refs", "pr", "1"), "utf8"), commit);
  assert.equal(readRef(repo, "refs/pr/1"), commit);
  assert.equal(readRef(repo, commit), commit);
  assert.equal(readRef(repo, "v2"), undefined);
});

test("snapshot links are relative to the blob and paths cannot escape the cache", () => {
  const repo = join(root, "models--c--d");
  mkdirSync(join(repo, "blobs"), { recursive: true });
  writeFileSync(blobPath(repo, "e".repeat(64)), "gguf bytes");
  const p = linkSnapshotFile(repo, commit, "sub/dir/m.gguf", "e".repeat(64));
  assert.equal(readlinkSync(p), `../../../../blobs/${"e".repeat(64)}`);
  assert.equal(readFileSync(p, "utf8"), "gguf bytes");
  assert.deepEqual(listSnapshotFiles(join(repo, "snapshots", commit)), ["sub/dir/m.gguf"]);
  assert.throws(() => pointerPath(repo, commit, "../../../etc/passwd"), /outside the cache folder/);
  assert.throws(() => blobPath(repo, "../x"), /invalid blob id/);
  assert.throws(() => writeRef(repo, "../../escape", commit), /outside the cache folder/);
});
