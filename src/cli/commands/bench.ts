/**
 * `qwenrt bench <model> [--vs llama.cpp]`: prefill and decode tok/s, time to first token, peak RSS
 * and achieved decode GB/s against the measured memory bandwidth, beside llama.cpp in the same run.
 */
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { runBench } from "../../bench/compare.js";
import { formatReport } from "../../bench/report.js";
import type { BenchDtype } from "../../bench/weights.js";
import { QwenrtError } from "../../util/errors.js";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";

/** Help text. */
export const usage = `usage: qwenrt bench <model> [--vs llama.cpp] [options]

Benchmark a model directory or .gguf file: seeded random prompts, one warm-up, N trials (median).
Prefill = pp / time to first token; decode = tg greedy tokens after it; GB/s = weight bytes one
decode step reads × decode tok/s, against the machine's measured read bandwidth. Each engine runs
in its own child process, one after the other, so each peak RSS is its own.

  --vs llama.cpp     also run llama.cpp (node-llama-cpp, CPU) on the matching GGUF: the model itself
                     when it is a .gguf, else converted from the same directory (f16 for bf16/f16
                     checkpoints, q8_0, q4_0, q4_k_m for --dtype q4_k) and cached
  --llama-gpu G      llama.cpp's GPU build instead of its CPU one: auto | cuda | vulkan (all layers offloaded)
  --roofline-gbs X   judge decode against X GB/s (a GPU's memory bandwidth) instead of measuring the CPU's
  --backend B        wasm (default) | webgpu | ref
  --dtype T          quantize float weights on load: q8_0 | q4_0 | q4_k (wasm backend)
  --kv-type T        KV cache: f16 (default, as llama.cpp's) | f32 (wasm backend)
  --threads N        threads for both engines (default: the machine's cores, ${availableParallelism()})
  --pp N             prompt tokens (default 512)
  --tg N             generated tokens (default 128)
  --trials N         timed trials after the warm-up (default 3)
  --rounds N         run both engines N times, back to back, the order alternating (default 1); the
                     report adds each round's ratios and their median, steadier on a shared host
  --seed S           prompt seed (default 0)
  --gguf FILE        the GGUF llama.cpp loads (instead of converting)
  --gguf-cache DIR   where converted GGUFs are kept (default ${join(tmpdir(), "qwenrt-bench")})
  --json             print the report as JSON`;

function isDtype(s: string): s is BenchDtype {
  return s === "q8_0" || s === "q4_0" || s === "q4_k";
}

/** Run the command. */
export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("bench", argv, {
    vs: { type: "string" },
    backend: { type: "string" },
    dtype: { type: "string" },
    "kv-type": { type: "string" },
    threads: { type: "string" },
    pp: { type: "string" },
    tg: { type: "string" },
    trials: { type: "string" },
    rounds: { type: "string" },
    seed: { type: "string" },
    gguf: { type: "string" },
    "gguf-cache": { type: "string" },
    "llama-gpu": { type: "string" },
    "roofline-gbs": { type: "string" },
    json: { type: "boolean" },
  });
  const model = requireModelArg("bench", positionals);
  if (v.vs !== undefined && v.vs !== "llama.cpp") throw new QwenrtError("--vs", `the only peer is "llama.cpp", got "${v.vs}"`, { code: "invalid_flag" });
  const backend = v.backend ?? "wasm";
  if (backend !== "wasm" && backend !== "webgpu" && backend !== "ref") throw new QwenrtError("--backend", `must be wasm, webgpu or ref, got "${backend}"`, { code: "invalid_flag" });
  if (v.dtype !== undefined && backend === "webgpu") throw new QwenrtError("--dtype", "quantize-on-load runs on the wasm backend; give --backend webgpu a quantized .gguf", { code: "invalid_flag" });
  const llamaGpu = v["llama-gpu"];
  if (llamaGpu !== undefined && llamaGpu !== "auto" && llamaGpu !== "cuda" && llamaGpu !== "vulkan") throw new QwenrtError("--llama-gpu", `must be auto, cuda or vulkan, got "${llamaGpu}"`, { code: "invalid_flag" });
  if (llamaGpu !== undefined && v.vs === undefined) throw new QwenrtError("--llama-gpu", "only applies with --vs llama.cpp", { code: "invalid_flag" });
  const rooflineGbs = numberFlag("roofline-gbs", v["roofline-gbs"], { min: 0.001 });
  if (v.dtype !== undefined && !isDtype(v.dtype)) throw new QwenrtError("--dtype", `must be q8_0, q4_0 or q4_k, got "${v.dtype}"`, { code: "invalid_flag" });
  if (v.dtype !== undefined && backend === "ref") throw new QwenrtError("--dtype", "quantize-on-load needs --backend wasm (ref computes in float32)", { code: "invalid_flag" });
  const kv = v["kv-type"];
  if (kv !== undefined && kv !== "f16" && kv !== "f32") throw new QwenrtError("--kv-type", `must be f16 or f32, got "${kv}"`, { code: "invalid_flag" });
  if (kv === "f16" && backend === "ref") throw new QwenrtError("--kv-type", "f16 needs --backend wasm (the reference backend's cache is float32)", { code: "invalid_flag" });
  if (v.gguf !== undefined && v.vs === undefined) throw new QwenrtError("--gguf", "only applies with --vs llama.cpp", { code: "invalid_flag" });
  const threads = numberFlag("threads", v.threads, { integer: true, min: 1, max: 256 }) ?? availableParallelism();
  if (backend === "ref" && threads !== 1) {
    process.stderr.write(`note: the ref backend runs on 1 thread; llama.cpp gets --threads ${threads}\n`);
  }
  const report = await runBench({
    model,
    backend,
    ...(v.dtype !== undefined ? { dtype: v.dtype } : {}),
    ...(kv !== undefined ? { kv } : {}),
    threads,
    pp: numberFlag("pp", v.pp, { integer: true, min: 1 }) ?? 512,
    tg: numberFlag("tg", v.tg, { integer: true, min: 1 }) ?? 128,
    trials: numberFlag("trials", v.trials, { integer: true, min: 1 }) ?? 3,
    rounds: numberFlag("rounds", v.rounds, { integer: true, min: 1, max: 100 }) ?? 1,
    seed: numberFlag("seed", v.seed, { integer: true, min: 0, max: 2 ** 32 }) ?? 0,
    vsLlamaCpp: v.vs !== undefined,
    ...(llamaGpu !== undefined ? { llamaGpu } : {}),
    ...(rooflineGbs !== undefined ? { roofline: rooflineGbs * 1e9 } : {}),
    ...(v.gguf !== undefined ? { gguf: v.gguf } : {}),
    ggufCache: v["gguf-cache"] ?? join(tmpdir(), "qwenrt-bench"),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(v.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}
