// Memory banks: the shared kernel case suite on banks of 128 KiB (weights spread over ~30 banks, some
// matrices split); a matrix larger than a bank split by rows gives the same bits as one bank in every
// kernel that reads it; KV caches in banks of their own, a layer's keys and values together; workers
// joining banks added after start; the bank size option and its environment variable.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { hostMatrix, seededFloats } from "../case_util.js";
import { kernelCases } from "../cases.js";
import type { WeightType } from "../types.js";
import { BANK_BYTES_ENV, DEFAULT_BANK_BYTES, WasmBackend, createWasmBackend, parseByteSize } from "./index.js";

async function wasm(opts: Parameters<typeof createWasmBackend>[0]): Promise<WasmBackend> {
  const be = await createWasmBackend(opts);
  assert.ok(be instanceof WasmBackend);
  return be;
}

const banked = await wasm({ threads: 2, bankBytes: 128 << 10 });
kernelCases(`${banked.name} threads=2, banks of 128 KiB`, () => banked);
test("the case suite above ran across many banks, with matrices split between them", () => {
  // Runs after the suite's tests (registered later); the backend's state outlives its dispose().
  const weights = banked.banks.filter((b) => b.role !== "kv");
  assert.ok(weights.length >= 10, `${weights.length} weight banks`);
  assert.ok(weights.some((b) => b.placed === 128 << 10), "a bank filled to the byte: a split matrix's part");
});

