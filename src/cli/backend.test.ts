import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBackendFlags } from "./backend.js";

test("parseBackendFlags: --kv-type f16|f32 passes through, other values and f16 on ref are named errors", () => {
  assert.equal(parseBackendFlags({ "kv-type": "f32", threads: "2" }).kv, "f32");
  assert.equal(parseBackendFlags({ "kv-type": "f16", threads: "2" }).kv, "f16");
  assert.equal(parseBackendFlags({ threads: "2" }).kv, undefined); // the backend's default (wasm: f16)
  assert.deepEqual(parseBackendFlags({ backend: "ref", "kv-type": "f32", threads: "1" }), { kind: "ref", threads: 1, kv: "f32", quantCache: true });
  assert.throws(() => parseBackendFlags({ "kv-type": "q8_0" }), { name: "QwenrtError", message: /^--kv-type: must be f16 or f32, got "q8_0"/ });
  assert.throws(() => parseBackendFlags({ backend: "ref", "kv-type": "f16" }), { name: "QwenrtError", message: /^--kv-type: f16 needs --backend wasm/ });
});

test("parseBackendFlags: --dtype goes through the quantized-weights cache unless --no-quant-cache", () => {
  assert.equal(parseBackendFlags({ dtype: "q4_k", threads: "2" }).quantCache, true);
  assert.equal(parseBackendFlags({ dtype: "q4_k", threads: "2", "no-quant-cache": true }).quantCache, false);
  assert.throws(() => parseBackendFlags({ "no-quant-cache": true }), { name: "QwenrtError", message: /^--no-quant-cache: only applies with --dtype/ });
});
