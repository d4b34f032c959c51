import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { hubCacheDir, hubSettings, qwenrtCacheDir } from "./env.js";

test("the cache dir follows huggingface_hub's precedence", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/c", HF_HOME: "/h" }), "/c");
  assert.equal(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/legacy", HF_HOME: "/h" }), "/legacy");
  assert.equal(hubCacheDir({ HF_HOME: "/h" }), join("/h", "hub"));
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/x" }), join("/x", "huggingface", "hub"));
  assert.equal(hubCacheDir({}), join(homedir(), ".cache", "huggingface", "hub"));
});

test("qwenrt's cache sits beside the Hugging Face home unless QWENRT_CACHE_DIR says otherwise", () => {
  assert.equal(qwenrtCacheDir({}), join(homedir(), ".cache", "qwenrt"));
  assert.equal(qwenrtCacheDir({ XDG_CACHE_HOME: "/x" }), join("/x", "qwenrt"));
  assert.equal(qwenrtCacheDir({ HF_HOME: "/data/hf" }), join("/data", "qwenrt"));
  assert.equal(qwenrtCacheDir({ HF_HOME: "/data/hf", QWENRT_CACHE_DIR: "/q" }), "/q");
});

test("endpoint, offline flag and token come from the environment", () => {
  const home = mkdtempSync(join(tmpdir(), "qwenrt-env-"));
  try {
    const s = hubSettings({ HF_ENDPOINT: "http://127.0.0.1:9/", HF_HOME: home, HF_HUB_OFFLINE: "yes" });
    assert.equal(s.endpoint, "http://127.0.0.1:9");
    assert.equal(s.offline, true);
    assert.equal(s.token, undefined);
    assert.equal(hubSettings({ HF_HOME: home, HF_HUB_OFFLINE: "0" }).offline, false);
    assert.equal(hubSettings({ HF_HOME: home }).endpoint, "https://huggingface.co");
    assert.throws(() => hubSettings({ HF_HOME: home, HF_ENDPOINT: "localhost:8080" }), /HF_ENDPOINT: must be an http\(s\) URL/);
    writeFileSync(join(home, "token"), "hf_from_file\n");
    assert.equal(hubSettings({ HF_HOME: home }).token, "hf_from_file");
    assert.equal(hubSettings({ HF_HOME: home, HF_TOKEN: "hf_env" }).token, "hf_env");
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
