/**
 * Decode profiler: loads a model directory on the wasm backend and reports decode tok/s (median of
 * trials) and, with --profile, time per kernel call kind (matmul by shape, attention, norms, rope,
 * LM head) and the JS time between kernel calls.
 *
 *   node --import tsx bench/decode-profile.ts .bench/qwen3-0.6b --dtype q8_0 --threads 2 --tokens 32 --trials 3 [--kv f16|f32] [--profile]
 */
import { parseArgs } from "node:util";
import { createWasmBackend, type WasmDtype } from "../src/kernels/wasm/index.js";
import type { KernelBackend, Matrix } from "../src/kernels/types.js";
import { loadModel } from "../src/models/load.js";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    dtype: { type: "string" },
    kv: { type: "string", default: "f16" },
    threads: { type: "string", default: "2" },
    tokens: { type: "string", default: "32" },
    prompt: { type: "string", default: "16" },
    trials: { type: "string", default: "3" },
    profile: { type: "boolean", default: false },
  },
});
const dir = positionals[0];
if (dir === undefined) throw new Error("usage: decode-profile.ts <model dir> [--dtype q8_0|q4_0] [--threads N] [--profile]");
const dtype = values.dtype as WasmDtype | undefined;
const tokens = Number(values.tokens), promptLen = Number(values.prompt), trials = Number(values.trials);

if (values.kv !== "f16" && values.kv !== "f32") throw new Error(`--kv must be f16 or f32, got "${values.kv}"`);
const raw = await createWasmBackend({ threads: Number(values.threads), dtype, kv: values.kv });
const timings = new Map<string, { ms: number; calls: number }>();
let backend: KernelBackend = raw;
let lastEnd = 0;
if (values.profile) {
  const rec = (key: string, t0: number): void => {
    const t1 = performance.now();
    const e = timings.get(key) ?? { ms: 0, calls: 0 };
    e.ms += t1 - t0;
    e.calls++;
    timings.set(key, e);
    if (lastEnd > 0) {
      const js = timings.get("(js between calls)") ?? { ms: 0, calls: 0 };
      js.ms += t0 - lastEnd;
      js.calls++;
      timings.set("(js between calls)", js);
    }
    lastEnd = t1;
  };
  backend = new Proxy(raw, {
    get(target, prop, recv) {
      const v: unknown = Reflect.get(target, prop, recv);
      if (typeof v !== "function" || prop === "allocF32" || prop === "loadMatrix" || prop === "loadMatrixFrom" || prop === "dispose") return typeof v === "function" ? v.bind(target) : v;
      const fn = v as (...a: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const t0 = performance.now();
        const r = fn.apply(target, args);
        let key = String(prop);
        if (prop === "matmul" || prop === "matmulMany") {
          const ms = (prop === "matmul" ? [args[0]] : (args[0] as Matrix[])) as Matrix[];
          key = `${String(prop)} ${ms.map((m) => `${m.type}[${m.rows}x${m.cols}]`).join("+")}`;
        } else if (prop === "rmsNorm") key = `rmsNorm dim=${String(args[4])}`;
        rec(key, t0);
        return r;
      };
    },
  });
}
const t0 = performance.now();
const model = await loadModel(dir, { backend });
console.log(`loaded ${dir} (${dtype ?? "native"}, ${raw.name}, threads ${raw.threads}, KV ${raw.kvType}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const results: number[] = [];
const prefill: number[] = [];
let prefillTimings = new Map<string, { ms: number; calls: number }>();
for (let trial = 0; trial < trials; trial++) {
  const seq = model.newSequence(promptLen + tokens + 8);
  const prompt = Int32Array.from({ length: promptLen }, (_, i) => (i * 7919 + trial * 31) % model.config.vocabSize);
  timings.clear();
  lastEnd = 0;
  const p0 = performance.now();
  let [logits] = model.forward([{ seq, ids: prompt }]);
  prefill.push(promptLen / ((performance.now() - p0) / 1000));
  prefillTimings = new Map(timings);
  timings.clear();
  lastEnd = 0;
  const s = performance.now();
  for (let t = 0; t < tokens; t++) {
    let best = 0;
    const row = logits!;
    for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
    [logits] = model.forward([{ seq, ids: Int32Array.of(best) }]);
    lastEnd = 0;
  }
  const sec = (performance.now() - s) / 1000;
  results.push(tokens / sec);
  model.release?.(seq);
}
results.sort((a, b) => a - b);
prefill.sort((a, b) => a - b);
console.log(`prefill pp${promptLen}: median ${prefill[Math.floor(prefill.length / 2)]!.toFixed(1)} tok/s (first trial includes warm-up)`);
console.log(`decode tg${tokens}: median ${results[Math.floor(results.length / 2)]!.toFixed(2)} tok/s, best ${results[results.length - 1]!.toFixed(2)} (trials: ${results.map((r) => r.toFixed(2)).join(", ")})`);
if (values.profile) {
  const ptotal = [...prefillTimings.values()].reduce((a, e) => a + e.ms, 0);
  console.log(`prefill pp${promptLen} (last trial), total ${ptotal.toFixed(1)} ms:`);
  for (const [k, e] of [...prefillTimings.entries()].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.calls).padStart(5)} calls  ${k}`);
  const total = [...timings.values()].reduce((a, e) => a + e.ms, 0);
  const rows = [...timings.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`per decode step (last trial), total ${(total / tokens).toFixed(2)} ms:`);
  for (const [k, e] of rows) console.log(`  ${(e.ms / tokens).toFixed(3).padStart(8)} ms  ${String(e.calls / tokens).padStart(5)} calls  ${k}`);
}
raw.dispose();
