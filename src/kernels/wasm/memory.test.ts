// The wasm heap's free-list allocator: reuse, coalescing, the top coming back down, misuse errors.
// (Model sequences and the prefix cache on this heap: engine/sequence-memory.test.ts.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QwenrtError } from "../../util/errors.js";
import { WasmHeap } from "./memory.js";
import { wasmApi } from "./wasm_api.js";

function heap(): WasmHeap {
  return new WasmHeap(new wasmApi.Memory({ initial: 1, maximum: 1024, shared: true }), 1024);
}

describe("WasmHeap", () => {
  test("a freed block is reused by the next allocation that fits, and the top does not move", () => {
    const h = heap();
    const a = h.alloc(1000), b = h.alloc(5000), c = h.alloc(100);
    const end = h.end;
    h.release(b);
    const d = h.alloc(4000);
    assert.equal(d, b);
    assert.equal(h.end, end);
    assert.ok(a < b && b < c);
  });

  test("neighbouring free blocks coalesce, and a free block at the top lowers it", () => {
    const h = heap();
    const start = h.end;
    const a = h.alloc(640), b = h.alloc(640), c = h.alloc(640), guard = h.alloc(64);
    h.release(a);
    h.release(c);
    h.release(b); // a, b, c merge into one span
    assert.equal(h.alloc(1920), a);
    h.release(a);
    h.release(guard); // everything free: the top returns to where it started
    assert.equal(h.end, start);
    assert.equal(h.used, start);
    assert.equal(h.blocks, 0);
  });

  test("allocations stay aligned when carved from a free span", () => {
    const h = heap();
    const a = h.alloc(100);
    h.alloc(64);
    h.release(a);
    for (const align of [16, 64, 256]) {
      const p = h.alloc(8, align);
      assert.equal(p % align, 0);
    }
  });

  test("double free and freeing an address never handed out throw QwenrtError", () => {
    const h = heap();
    const a = h.alloc(64);
    h.release(a);
    assert.throws(() => h.release(a), QwenrtError);
    assert.throws(() => h.release(a + 4), QwenrtError);
  });

  test("random alloc/free sequences never overlap live blocks and end with an empty heap", () => {
    const h = heap();
    const start = h.end;
    let s = 12345;
    const rnd = (n: number): number => ((s = (s * 1103515245 + 12345) % 2147483648), s % n);
    const live: { p: number; n: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      if (live.length > 0 && rnd(3) === 0) {
        const { p } = live.splice(rnd(live.length), 1)[0]!;
        h.release(p);
      } else {
        const n = 1 + rnd(5000);
        const p = h.alloc(n, 1 << rnd(8));
        for (const o of live) assert.ok(p + n <= o.p || o.p + o.n <= p, `overlap at ${p}`);
        live.push({ p, n });
      }
    }
    for (const { p } of live) h.release(p);
    assert.equal(h.end, start);
  });
});
