/**
 * The library's `generate()` on a real model (wasm backend) in a child process: between model steps
 * the event loop runs, so a 10 ms timer ticks and a SIGTERM handler that aborts the signal stops the
 * generation (issue 16, item 4).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { completeModelDir } from "../../test/helpers/complete-model.js";

const root = new URL("../..", import.meta.url).pathname;

test("generate() yields between steps: timers tick, a SIGTERM handler aborts it", { timeout: 120_000 }, async () => {
  const dir = completeModelDir("qwen3-dense-tiny");
  const code = `
    import { openModel, createWasmBackend, generate } from "./src/index.ts";
    const { model, tokenizer } = await openModel(${JSON.stringify(dir)}, { backend: await createWasmBackend({ threads: 1 }) });
    const ac = new AbortController();
    process.on("SIGTERM", () => ac.abort(new Error("SIGTERM")));
    let ticks = 0;
    setInterval(() => ticks++, 10).unref();
    let n = 0;
    try {
      for await (const _ of generate(model, tokenizer, tokenizer.encode("hi"), { maxTokens: 1000000, ignoreEos: true, temperature: 0, signal: ac.signal })) {
        if (++n === 20) console.log("started");
      }
      console.log(JSON.stringify({ finished: n }));
    } catch (e) {
      console.log(JSON.stringify({ aborted: e.message, n, ticks }));
    }
    model.backend.dispose();`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: root });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    for (const deadline = Date.now() + 60_000; !out.includes("started"); ) {
      if (Date.now() > deadline) throw new Error(`generation did not start:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    child.kill("SIGTERM");
    const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
    assert.equal(code, 0, `exit ${String(code)} after ${Date.now() - t0} ms\n${out}\n${err}`);
    const r = JSON.parse(out.trim().split("\n").pop()!) as { aborted?: string; n: number; ticks: number };
    assert.equal(r.aborted, "SIGTERM");
    assert.ok(r.ticks >= 10, `a 10 ms timer ticked ${r.ticks} times over ${r.n} tokens`);
  } finally {
    child.kill("SIGKILL");
  }
});
