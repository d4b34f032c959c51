/**
 * Test helper: a WebGPU backend on the machine's adapter (Node's `webgpu` package), or the reason
 * there is none. Test files skip saying that reason, unless QWENRT_REQUIRE_WEBGPU=1 (set by CI,
 * which installs a software adapter) turns a missing adapter into a failure.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createWebGpuBackend, nodeGpu, type WebGpuBackend, type WebGpuOptions } from "../../src/kernels/webgpu/index.js";
import { errorMessage } from "../../src/util/errors.js";

/** A backend with `opts` on Node's WebGPU, or the one-line reason it could not be made. */
export async function openWebGpu(opts: WebGpuOptions = {}): Promise<WebGpuBackend | string> {
  try {
    return await createWebGpuBackend({ gpu: await nodeGpu(), ...opts });
  } catch (e) {
    return errorMessage(e);
  }
}

/** Register the test that stands in for a suite that cannot run: a skip naming `why`, or under
 * QWENRT_REQUIRE_WEBGPU=1 a failure. */
export function noWebGpu(suite: string, why: string): void {
  if (process.env.QWENRT_REQUIRE_WEBGPU === "1") test(`${suite}: a WebGPU adapter is available (QWENRT_REQUIRE_WEBGPU=1)`, () => assert.fail(why));
  else test(suite, { skip: `no WebGPU: ${why}` }, () => {});
}
