import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { QwenrtError } from "../util/errors.js";
import type { DownloadEvent } from "./download.js";
import { MockHub, gitBlobSha1, sha256Hex, type MockRepo } from "./mock-hub.js";
import { pullModel, resolveModel } from "./ref.js";

const COMMIT = "3f1b7c2d9e8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c";
const GGUF_COMMIT = "a".repeat(40);
const shard1 = randomBytes(300_000);
const shard2 = randomBytes(120_000);
const config = Buffer.from(JSON.stringify({ model_type: "qwen3", hidden_size: 64 }));
const index = Buffer.from(
  JSON.stringify({ weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors" } }),
);

const denseRepo: MockRepo = {
  repo: "test-org/Tiny-Qwen",
  commit: COMMIT,
  files: [
    { path: "config.json", content: config },
    { path: "generation_config.json", content: Buffer.from('{"temperature":0.6}') },
    { path: "tokenizer.json", content: Buffer.from('{"model":{"type":"BPE"}}') },
    { path: "tokenizer_config.json", content: Buffer.from('{"eos_token":"<|im_end|>"}') },
    { path: "README.md", content: Buffer.from("# not needed") },
    { path: "model.safetensors.index.json", content: index },
    { path: "model-00001-of-00002.safetensors", content: shard1, lfs: true },
    { path: "model-00002-of-00002.safetensors", content: shard2, lfs: true },
    { path: "onnx/model.onnx", content: randomBytes(1000), lfs: true },
  ],
};

const q4 = randomBytes(50_000);
const q8a = randomBytes(70_000);
const q8b = randomBytes(30_000);
const ggufRepo: MockRepo = {
  repo: "test-org/Tiny-Qwen-GGUF",
  commit: GGUF_COMMIT,
  files: [
    { path: "README.md", content: Buffer.from("# gguf") },
    { path: "tiny-qwen-q4_k_m.gguf", content: q4, lfs: true },
    { path: "tiny-qwen-Q4_K_S.gguf", content: randomBytes(10), lfs: true },
    { path: "Q8_0/Tiny-Qwen-Q8_0-00001-of-00002.gguf", content: q8a, lfs: true },
    { path: "Q8_0/Tiny-Qwen-Q8_0-00002-of-00002.gguf", content: q8b, lfs: true },
  ],
};

const gatedRepo: MockRepo = {
  repo: "test-org/Gated-Qwen",
  commit: "b".repeat(40),
  gatedToken: "hf_secret_token",
  files: [
    { path: "config.json", content: config },
    { path: "tokenizer.json", content: Buffer.from("{}") },
    { path: "model.safetensors", content: randomBytes(2000), lfs: true },
  ],
};

/** A hostile listing: file names that climb out of the cache. */
const evilRepo: MockRepo = {
  repo: "test-org/Evil-Qwen",
  commit: "e".repeat(40),
  files: [
    { path: "config.json", content: config },
    { path: "tokenizer.json", content: Buffer.from("{}") },
    { path: "../../../../../../tmp/qwenrt-pwned.safetensors", content: randomBytes(100), lfs: true },
    { path: "model.safetensors", content: randomBytes(100), lfs: true },
  ],
};

let hub: MockHub;
const homes: string[] = [];

function freshEnv(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), "qwenrt-hub-"));
  homes.push(home);
  return { HF_ENDPOINT: hub.endpoint, HF_HOME: home, ...extra };
}

function repoDir(env: Record<string, string>, repo: string): string {
  return join(env.HF_HOME, "hub", `models--${repo.replace("/", "--")}`);
}

