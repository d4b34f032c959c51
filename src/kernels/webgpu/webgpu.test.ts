// The shared kernel case suite against ref on the WebGPU backend: with the adapter's optional
// features (f16 KV cache, subgroup sums) and without them (f32 cache, workgroup-memory sums); then
// what is particular to a device: matrices split over several bindings, limits and errors. Where no
// adapter exists the tests skip saying why, unless QWENRT_REQUIRE_WEBGPU=1 (CI) makes that a failure.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { openWebGpu, noWebGpu } from "../../../test/helpers/webgpu.js";
import { QwenrtError } from "../../util/errors.js";
import { assertClose, hostMatrix, kernelCases, seededFloats } from "../cases.js";
import { createRefBackend } from "../ref/index.js";
import type { WeightType } from "../types.js";
import { createWebGpuBackend, nodeGpu, type WebGpuBackend } from "./index.js";

const full = await openWebGpu({});
const plain = typeof full === "string" ? full : await openWebGpu({ kv: "f32", subgroups: false });
const dev = typeof full === "string" ? full : await openWebGpu({});
const small = typeof full === "string" ? full : await openWebGpu({ maxBindingBytes: 4096 });
if (typeof full === "string" || typeof plain === "string" || typeof dev === "string" || typeof small === "string") {
  noWebGpu("webgpu kernel cases", String([full, plain, dev, small].find((b) => typeof b === "string")));
} else {
  kernelCases(`webgpu ${full.kvType} KV${full.features.subgroups ? ", subgroups" : ""} (${full.adapter})`, () => full);
  kernelCases(`webgpu ${plain.kvType} KV, no subgroups`, () => plain);
  deviceCases(dev, small); // kernelCases disposes its backends when its suite ends
}

function deviceCases(be: WebGpuBackend, small: WebGpuBackend): void {
  describe("webgpu device specifics", () => {
    const ref = createRefBackend();
    after(() => {
      be.dispose();
      small.dispose();
    });
    const upload = (b: WebGpuBackend, data: Float32Array) => {
      const t = b.allocF32(data.length);
      b.write(t, data);
      return t;
    };

    const types: WeightType[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"];
    for (const type of types) {
      for (const n of [1, 7]) {
        test(`matmul ${type} over 4 KiB bindings (matrix in parts, x in chunks) equals the unsplit result and ref, n=${n}`, async () => {
          const [rows, cols] = [37, 256];
          const host = hostMatrix(type, rows, cols, seededFloats(rows + n, rows * cols));
          const xh = seededFloats(5 + n, n * cols, 2);
          const bias = seededFloats(6, rows);
          const ys = await Promise.all(
            [be, small].map((b) => {
              const y = b.allocF32(n * rows);
              b.matmul(b.loadMatrix(host), upload(b, xh), n, y, b.loadVector(bias));
              return b.read(y);
            }),
          );
          assert.deepEqual(ys[1], ys[0], "split vs unsplit");
          const want = new Float32Array(n * rows);
          ref.matmul(ref.loadMatrix(host), xh, n, want, bias);
          assertClose(ys[0]!, want, 2e-5 * Math.sqrt(cols), 2e-5, "matmul");
        });
      }
    }

    for (const type of ["q4_1", "q5_1"] as const) {
      test(`embed ${type} (types beyond the shared suite's) equals the format's dequantization exactly`, async () => {
        const host = hostMatrix(type, 6, 64, seededFloats(12, 6 * 64));
        const ids = Int32Array.of(5, 0, 3);
        const out = be.allocF32(ids.length * 64);
        be.embed(be.loadMatrix(host), ids, out);
        const want = new Float32Array(out.length);
        ref.embed(ref.loadMatrix(host), ids, want);
        assert.deepEqual(await be.read(out), want);
      });
    }

    test("moe with 256-column experts (tiled kernels over each expert's rows, dispatched indirectly) matches ref", async () => {
      const [E, hidden, inter, n, topK] = [4, 256, 256, 7, 2];
      const m = (rows: number, cols: number, seed: number) => hostMatrix("q4_k", rows, cols, seededFloats(seed, rows * cols, 0.5));
      const router = hostMatrix("f32", E, hidden, seededFloats(20, E * hidden, 0.5));
      const experts = Array.from({ length: E }, (_, e) => ({ gate: m(inter, hidden, 30 + e), up: m(inter, hidden, 40 + e), down: m(hidden, inter, 50 + e) }));
      const load = (b: typeof be | typeof ref) => ({
        router: b.loadMatrix(router),
        experts: experts.map((x) => ({ gate: b.loadMatrix(x.gate), up: b.loadMatrix(x.up), down: b.loadMatrix(x.down) })),
        topK,
        normalize: true,
      });
      const xh = seededFloats(60, n * hidden, 2);
      const out = be.allocF32(n * hidden);
      be.moe(load(be), upload(be, xh), n, out);
      const want = new Float32Array(n * hidden);
      ref.moe(load(ref), xh, n, want);
      assertClose(await be.read(out), want, 4 * 2e-5 * Math.sqrt(hidden + inter), 1e-4, "moe");
    });

    test("embed across the parts of a split matrix equals ref exactly", async () => {
      const host = hostMatrix("q6_k", 40, 256, seededFloats(3, 40 * 256));
      const ids = Int32Array.of(39, 0, 17, 39, 21, 2);
      const out = small.allocF32(ids.length * 256);
      small.embed(small.loadMatrix(host), ids, out);
      const want = new Float32Array(out.length);
      ref.embed(ref.loadMatrix(host), ids, want);
      assert.deepEqual(await small.read(out), want);
    });

    test("a tensor past the binding limit is a QwenrtError naming the limit, at the call", () => {
      const a = small.allocF32(2048);
      assert.throws(() => small.add(a, a, a, 2048), (e: unknown) => e instanceof QwenrtError && /over the adapter's maxStorageBufferBindingSize of 4\.0 KiB/.test(e.message));
    });

    test("a tensor past maxBufferSize is a QwenrtError naming the limit", () => {
      const words = Math.floor(Number.MAX_SAFE_INTEGER / 8);
      assert.throws(() => be.allocF32(words), (e: unknown) => e instanceof QwenrtError && /over the adapter's maxBufferSize/.test(e.message) && e.code === "out_of_memory");
    });

    test("a backend used after dispose says so", async () => {
      const b = await createWebGpuBackend({ gpu: await nodeGpu() });
      const t = b.allocF32(4);
      b.dispose();
      await assert.rejects(b.read(t), (e: unknown) => e instanceof QwenrtError && e.message === "webgpu: the backend was disposed");
    });

    test("reads are asynchronous only (no readSync), and matrices report the bytes they hold", () => {
      assert.equal(be.readSync, undefined);
      const m = be.loadMatrix(hostMatrix("q4_k", 3, 256, seededFloats(1, 768)));
      assert.deepEqual([m.type, m.rows, m.cols, m.bytes], ["q4_k", 3, 256, 3 * 144]);
    });

    test("a matrix type without kernels is refused naming the types there are", () => {
      assert.throws(() => be.loadMatrix(hostMatrix("q2_k", 1, 256, seededFloats(1, 256))), (e: unknown) => e instanceof QwenrtError && /no q2_k kernels \(it takes f32, f16, bf16, q8_0/.test(e.message));
    });
  });
}
