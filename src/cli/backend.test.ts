import assert from "node:assert/strict";
import { test } from "node:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openWebGpu } from "../../test/helpers/webgpu.js";
import { backendDetail, createBackend, loadOptionsOf, parseBackendFlags, withDefaultDtype } from "./backend.js";

test("parseBackendFlags: --kv-type f16|f32 passes through, other values and f16 on ref are named errors", () => {
  assert.equal(parseBackendFlags({ "kv-type": "f32", threads: "2" }).kv, "f32");
  assert.equal(parseBackendFlags({ "kv-type": "f16", threads: "2" }).kv, "f16");
  assert.equal(parseBackendFlags({ threads: "2" }).kv, undefined); // the backend's default (wasm: f16)
  assert.deepEqual(parseBackendFlags({ backend: "ref", "kv-type": "f32", threads: "1" }), { kind: "ref", threads: 1, kv: "f32" });
  assert.throws(() => parseBackendFlags({ "kv-type": "q8_0" }), { name: "QwenrtError", message: /^--kv-type: must be f16 or f32, got "q8_0"/ });
  assert.throws(() => parseBackendFlags({ backend: "ref", "kv-type": "f16" }), { name: "QwenrtError", message: /^--kv-type: f16 needs --backend wasm/ });
});

test("parseBackendFlags: --backend takes wasm, webgpu, auto and ref; --dtype only with wasm", () => {
  for (const kind of ["wasm", "webgpu", "auto", "ref"]) assert.equal(parseBackendFlags({ backend: kind, threads: "1" }).kind, kind);
  assert.equal(parseBackendFlags({ backend: "webgpu", "kv-type": "f32", threads: "1" }).kv, "f32");
  assert.throws(() => parseBackendFlags({ backend: "cuda" }), { name: "QwenrtError", message: /^--backend: must be wasm, webgpu, auto or ref, got "cuda"/ });
  assert.throws(() => parseBackendFlags({ backend: "webgpu", dtype: "q8_0" }), { name: "QwenrtError", message: /^--dtype: needs --backend wasm \(webgpu runs the checkpoint's own types\)/ });
  assert.throws(() => parseBackendFlags({ backend: "auto", dtype: "q4_0" }), { name: "QwenrtError", message: /^--dtype: needs --backend wasm/ });
});

test("createBackend auto: wasm when WebGPU has no adapter, the reason kept for the start-up line", async () => {
  const be = await createBackend({ kind: "auto", threads: 1 }, async () => ({ requestAdapter: async () => null }));
  try {
    assert.match(be.name, /^wasm/);
    assert.equal(backendDetail(be), "auto: webgpu: no WebGPU adapter found (no GPU, or no driver WebGPU can use)");
  } finally {
    be.dispose();
  }
});

test("createBackend auto: webgpu when this machine has an adapter, named in the start-up line; else wasm saying why", async () => {
  const probe = await openWebGpu();
  const be = await createBackend({ kind: "auto", threads: 1 });
  try {
    if (typeof probe === "string") {
      assert.match(be.name, /^wasm/);
      assert.equal(backendDetail(be), `auto: ${probe}`);
    } else {
      assert.equal(be.name, "webgpu");
      assert.equal(backendDetail(be), `auto: ${probe.adapter}`);
    }
  } finally {
    if (typeof probe !== "string") probe.dispose();
    be.dispose();
  }
});

test("parseBackendFlags: --dtype goes through the quantized-weights cache unless --no-quant-cache", () => {
  assert.deepEqual(loadOptionsOf(parseBackendFlags({ dtype: "q4_k", threads: "2" }), () => undefined).quantize?.cache, true);
  assert.deepEqual(loadOptionsOf(parseBackendFlags({ dtype: "q4_k", threads: "2", "no-quant-cache": true }), () => undefined).quantize?.cache, false);
  assert.equal(loadOptionsOf(parseBackendFlags({ threads: "2" })).quantize, undefined);
  assert.throws(() => parseBackendFlags({ dtype: "keep", "no-quant-cache": true }), { name: "QwenrtError", message: /^--no-quant-cache: conflicts with --dtype keep/ });
  assert.throws(() => parseBackendFlags({ dtype: "q5" }), { name: "QwenrtError", message: /^--dtype: must be q8_0, q4_0, q4_k or keep, got "q5"/ });
});

test("withDefaultDtype: a float checkpoint (a directory) runs as q8_0 on wasm unless --dtype is given or keep; a GGUF file and other backends keep their types", () => {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-default-dtype-"));
  const gguf = join(dir, "m.gguf");
  writeFileSync(gguf, "");
  const said: string[] = [];
  const log = (l: string): void => void said.push(l);
  assert.equal(withDefaultDtype(parseBackendFlags({}), dir, log).dtype, "q8_0");
  assert.deepEqual(said, ["q8_0 on load (the default for float checkpoints; --dtype keep runs the checkpoint's own types)"]);
  const noCache = withDefaultDtype(parseBackendFlags({ "no-quant-cache": true }), dir, log);
  assert.equal(loadOptionsOf(noCache, log).quantize?.cache, false);
  assert.equal(withDefaultDtype(parseBackendFlags({ dtype: "q4_0" }), dir, log).dtype, "q4_0");
  assert.equal(withDefaultDtype(parseBackendFlags({ dtype: "keep" }), dir, log).dtype, undefined);
  assert.equal(withDefaultDtype(parseBackendFlags({}), gguf, log).dtype, undefined);
  assert.equal(withDefaultDtype(parseBackendFlags({ backend: "ref" }), dir, log).dtype, undefined);
  assert.equal(said.length, 2, "said once per default applied");
});
