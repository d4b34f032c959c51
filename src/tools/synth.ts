/**
 * Random-weight checkpoints of real shapes (`qwenrt synth`), for tests and benchmarks. The tensor
 * list is the loader's own weight table (`models/registry.ts`), so whatever the loader expects is
 * what gets written. Files are streamed tensor by tensor in fixed-size chunks: synthesizing an 8B
 * model needs a few MiB of memory, not the model's size. Each tensor's values depend only on the
 * seed and the tensor's name, not on sharding or order.
 */
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRng, deriveSeed } from "../engine/rng.js";
import { f32ToF16 } from "../formats/quant/float.js";
import type { WeightSpec } from "../layers/context.js";
import { HF_LAYOUT, type WeightLayout } from "../models/architecture.js";
import { guardHeadSpecs, isStreamGuardConfig, parseGuardHeadConfig } from "../models/guard_heads.js";
import { getArchitecture, parseModelConfig } from "../models/registry.js";
import { isObject } from "../util/json.js";
import { QwenrtError } from "../util/errors.js";
import { synthPresets, type JsonObject, type JsonValue } from "./synth-presets.js";

/** Element type of the written weights. */
export type SynthDtype = "bf16" | "f16" | "f32";

const dtypeInfo: Record<SynthDtype, { st: string; torch: string; bytes: number }> = {
  bf16: { st: "BF16", torch: "bfloat16", bytes: 2 },
  f16: { st: "F16", torch: "float16", bytes: 2 },
  f32: { st: "F32", torch: "float32", bytes: 4 },
};

