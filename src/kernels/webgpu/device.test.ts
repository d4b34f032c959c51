// openDevice's failures are one QwenrtError line naming what is missing (no GPU needed for these).
import assert from "node:assert/strict";
import { test } from "node:test";
import { QwenrtError } from "../../util/errors.js";
import { openDevice } from "./device.js";

test("openDevice without navigator.gpu or a gpu option says WebGPU is missing", async () => {
  assert.equal(Reflect.get(globalThis, "navigator")?.gpu, undefined, "this test needs a global scope without navigator.gpu");
  await assert.rejects(openDevice(), (e: unknown) => e instanceof QwenrtError && /^webgpu: no WebGPU implementation found/.test(e.message) && e.code === "unsupported");
});

test("openDevice when the GPU object offers no adapter says so", async () => {
  const gpu = { requestAdapter: async () => null };
  await assert.rejects(openDevice({ gpu }), (e: unknown) => e instanceof QwenrtError && e.message === "webgpu: no WebGPU adapter found (no GPU, or no driver WebGPU can use)");
});

test("openDevice names a limit the adapter lacks, and the adapter", async () => {
  const limits = { maxComputeInvocationsPerWorkgroup: 128, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384, maxStorageBuffersPerShaderStage: 8, maxComputeWorkgroupsPerDimension: 65535 };
  const adapter = { info: { vendor: "acme", architecture: "", device: "tiny", description: "" }, limits, features: new Set<string>() };
  // A stand-in adapter: openDevice must reject it before asking it for a device.
  const gpu = { requestAdapter: async () => adapter as unknown as GPUAdapter };
  await assert.rejects(openDevice({ gpu }), (e: unknown) => e instanceof QwenrtError && e.message === 'webgpu: adapter "acme tiny" has maxComputeInvocationsPerWorkgroup 128, the kernels need 256');
});
