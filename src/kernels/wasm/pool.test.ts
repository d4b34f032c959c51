// The worker pool never keeps a process alive: a child that creates a threaded backend, runs a
// parallel job and disposes it must exit on its own (and so must one that never disposes).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const index = fileURLToPath(new URL("./index.ts", import.meta.url));

function runChild(dispose: boolean): { status: number | null; stdout: string; stderr: string } {
  const script = `
    import { createWasmBackend } from ${JSON.stringify(index)};
    const be = await createWasmBackend({ threads: 3 });
    const x = be.allocF32(4096), y = be.allocF32(4096);
    x.fill(1);
    be.siluMul(x, x, y, 4096 * 1); // 4096 values in chunks of 8192: main thread only
    const big = be.allocF32(1 << 16);
    big.fill(2);
    be.siluMul(big, big, big, 1 << 16); // several chunks: the workers run
    console.log(be.threads, big[0].toFixed(4));
    ${dispose ? "be.dispose();" : ""}
  `;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const dispose of [true, false]) {
  test(`a process with a threaded backend exits by itself${dispose ? " after dispose()" : " without dispose()"}`, () => {
    const r = runChild(dispose);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `3 ${(2 / (1 + Math.exp(-2)) * 2).toFixed(4)}`);
  });
}