/** Options of `synthesize`; errors name the matching CLI flag (`--layers`, `--vocab`, …). */
export interface SynthOptions {
  /** A key of `synthPresets` (`qwen3-0.6b`, `tiny-qwen3`, …). */
  readonly preset: string;
  /** Output directory; created if missing, must be empty. */
  readonly out: string;
  /** Override `num_hidden_layers`. */
  readonly layers?: number;
  /** Override `vocab_size` (must stay above the preset's special-token ids). */
  readonly vocab?: number;
  readonly seed?: number | bigint;
  readonly dtype?: SynthDtype;
  /** Largest shard in bytes before splitting (default 4 GiB, as the Qwen repos); one file if it fits. */
  readonly shardBytes?: number;
  /** Directory to copy tokenizer files from; `null` copies none; default: the repo's fixture tokenizer. */
  readonly tokenizerDir?: string | null;
  /** Called after each tensor is written. */
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** What `synthesize` wrote. */
export interface SynthResult {
  readonly files: readonly string[]; // weight files, in shard order
  readonly weightBytes: number;
  readonly parameters: number;
  readonly tokenizerFiles: readonly string[];
}

/** Tokenizer files a Hub model directory may carry; the ones present are copied. */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json"];

/** The Qwen3 tokenizer files shipped with qwenrt (the package's `files` include them). */
export function defaultTokenizerDir(): string {
  return fileURLToPath(new URL("../../test/fixtures/qwen3-tokenizer/", import.meta.url));
}

function specialIds(obj: JsonObject): number[] {
  const ids: number[] = [];
  for (const key of ["bos_token_id", "eos_token_id", "pad_token_id"]) {
    const v = obj[key];
    for (const x of Array.isArray(v) ? v : [v]) if (typeof x === "number") ids.push(x);
  }
  return ids;
}

/**
 * The preset's `config.json` and `generation_config.json` with the overrides applied.
 *
 * @example
 * synthConfigs("qwen3-0.6b", { layers: 2 }).config.num_hidden_layers; // 2
 */
export function synthConfigs(
  preset: string,
  o: { layers?: number; vocab?: number; dtype?: SynthDtype } = {},
): { config: JsonObject; generationConfig: JsonObject } {
  const p = synthPresets[preset];
  if (p === undefined) {
    throw new QwenrtError("--preset", `unknown preset "${preset}" (known: ${Object.keys(synthPresets).join(", ")})`);
  }
  const outer: Record<string, JsonValue> = { ...p.config };
  // A vision-language wrapper keeps the text model's fields in text_config: overrides go there.
  const config: Record<string, JsonValue> = isObject(outer.text_config) ? { ...(outer.text_config as JsonObject) } : outer;
  if (config !== outer) outer.text_config = config;
  if (o.layers !== undefined) {
    if (!Number.isInteger(o.layers) || o.layers < 1) throw new QwenrtError("--layers", `must be a positive integer, got ${o.layers}`);
    config.num_hidden_layers = o.layers;
    if (typeof config.max_window_layers === "number") config.max_window_layers = Math.min(config.max_window_layers, o.layers);
    const only = config.mlp_only_layers;
    if (Array.isArray(only)) config.mlp_only_layers = only.filter((l) => typeof l === "number" && l < o.layers!);
    const types = config.layer_types;
    if (Array.isArray(types)) {
      // Keep the hybrid pattern: the first `layers` entries, the last one full attention so a
      // reduced model still has an attention layer (as the published 4-layer period ends).
      const kept = types.slice(0, o.layers);
      if (!kept.includes("full_attention")) kept[kept.length - 1] = "full_attention";
      config.layer_types = kept;
      if (typeof config.full_attention_interval === "number" && kept.some((t, i) => (t === "full_attention") !== ((i + 1) % (config.full_attention_interval as number) === 0))) {
        delete config.full_attention_interval; // layer_types alone now says it
      }
    }
  }
  if (o.vocab !== undefined) {
    const needed = Math.max(...specialIds(config), ...specialIds(p.generationConfig)) + 1;
    if (!Number.isInteger(o.vocab) || o.vocab < needed) {
      throw new QwenrtError("--vocab", `must be an integer >= ${needed} (the preset's special-token ids must fit), got ${o.vocab}`);
    }
    config.vocab_size = o.vocab;
  }
  if (o.dtype !== undefined) config[config === outer ? "torch_dtype" : "dtype"] = dtypeInfo[o.dtype].torch;
  return { config: outer, generationConfig: p.generationConfig };
}

/** Layer index for ordering like a PyTorch state dict: embedding, layers in order, final norm, head. */
function stateDictRank(name: string): number {
  if (/^model\.(?:language_model\.)?embed_tokens\./.test(name)) return -1;
  const m = /^model\.(?:language_model\.)?layers\.(\d+)\./.exec(name);
  if (m !== null) return Number(m[1]);
  return name.startsWith("lm_head.") ? Number.MAX_SAFE_INTEGER : Number.MAX_SAFE_INTEGER - 1;
}

/** Every tensor the loader expects for `config` in `layout`, in state-dict order. */
export function synthTensorPlan(config: JsonObject, layout: WeightLayout = HF_LAYOUT): WeightSpec[] {
  const parsed = parseModelConfig(config, "config.json");
  const table = getArchitecture(parsed.modelType).weightTable(parsed, layout);
  // A Qwen3Guard-Stream checkpoint also holds its classifier heads (written after the backbone).
  const heads = isStreamGuardConfig(config) ? guardHeadSpecs(parseGuardHeadConfig(config, "config.json")) : [];
  return table
    .map((spec, i) => ({ spec, i }))
    .sort((a, b) => stateDictRank(a.spec.name) - stateDictRank(b.spec.name) || a.i - b.i)
    .map((x) => x.spec)
    .concat(heads);
}

/** How a tensor is initialised, as transformers' `_init_weights` does: norms around 1 (zero-centred
 * ones around 0), `dt_bias` 1, `A_log` around log 4 (A in (0, 16)), everything else
 * normal(0, initializer_range). */
export function initOf(s: Pick<WeightSpec, "name" | "transform">, std: number): { mean: number; std: number } {
  if (s.transform === "onePlus") return { mean: 0, std: 0.02 };
  if (s.name.endsWith(".A_log")) return { mean: Math.log(4), std: 0.5 };
  if (s.name.endsWith(".dt_bias")) return { mean: 1, std: 0.02 };
  return /norm\.weight$/.test(s.name) ? { mean: 1, std: 0.02 } : { mean: 0, std };
}

const CHUNK = 1 << 20; // values generated per write

/** Write one safetensors file, generating each tensor's values in chunks. */
function writeShard(
  path: string,
  specs: readonly WeightSpec[],
  dtype: SynthDtype,
  seed: number | bigint,
  std: number,
  progress: (bytes: number) => void,
): void {
  const info = dtypeInfo[dtype];
  const sorted = [...specs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const s of sorted) {
    const bytes = s.shape.reduce((a, b) => a * b, 1) * info.bytes;
    header[s.name] = { dtype: info.st, shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data starts 8-byte aligned
  const headerBytes = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.byteLength));

  const f32 = new Float32Array(CHUNK);
  const u32 = new Uint32Array(f32.buffer);
  const u16 = new Uint16Array(CHUNK);
  const fd = openSync(path, "w");
  try {
    writeAll(fd, prefix);
    writeAll(fd, headerBytes);
    for (const s of sorted) {
      const rng = createRng(deriveSeed(seed, s.name));
      const { mean, std: sd } = initOf(s, std);
      const count = s.shape.reduce((a, b) => a * b, 1);
      for (let done = 0; done < count; ) {
        const n = Math.min(CHUNK, count - done);
        rng.fillNormal(f32.subarray(0, n), mean, sd);
        let out: Uint8Array;
        if (dtype === "f32") out = new Uint8Array(f32.buffer, 0, n * 4);
        else {
          if (dtype === "bf16") {
            for (let i = 0; i < n; i++) {
              const x = u32[i]!;
              u16[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even (values are finite)
            }
          } else for (let i = 0; i < n; i++) u16[i] = f32ToF16(f32[i]!);
          out = new Uint8Array(u16.buffer, 0, n * 2);
        }
        writeAll(fd, out);
        done += n;
      }
      progress(count * info.bytes);
    }
  } finally {
    closeSync(fd);
  }
}

/** `writeSync` until every byte is written (a single call may write fewer). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off, bytes.byteLength - off);
}

function jsonText(v: JsonValue): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/**
 * Write a complete random-weight model directory: `config.json`, `generation_config.json`, weights
 * (`model.safetensors`, or shards plus `model.safetensors.index.json`) and the tokenizer files.
 *
 * @example
 * synthesize({ preset: "qwen3-0.6b", layers: 2, seed: 1, out: "/tmp/q06-2l" });
 */
export function synthesize(opts: SynthOptions): SynthResult {
  const dtype = opts.dtype ?? "bf16";
  if (!(dtype in dtypeInfo)) throw new QwenrtError("--dtype", `must be bf16, f16 or f32, got "${String(dtype)}"`);
  const seed = opts.seed ?? 0;
  createRng(seed, "--seed"); // validates the seed before anything is written
  const shardBytes = opts.shardBytes ?? 4 * 1024 ** 3;
  if (!Number.isSafeInteger(shardBytes) || shardBytes < 1) {
    throw new QwenrtError("--shard-size", `must be a positive number of bytes, got ${shardBytes}`);
  }
  const { config, generationConfig } = synthConfigs(opts.preset, { layers: opts.layers, vocab: opts.vocab, dtype });
  const layout = synthPresets[opts.preset]!.layout;
  const plan = synthTensorPlan(config, layout === undefined ? HF_LAYOUT : { ...HF_LAYOUT, ...layout });
  const text = isObject(config.text_config) ? config.text_config : config;
  const std = typeof text.initializer_range === "number" ? text.initializer_range : 0.02;

  const tokDir = opts.tokenizerDir === undefined ? defaultTokenizerDir() : opts.tokenizerDir;
  if (tokDir !== null && !existsSync(join(tokDir, "tokenizer.json"))) {
    // The default copy missing means a broken install: say so rather than write a model without one.
    const where = opts.tokenizerDir === undefined ? "qwenrt's own tokenizer files" : "--tokenizer";
    throw new QwenrtError(where, `no tokenizer.json in ${tokDir} (pass --tokenizer DIR, or --no-tokenizer)`, { code: "not_found" });
  }

  if (existsSync(opts.out)) {
    if (!statSync(opts.out).isDirectory()) throw new QwenrtError("--out", `${opts.out} exists and is not a directory`);
    if (readdirSync(opts.out).length > 0) throw new QwenrtError("--out", `${opts.out} is not empty`);
  } else mkdirSync(opts.out, { recursive: true });

  // Greedy sharding in state-dict order, as transformers' save_pretrained does.
  const bytesOf = (s: WeightSpec): number => s.shape.reduce((a, b) => a * b, 1) * dtypeInfo[dtype].bytes;
  const shards: WeightSpec[][] = [[]];
  let size = 0;
  for (const s of plan) {
    const b = bytesOf(s);
    if (size > 0 && size + b > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1]!.push(s);
    size += b;
  }
  const total = plan.reduce((a, s) => a + bytesOf(s), 0);
  const names =
    shards.length === 1
      ? ["model.safetensors"]
      : shards.map((_, i) => `model-${String(i + 1).padStart(5, "0")}-of-${String(shards.length).padStart(5, "0")}.safetensors`);

  writeFileSync(join(opts.out, "config.json"), jsonText(config));
  writeFileSync(join(opts.out, "generation_config.json"), jsonText(generationConfig));
  let done = 0;
  shards.forEach((specs, i) =>
    writeShard(join(opts.out, names[i]!), specs, dtype, seed, std, (b) => {
      done += b;
      opts.onProgress?.(done, total);
    }),
  );
  if (shards.length > 1) {
    const weightMap: Record<string, string> = {};
    const entries = shards.flatMap((specs, i) => specs.map((s) => [s.name, names[i]!] as const));
    for (const [name, file] of entries.sort((a, b) => (a[0] < b[0] ? -1 : 1))) weightMap[name] = file;
    writeFileSync(join(opts.out, "model.safetensors.index.json"), jsonText({ metadata: { total_size: total }, weight_map: weightMap }));
  }

  const tokenizerFiles: string[] = [];
  if (tokDir !== null) {
    for (const f of TOKENIZER_FILES) {
      if (existsSync(join(tokDir, f))) {
        copyFileSync(join(tokDir, f), join(opts.out, f));
        chmodSync(join(opts.out, f), 0o644); // the source may be read-only (fixtures); the copy is the user's
        tokenizerFiles.push(f);
      }
    }
  }
  const parameters = plan.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  return { files: names, weightBytes: total, parameters, tokenizerFiles };
}