describe("a matrix larger than a bank", async () => {
  const one = await wasm({ threads: 2, bankBytes: DEFAULT_BANK_BYTES }); // one bank, also under QWENRT_WASM_BANK_BYTES
  const small = await wasm({ threads: 2, bankBytes: 64 << 10 });
  after(() => {
    one.dispose();
    small.dispose();
  });
  const cols = 256;
  const types: WeightType[] = ["f32", "bf16", "f16", "q8_0", "q4_0", "q5_0", "q4_k", "q5_k", "q6_k"];
  for (const type of types) {
    for (const rows of [1000, 998]) {
      test(`${type} [${rows}, ${cols}] is split by rows in whole quads, and matmul (n 1 and 5, bias), matmulMany, swiGlu and embed equal one bank's bits`, async () => {
        const host = hostMatrix(type, rows, cols, seededFloats(rows + cols, rows * cols));
        const host2 = hostMatrix(type, rows, cols, seededFloats(rows + cols + 1, rows * cols));
        const [a, b] = [small.loadMatrix(host), small.loadMatrix(host2)];
        const parts = small.placement(a);
        assert.ok(parts.length >= 2, `${parts.length} part(s)`);
        assert.equal(new Set(parts.map((p) => p.bank)).size, parts.length, "one part per bank");
        parts.forEach((p, i) => {
          assert.equal(p.first, i === 0 ? 0 : parts[i - 1]!.first + parts[i - 1]!.rows);
          if (i < parts.length - 1) assert.equal(p.rows % 4, 0, "parts end on a row quad");
        });
        assert.equal(parts.at(-1)!.first + parts.at(-1)!.rows, rows);
        const [a1, b1] = [one.loadMatrix(host), one.loadMatrix(host2)];
        assert.equal(one.placement(a1).length, 1);
        assert.equal(a.bytes, a1.bytes);
        const bias = seededFloats(7, rows);
        for (const n of [1, 5]) {
          const x = seededFloats(n, n * cols, 2);
          const run = (be: WasmBackend, w: typeof a, w2: typeof a): Float32Array[] => {
            const y = be.allocF32(n * rows), ys = [be.allocF32(n * rows), be.allocF32(n * rows)], g = be.allocF32(n * rows);
            const xt = be.loadVector(x);
            be.matmul(w, xt, n, y, be.loadVector(bias));
            be.matmulMany([w, w2], xt, n, ys);
            be.swiGlu(w, w2, xt, n, g);
            return [y, ...ys, g].map((t) => be.readSync(t));
          };
          const got = run(small, a, b), want = run(one, a1, b1);
          for (const [i, what] of ["matmul", "matmulMany[0]", "matmulMany[1]", "swiGlu"].entries()) {
            assert.deepEqual(got[i], want[i], `${what} n=${n}`);
          }
        }
        const ids = Int32Array.from([0, parts[0]!.rows - 1, parts[0]!.rows, parts.at(-1)!.first, rows - 1, 3]);
        const e = small.allocF32(ids.length * cols), e1 = one.allocF32(ids.length * cols);
        small.embed(a, ids, e);
        one.embed(a1, ids, e1);
        assert.deepEqual(small.readSync(e), one.readSync(e1), "embed across part boundaries");
      });
    }
  }

  test("a prefill-sized batch on a bank other than the home one runs in row chunks: same bits, staging bounded", async () => {
    const be = await wasm({ threads: 2, bankBytes: 4 << 20 });
    try {
      be.loadMatrix(hostMatrix("bf16", 2000, 1024, seededFloats(1, 2000 * 1024))); // fills the home bank
      const [rows, cols, n] = [30000, 32, 200]; // SwiGLU unchunked: three 200 × 30000 staging slots, 72 MB
      const hosts = [1, 2].map((s) => hostMatrix("bf16", rows, cols, seededFloats(s + 10, rows * cols)));
      const [a, b] = hosts.map((h) => be.loadMatrix(h));
      const bank = be.placement(a!)[0]!.bank;
      assert.ok(bank !== 0 && be.placement(a!).length === 1 && be.placement(b!)[0]!.bank === bank, "both whole, in one bank outside the home one");
      const [a1, b1] = hosts.map((h) => one.loadMatrix(h));
      const x = seededFloats(3, n * cols, 2);
      for (const [label, run] of [
        ["matmul", (e: WasmBackend, w: typeof a, _w2: typeof a, xt: ReturnType<WasmBackend["loadVector"]>, y: Float32Array) => e.matmul(w!, xt, n, y)],
        ["swiGlu", (e: WasmBackend, w: typeof a, w2: typeof a, xt: ReturnType<WasmBackend["loadVector"]>, y: Float32Array) => e.swiGlu(w!, w2!, xt, n, y)],
      ] as const) {
        const y = be.allocF32(n * rows), y1 = one.allocF32(n * rows);
        run(be, a, b, be.loadVector(x), y);
        run(one, a1, b1, one.loadVector(x), y1);
        assert.deepEqual(be.readSync(y), one.readSync(y1), label);
        be.freeF32(y);
      }
      const info = be.banks[bank]!;
      assert.ok(info.end - info.placed < 40 << 20, `staging in bank ${bank}: ${((info.end - info.placed) / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      be.dispose();
    }
  });

  test("weights fill the home bank first, then further banks; a matrix that fits a bank stays whole", async () => {
    const be = await wasm({ threads: 1, bankBytes: 64 << 10 });
    try {
      const m = (rows: number) => be.loadMatrix(hostMatrix("f32", rows, 64, seededFloats(rows, rows * 64)));
      const first = be.placement(m(100)); // 25.6 KB
      const second = be.placement(m(100));
      const third = be.placement(m(100)); // does not fit what is left of the home bank: a new one
      assert.deepEqual([first, second].map((p) => p.map((x) => x.bank)), [[0], [0]]);
      assert.equal(third.length, 1);
      assert.notEqual(third[0]!.bank, 0);
      assert.equal(be.banks[third[0]!.bank]!.role, "weights");
    } finally {
      be.dispose();
    }
  });
});

describe("KV caches", async () => {
  test("live in banks of their own; a layer's keys and values share one; a full bank opens another; attention there equals one bank's", async () => {
    const be = await wasm({ threads: 2, bankBytes: 64 << 10 });
    const one = await wasm({ threads: 2, bankBytes: DEFAULT_BANK_BYTES }); // one bank, also under QWENRT_WASM_BANK_BYTES
    try {
      const [kvHeads, cap, hd, heads] = [2, 256, 16, 4]; // 8192 halves = 16 KiB per buffer
      const pairs = Array.from({ length: 5 }, () => [be.allocKv(kvHeads * cap * hd), be.allocKv(kvHeads * cap * hd)] as const);
      const banksOf = pairs.map(([k, v]) => [be.bankOf(k)!, be.bankOf(v)!]);
      for (const [k, v] of banksOf) {
        assert.equal(k, v, "keys and values in one bank");
        assert.equal(be.banks[k]!.role, "kv");
      }
      assert.ok(new Set(banksOf.map(([k]) => k)).size >= 2, "64 KiB banks of 32 KiB pairs: more than one KV bank");
      assert.ok(!banksOf.some(([k]) => k === 0) && be.bankOf(be.allocF32(4)) === 0, "activations in the home bank, caches elsewhere");
      const kvBank = banksOf[0]![0]!;
      const placed = be.banks[kvBank]!.placed;
      be.freeKv(pairs[0]![0]);
      assert.equal(be.banks[kvBank]!.placed, placed - kvHeads * cap * hd * 2);

      const n = 3, start = 40;
      const src = seededFloats(5, (start + n) * kvHeads * hd);
      const q = seededFloats(6, n * heads * hd);
      const attend = (b: WasmBackend, k: ReturnType<WasmBackend["allocKv"]>, v: ReturnType<WasmBackend["allocKv"]>): Float32Array => {
        b.writeKv(b.loadVector(src), start + n, kvHeads, hd, k, cap, 0);
        b.writeKv(b.loadVector(src.map((x) => -x)), start + n, kvHeads, hd, v, cap, 0);
        const out = b.allocF32(q.length);
        b.attention(b.loadVector(q), k, v, n, start, cap, heads, kvHeads, hd, 0.25, out);
        return b.readSync(out);
      };
      const [k4, v4] = pairs[4]!;
      assert.deepEqual(attend(be, k4, v4), attend(one, one.allocKv(k4.length), one.allocKv(v4.length)));
    } finally {
      be.dispose();
      one.dispose();
    }
  });
});

test("workers instantiate the kernels on a bank added after start, once they meet one of its jobs", async () => {
  const be = await wasm({ threads: 2, bankBytes: 64 << 10 });
  try {
    be.loadMatrix(hostMatrix("f32", 200, 64, seededFloats(1, 200 * 64))); // 51 KB: the home bank
    const w = be.loadMatrix(hostMatrix("f32", 256, 64, seededFloats(2, 256 * 64))); // 64 KiB: a new bank
    const bank = be.placement(w)[0]!.bank;
    assert.notEqual(bank, 0);
    const x = be.loadVector(seededFloats(3, 64)), y = be.allocF32(256);
    for (let i = 0; i < 200 && be.banks[bank]!.threads < 2; i++) {
      be.matmul(w, x, 1, y); // several chunks: a parallel job on the new bank
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(be.banks[bank]!.threads, 2);
  } finally {
    be.dispose();
  }
});

test("bankBytes is checked, and QWENRT_WASM_BANK_BYTES sets its default", async () => {
  assert.equal(parseByteSize("16M"), 16 << 20);
  assert.equal(parseByteSize("65536"), 65536);
  assert.equal(parseByteSize("2GiB"), 2 * 2 ** 30);
  assert.equal(parseByteSize("lots"), undefined);
  await assert.rejects(createWasmBackend({ threads: 1, bankBytes: 1000 }), /bankBytes: must be an integer from 65536/);
  const saved = process.env[BANK_BYTES_ENV];
  try {
    process.env[BANK_BYTES_ENV] = "64K";
    const be = await wasm({ threads: 1 });
    be.loadMatrix(hostMatrix("f32", 300, 64, seededFloats(4, 300 * 64))); // 75 KB > 64 KiB: split
    assert.equal(be.banks.filter((b) => b.role !== "kv").length, 2);
    be.dispose();
    process.env[BANK_BYTES_ENV] = "huge";
    await assert.rejects(createWasmBackend({ threads: 1 }), /QWENRT_WASM_BANK_BYTES: must be a size/);
  } finally {
    if (saved === undefined) delete process.env[BANK_BYTES_ENV];
    else process.env[BANK_BYTES_ENV] = saved;
  }
});
