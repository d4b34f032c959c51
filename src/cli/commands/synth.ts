/**
 * `qwenrt synth --preset NAME --out DIR [...]`: write a random-weight model directory of a real
 * shape (config.json as published, sharded bf16 safetensors, tokenizer files) for tests and
 * benchmarks; with `--out X.gguf --type T`, a quantized GGUF straight away (tools/synth_gguf.ts).
 */
import { synthesize, type SynthDtype } from "../../tools/synth.js";
import { synthesizeGguf, synthGgufTypes, type SynthGgufType } from "../../tools/synth_gguf.js";
import { synthPresets } from "../../tools/synth-presets.js";
import { QwenrtError } from "../../util/errors.js";
import { numberFlag, parseCommandArgs } from "../args.js";

export const usage = `usage: qwenrt synth --preset NAME --out DIR [options]
       qwenrt synth --preset NAME --out FILE.gguf --type ${synthGgufTypes.join("|")} [options]

Write a model directory with random weights of a real model's shape: config.json and
generation_config.json as published, weights as (sharded) safetensors, and the tokenizer files.
With --out FILE.gguf, write a quantized GGUF instead, tensor by tensor (random values generated
and quantized on the fly: big shapes never exist as bf16), with llama.cpp's names, metadata and
per-tensor type mix.

  --preset NAME        ${Object.keys(synthPresets).join(" | ")}
  --out DIR            output directory (created; must be empty)
  --layers N           override num_hidden_layers
  --vocab N            override vocab_size (must stay above the special-token ids)
  --seed S             weight seed (default 0; same seed, same bytes)
  --dtype T            bf16 (default) | f16 | f32
  --shard-size SIZE    largest weight file, e.g. 4GB (default), 500MB, 2GiB, or bytes
  --tokenizer DIR      copy tokenizer files from DIR (default: the repo's test/fixtures/qwen3-tokenizer)
  --no-tokenizer       copy no tokenizer files
  --type T             with --out FILE.gguf: ${synthGgufTypes.join(" | ")}
  --threads N          with --out FILE.gguf: threads generating and quantizing (default: all cores)`;

const UNITS: Record<string, number> = { "": 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/**
 * Parse a size such as `4GB` (decimal, as transformers' `max_shard_size`), `2GiB` or `1000000`.
 *
 * @example
 * parseSize("shard-size", "500MB"); // 500000000
 */
export function parseSize(flag: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m === null ? undefined : UNITS[m[2]!.toUpperCase()];
  if (m === null || unit === undefined) {
    throw new QwenrtError(`--${flag}`, `expected a size like 4GB, 500MB, 2GiB or a byte count, got "${text}"`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1 || !Number.isSafeInteger(bytes)) throw new QwenrtError(`--${flag}`, `must be at least 1 byte, got "${text}"`);
  return bytes;
}

function isGgufType(s: string): s is SynthGgufType {
  return (synthGgufTypes as readonly string[]).includes(s);
}

function isDtype(s: string): s is SynthDtype {
  return s === "bf16" || s === "f16" || s === "f32";
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommandArgs("synth", argv, {
    preset: { type: "string" },
    out: { type: "string" },
    layers: { type: "string" },
    vocab: { type: "string" },
    seed: { type: "string" },
    dtype: { type: "string" },
    "shard-size": { type: "string" },
    tokenizer: { type: "string" },
    "no-tokenizer": { type: "boolean" },
    type: { type: "string" },
    threads: { type: "string" },
  });
  if (positionals.length > 0) throw new QwenrtError("qwenrt synth", `unexpected argument "${positionals[0]}"`, { code: "invalid_flag" });
  if (v.preset === undefined) throw new QwenrtError("--preset", `is required (one of: ${Object.keys(synthPresets).join(", ")})`);
  if (v.out === undefined) throw new QwenrtError("--out", "is required (the directory to write)");
  if (v.dtype !== undefined && !isDtype(v.dtype)) throw new QwenrtError("--dtype", `must be bf16, f16 or f32, got "${v.dtype}"`);
  if (v.tokenizer !== undefined && v["no-tokenizer"] === true) {
    throw new QwenrtError("--no-tokenizer", "cannot be combined with --tokenizer");
  }
  const layers = numberFlag("layers", v.layers, { integer: true, min: 1 });
  const vocab = numberFlag("vocab", v.vocab, { integer: true, min: 1 });
  const seed = numberFlag("seed", v.seed, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
  if (v.out.toLowerCase().endsWith(".gguf")) {
    if (v.type === undefined) throw new QwenrtError("--type", `is required with --out FILE.gguf (one of: ${synthGgufTypes.join(", ")})`);
    if (!isGgufType(v.type)) throw new QwenrtError("--type", `must be one of ${synthGgufTypes.join(", ")}, got "${v.type}"`);
    for (const flag of ["dtype", "shard-size"] as const) {
      if (v[flag] !== undefined) throw new QwenrtError(`--${flag}`, "applies to a model directory, not to --out FILE.gguf");
    }
    const type = v.type;
    const started = Date.now();
    const shown = process.stderr.isTTY
      ? (done: number, total: number): void => void process.stderr.write(`\rwriting ${type} GGUF: ${((100 * done) / total).toFixed(1)}%`)
      : undefined;
    const r = await synthesizeGguf({
      preset: v.preset,
      out: v.out,
      type,
      layers,
      vocab,
      seed,
      tokenizerDir: v["no-tokenizer"] === true ? null : v.tokenizer,
      threads: numberFlag("threads", v.threads, { integer: true, min: 1, max: 256 }),
      onProgress: shown,
    });
    if (shown !== undefined) process.stderr.write("\n");
    const mix = [...r.types].map(([k, n]) => `${n} ${k}`).join(", ");
    process.stdout.write(`${v.out}: ${v.preset}, ${(r.parameters / 1e9).toFixed(3)}B parameters, ${(r.bytes / 1e9).toFixed(2)} GB ${type} (${mix}) in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    return 0;
  }
  if (v.type !== undefined) throw new QwenrtError("--type", "applies to --out FILE.gguf (a directory holds bf16, f16 or f32: --dtype)");
  if (v.threads !== undefined) throw new QwenrtError("--threads", "applies to --out FILE.gguf");
  const progress = process.stderr.isTTY
    ? (done: number, total: number): void => {
        process.stderr.write(`\rwriting weights: ${((100 * done) / total).toFixed(1)}%`);
      }
    : undefined;
  const result = synthesize({
    preset: v.preset,
    out: v.out,
    layers,
    vocab,
    seed,
    dtype: v.dtype,
    shardBytes: v["shard-size"] === undefined ? undefined : parseSize("shard-size", v["shard-size"]),
    tokenizerDir: v["no-tokenizer"] === true ? null : v.tokenizer,
    onProgress: progress,
  });
  if (progress !== undefined) process.stderr.write("\n");
  const gb = (result.weightBytes / 1e9).toFixed(2);
  const params = (result.parameters / 1e9).toFixed(3);
  const tok = result.tokenizerFiles.length > 0 ? `, tokenizer: ${result.tokenizerFiles.join(", ")}` : ", no tokenizer";
  process.stdout.write(`${v.out}: ${v.preset}, ${params}B parameters, ${gb} GB in ${result.files.length} file(s)${tok}\n`);
  return 0;
}