before(async () => {
  hub = await MockHub.start([denseRepo, ggufRepo, gatedRepo, evilRepo]);
});
after(async () => {
  await hub.close();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

describe("pullModel against a mock Hub", { timeout: 60_000 }, () => {
  test("full pull writes exactly the huggingface_hub cache layout and only the needed files", async () => {
    const env = freshEnv();
    const events: DownloadEvent[] = [];
    const m = await pullModel(denseRepo.repo, { env, onEvent: (e) => events.push(e) });
    const dir = repoDir(env, denseRepo.repo);
    const snap = join(dir, "snapshots", COMMIT);
    assert.equal(m.path, snap);
    assert.equal(m.source, "hub");
    assert.equal(m.format, "safetensors");
    assert.equal(readFileSync(join(dir, "refs", "main"), "utf8"), COMMIT); // no trailing newline
    const wanted = [
      "config.json",
      "generation_config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
      "tokenizer.json",
      "tokenizer_config.json",
    ];
    assert.deepEqual(readdirSync(snap).sort(), wanted);
    for (const name of wanted) {
      const f = denseRepo.files.find((x) => x.path === name);
      assert.ok(f !== undefined);
      const etag = f.lfs === true ? sha256Hex(f.content) : gitBlobSha1(f.content);
      assert.ok(lstatSync(join(snap, name)).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(readlinkSync(join(snap, name)), `../../blobs/${etag}`);
      assert.deepEqual(readFileSync(join(snap, name)), f.content);
    }
    assert.deepEqual(readdirSync(join(dir, "blobs")).filter((b) => b.endsWith(".incomplete")), []);
    assert.equal(readdirSync(join(dir, "blobs")).length, wanted.length);
    const fetched = hub.fileRequests().filter((r) => r.server === "hub").map((r) => r.path);
    assert.ok(!fetched.some((p) => p.endsWith("README.md") || p.includes("onnx")), "unneeded files are not fetched");
    assert.ok(events[0]?.kind === "plan" && events[0].files.every((f) => !f.cached));
    assert.equal(events.filter((e) => e.kind === "done").length, wanted.length);
  });

  test("second pull downloads nothing; resolveModel then makes no request at all", async () => {
    const env = freshEnv();
    await pullModel(denseRepo.repo, { env });
    const before = hub.requests.length;
    const events: DownloadEvent[] = [];
    const m = await pullModel(denseRepo.repo, { env, onEvent: (e) => events.push(e) });
    const again = hub.requests.slice(before);
    assert.deepEqual(again.map((r) => r.path), [`/api/models/${denseRepo.repo}/revision/main`]);
    assert.ok(events[0]?.kind === "plan" && events[0].files.every((f) => f.cached));
    const n = hub.requests.length;
    assert.equal(await resolveModel(denseRepo.repo, { env }), m.path);
    assert.equal(hub.requests.length, n);
  });

  test("a partial .incomplete blob is resumed with a Range request", async () => {
    const env = freshEnv();
    const dir = repoDir(env, denseRepo.repo);
    const etag = sha256Hex(shard1);
    mkdirSync(join(dir, "blobs"), { recursive: true });
    writeFileSync(join(dir, "blobs", `${etag}.incomplete`), shard1.subarray(0, 123_457));
    const from = hub.requests.length;
    const m = await pullModel(denseRepo.repo, { env });
    const cdn = hub.requests.slice(from).filter((r) => r.server === "cdn" && r.path.endsWith("model-00001-of-00002.safetensors"));
    assert.deepEqual(cdn.map((r) => r.range), ["bytes=123457-"]);
    assert.deepEqual(readFileSync(join(m.path, "model-00001-of-00002.safetensors")), shard1);
    assert.equal(existsSync(join(dir, "blobs", `${etag}.incomplete`)), false);
  });

  test("a server that ignores Range restarts the file from zero; a complete .incomplete is just verified", async () => {
    const env = freshEnv();
    const dir = repoDir(env, denseRepo.repo);
    mkdirSync(join(dir, "blobs"), { recursive: true });
    const key = `${denseRepo.repo}/model-00001-of-00002.safetensors`;
    writeFileSync(join(dir, "blobs", `${sha256Hex(shard1)}.incomplete`), shard1.subarray(0, 1000));
    writeFileSync(join(dir, "blobs", `${sha256Hex(shard2)}.incomplete`), shard2);
    hub.ignoreRange.add(key);
    try {
      const m = await pullModel(denseRepo.repo, { env });
      assert.deepEqual(readFileSync(join(m.path, "model-00001-of-00002.safetensors")), shard1);
      assert.deepEqual(readFileSync(join(m.path, "model-00002-of-00002.safetensors")), shard2);
    } finally {
      hub.ignoreRange.delete(key);
    }
  });

  test("a transfer cut short fails naming the URL, keeps the partial blob, and the next pull resumes it", async () => {
    const env = freshEnv();
    hub.cutOnce.set(`${denseRepo.repo}/model-00002-of-00002.safetensors`, 65_536);
    await assert.rejects(pullModel(denseRepo.repo, { env }), (e: unknown) => {
      assert.ok(e instanceof QwenrtError);
      assert.match(e.message, /model-00002-of-00002\.safetensors/);
      assert.match(e.message, /resume/);
      return true;
    });
    const part = join(repoDir(env, denseRepo.repo), "blobs", `${sha256Hex(shard2)}.incomplete`);
    const kept = statSync(part).size;
    assert.ok(kept > 0 && kept < shard2.length, `partial size ${kept}`);
    const from = hub.requests.length;
    const m = await pullModel(denseRepo.repo, { env });
    const ranges = hub.requests
      .slice(from)
      .filter((r) => r.server === "cdn" && r.path.endsWith("model-00002-of-00002.safetensors"))
      .map((r) => r.range);
    assert.deepEqual(ranges, [`bytes=${kept}-`]);
    assert.deepEqual(readFileSync(join(m.path, "model-00002-of-00002.safetensors")), shard2);
  });

  test("corrupt bytes fail the sha256 check, name the file and leave nothing behind", async () => {
    const env = freshEnv();
    const key = `${denseRepo.repo}/model-00001-of-00002.safetensors`;
    hub.corrupt.add(key);
    try {
      await assert.rejects(pullModel(denseRepo.repo, { env }), /model-00001-of-00002\.safetensors: sha256 mismatch/);
    } finally {
      hub.corrupt.delete(key);
    }
    const blobs = readdirSync(join(repoDir(env, denseRepo.repo), "blobs"));
    assert.ok(!blobs.some((b) => b.startsWith(sha256Hex(shard1))), "no blob or partial for the corrupt file");
  });

  test("a listing with a file name that climbs out of the repo is refused before anything is requested", async () => {
    const before = hub.fileRequests().length;
    await assert.rejects(pullModel(evilRepo.repo, { env: freshEnv({ HF_TOKEN: "hf_secret" }) }), /"\.\.\/\.\.\/.*qwenrt-pwned\.safetensors" is not a plain relative path inside the repo/);
    assert.equal(hub.fileRequests().length, before, "no file was requested (with or without the token)");
    assert.ok(!existsSync("/tmp/qwenrt-pwned.safetensors"));
  });

  test("a server that sends more than the listed size is cut off at that size, and nothing is kept", async () => {
    const env = freshEnv();
    const key = `${denseRepo.repo}/model-00001-of-00002.safetensors`;
    hub.oversize.set(key, 8 << 20);
    try {
      await assert.rejects(pullModel(denseRepo.repo, { env }), /model-00001-of-00002\.safetensors: the server sent more than the 300000 bytes the listing gives/);
    } finally {
      hub.oversize.delete(key);
    }
    const blobs = readdirSync(join(repoDir(env, denseRepo.repo), "blobs"));
    assert.ok(!blobs.some((b) => b.startsWith(sha256Hex(shard1))), "no blob or partial for the oversized file");
  });

  test("an unknown repo is an error naming it", async () => {
    await assert.rejects(pullModel("test-org/No-Such-Model", { env: freshEnv() }), /test-org\/No-Such-Model: repository not found/);
  });

  test("an unknown revision is an error naming it", async () => {
    await assert.rejects(pullModel(`${denseRepo.repo}@nope`, { env: freshEnv() }), /revision "nope" not found/);
  });

  test("a gated repo without HF_TOKEN says to set it; with it the token is sent to the Hub but not the CDN", async () => {
    await assert.rejects(pullModel(gatedRepo.repo, { env: freshEnv() }), /gated.*HF_TOKEN/);
    const from = hub.requests.length;
    const m = await pullModel(gatedRepo.repo, { env: freshEnv({ HF_TOKEN: "hf_secret_token" }) });
    assert.ok(m.source !== "local");
    assert.equal(m.commit, gatedRepo.commit);
    const seen = hub.requests.slice(from);
    assert.ok(seen.filter((r) => r.server === "hub").every((r) => r.authorization === "Bearer hf_secret_token"));
    assert.ok(seen.some((r) => r.server === "cdn"));
    assert.ok(seen.filter((r) => r.server === "cdn").every((r) => r.authorization === undefined));
  });

  test("offline mode uses the cache without requests, and names the repo when it is missing", async () => {
    const env = freshEnv();
    const online = await pullModel(denseRepo.repo, { env });
    const n = hub.requests.length;
    const offline = { ...env, HF_HUB_OFFLINE: "1" };
    const m = await pullModel(denseRepo.repo, { env: offline });
    assert.equal(m.path, online.path);
    assert.equal(m.source, "cache");
    assert.equal(await resolveModel(denseRepo.repo, { env: offline }), online.path);
    await assert.rejects(resolveModel(ggufRepo.repo + ":Q4_K_M", { env: offline }), /test-org\/Tiny-Qwen-GGUF:Q4_K_M: not in the Hugging Face cache.*HF_HUB_OFFLINE/);
    assert.equal(hub.requests.length, n);
  });

  test("offline mode reports a snapshot that lacks an indexed shard", async () => {
    const env = freshEnv();
    const m = await pullModel(denseRepo.repo, { env });
    rmSync(join(m.path, "model-00002-of-00002.safetensors"));
    await assert.rejects(resolveModel(denseRepo.repo, { env: { ...env, HF_HUB_OFFLINE: "1" } }), /lacks model-00002-of-00002\.safetensors/);
  });

  test("a quant tag downloads only the matching GGUF, case-insensitively", async () => {
    const env = freshEnv();
    const path = await resolveModel(`${ggufRepo.repo}:Q4_K_M`, { env });
    const snap = join(repoDir(env, ggufRepo.repo), "snapshots", GGUF_COMMIT);
    assert.equal(path, join(snap, "tiny-qwen-q4_k_m.gguf"));
    assert.deepEqual(readFileSync(path), q4);
    assert.deepEqual(readdirSync(snap), ["tiny-qwen-q4_k_m.gguf"]);
  });

  test("a split GGUF in a subfolder downloads every part and resolves to part 1", async () => {
    const env = freshEnv();
    const m = await pullModel(`${ggufRepo.repo}:q8_0`, { env });
    assert.ok(m.source !== "local");
    const snap = join(repoDir(env, ggufRepo.repo), "snapshots", GGUF_COMMIT);
    assert.equal(m.path, join(snap, "Q8_0", "Tiny-Qwen-Q8_0-00001-of-00002.gguf"));
    assert.deepEqual(m.files, ["Q8_0/Tiny-Qwen-Q8_0-00001-of-00002.gguf", "Q8_0/Tiny-Qwen-Q8_0-00002-of-00002.gguf"]);
    assert.equal(readlinkSync(m.path), `../../../blobs/${sha256Hex(q8a)}`);
    assert.deepEqual(readFileSync(join(snap, "Q8_0", "Tiny-Qwen-Q8_0-00002-of-00002.gguf")), q8b);
    const offline = await resolveModel(`${ggufRepo.repo}:Q8_0`, { env: { ...env, HF_HUB_OFFLINE: "1" } });
    assert.equal(offline, m.path);
  });

  test("files already cached by another revision are linked, not downloaded", async () => {
    const env = freshEnv();
    await pullModel(denseRepo.repo, { env });
    const from = hub.requests.length;
    const m = await pullModel(`${denseRepo.repo}@${COMMIT}`, { env });
    assert.ok(m.source !== "local");
    assert.equal(m.commit, COMMIT);
    assert.deepEqual(hub.requests.slice(from).filter((r) => r.path.includes("/resolve/") || r.server === "cdn"), []);
    assert.equal(existsSync(join(repoDir(env, denseRepo.repo), "refs", COMMIT)), false, "no ref file for a commit hash");
  });
});
