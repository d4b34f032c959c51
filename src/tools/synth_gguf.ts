/**
 * `qwenrt synth --preset NAME --out X.gguf --type q4_0|q8_0|q4_k_m`: random weights of a real
 * shape written straight to a quantized GGUF, tensor by tensor. Each slab of rows is generated in
 * wasm memory and encoded there on the worker pool (kernels/wasm/quantizer.ts `random`), then
 * written: a 30B model needs a few slabs of memory, never its tens of GB of bf16. Names, metadata
 * and the per-tensor type mix are `qwenrt convert`'s (formats/gguf/convert.ts), so llama.cpp loads
 * the file as it loads a converted checkpoint.
 *
 * Values: tensor t's value j is mean + std · z(key(seed, t's Hugging Face name), j), rounded to
 * bf16, with `initOf`'s mean and std; z is a bounded bell curve (assembly/synth.ts), not the
 * directory synth's normal deviates, so the two synths give different (equally random) weights.
 */
import { existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { createRng, deriveSeed } from "../engine/rng.js";
import { planGgufFromHf, type SourceInfo } from "../formats/gguf/convert.js";
import { GgufStreamWriter } from "../formats/gguf/write.js";
import { rowBytes, type WeightType } from "../formats/quant/index.js";
import { createQuantizer } from "../kernels/wasm/quantizer.js";
import { parseModelConfig } from "../models/registry.js";
import { QwenrtError } from "../util/errors.js";
import { checkFreeSpace, ggufPlanBytes } from "./convert.js";
import { synthPresets } from "./synth-presets.js";
import { defaultTokenizerDir, initOf, synthConfigs, synthTensorPlan } from "./synth.js";

/** Types a synthesized GGUF can be written as (llama.cpp's file types). */
export const synthGgufTypes = ["q4_0", "q8_0", "q4_k_m"] as const;
export type SynthGgufType = (typeof synthGgufTypes)[number];

/** Options of {@link synthesizeGguf}; errors name the matching CLI flag. */
export interface SynthGgufOptions {
  readonly preset: string;
  /** The `.gguf` file to write (must not exist). */
  readonly out: string;
  readonly type: SynthGgufType;
  readonly layers?: number;
  readonly vocab?: number;
  readonly seed?: number | bigint;
  /** Tokenizer metadata from this directory; `null` writes none; default the repo's Qwen3 tokenizer. */
  readonly tokenizerDir?: string | null;
  /** Threads generating and encoding (default: all cores). */
  readonly threads?: number;
  /** Hears parameters written so far, of all. */
  readonly onProgress?: (done: number, total: number) => void;
  /** `last`: mark the file an embedding model pooling on its last token (`{arch}.pooling_type` = 3,
   * llama.cpp's LLAMA_POOLING_TYPE_LAST, as converted Qwen3-Embedding GGUFs carry). */
  readonly pooling?: "last";
}

/** What {@link synthesizeGguf} wrote. */
export interface SynthGgufResult {
  readonly path: string;
  readonly bytes: number;
  readonly parameters: number;
  readonly tensors: number;
  readonly types: ReadonlyMap<WeightType, number>;
}

/** Types the generator encodes directly; others are generated as f32 and encoded after. */
const DIRECT: readonly WeightType[] = ["f32", "q8_0", "q4_0", "q4_k", "q6_k"];
/** Encoded bytes per slab. */
const SLAB_BYTES = 16 << 20;

/** A checkpoint tensor still to be generated. */
interface Pending extends SourceInfo {
  readonly type: "bf16";
}

/**
 * Write a random-weight GGUF of a preset's shape (see the module comment).
 *
 * @example
 * await synthesizeGguf({ preset: "qwen3-30b-a3b", layers: 4, out: "/tmp/a3b-4l-q4_0.gguf", type: "q4_0" });
 */
export async function synthesizeGguf(o: SynthGgufOptions): Promise<SynthGgufResult> {
  if (!o.out.toLowerCase().endsWith(".gguf")) throw new QwenrtError("--out", `must name a .gguf file, got ${o.out}`);
  if (existsSync(o.out)) throw new QwenrtError("--out", `${o.out} exists (remove it first)`);
  if (!synthGgufTypes.includes(o.type)) throw new QwenrtError("--type", `must be one of ${synthGgufTypes.join(", ")}, got "${String(o.type)}"`);
  const seed = o.seed ?? 0;
  createRng(seed, "--seed"); // validates the seed before anything is written
  const { config } = synthConfigs(o.preset, { layers: o.layers, vocab: o.vocab, dtype: "bf16" });
  const specs = synthTensorPlan(config);
  const std = typeof config.initializer_range === "number" ? config.initializer_range : 0.02;
  const sources = new Map<string, Pending>(specs.map((s) => [s.name, { type: "bf16", shape: s.shape }]));
  const byName = new Map(specs.map((s) => [s.name, s]));
  const tokenizerDir = o.tokenizerDir === undefined ? defaultTokenizerDir() : o.tokenizerDir;
  const name = `${basename(synthPresets[o.preset]!.hubName)} (random weights)`;
  const plan = planGgufFromHf(`preset ${o.preset}`, config, parseModelConfig(config, "config.json"), sources, {
    type: o.type,
    name,
    ...(tokenizerDir === null ? { noTokenizer: true } : { tokenizerDir }),
  });
  const outDir = dirname(o.out);
  checkFreeSpace(outDir, ggufPlanBytes(plan), `${o.out} (${o.preset}, ${o.type})`);

  const parameters = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const tmp = join(outDir, `.${basename(o.out)}.${process.pid}.${Date.now()}.tmp`);
  const q = await createQuantizer(o.threads === undefined ? {} : { threads: o.threads });
  let writer: GgufStreamWriter | undefined;
  try {
    const arch = plan.metadata.get("general.architecture");
    const metadata = new Map(plan.metadata);
    if (o.pooling === "last" && arch?.type === "string") metadata.set(`${arch.value}.pooling_type`, { type: "u32", value: 3 });
    writer = GgufStreamWriter.create(tmp, metadata, plan.tensors);
    const types = new Map<WeightType, number>();
    let done = 0;
    o.onProgress?.(0, parameters);
    let out = new Uint8Array(0), f32 = new Uint8Array(0);
    for (const t of plan.tensors) {
      types.set(t.type, (types.get(t.type) ?? 0) + 1);
      const cols = t.shape[t.shape.length - 1]!;
      const rows = t.shape.reduce((a, b) => a * b, 1) / cols / t.sources.length;
      const row = rowBytes(t.type, cols);
      const per = Math.max(1, Math.min(rows, Math.floor(SLAB_BYTES / Math.max(row, cols * 4))));
      if (t.transform !== undefined) {
        // A hybrid model's transformed tensor: its checkpoint tensor generated whole (as one row),
        // then transformed as the converter does (convert_hybrid.ts).
        const hf = t.hfNames[0]!;
        const init = initOf(byName.get(hf) ?? { name: hf }, std);
        const n = t.sources[0]!.shape.reduce((a, b) => a * b, 1);
        const padded = Math.ceil(n / 4) * 4;
        const raw = new Uint8Array(padded * 4);
        q.random(deriveSeed(seed, hf), init.mean, init.std, 0, 1, padded, "f32", raw);
        const values = t.transform(new Float32Array(raw.buffer, 0, n));
        const encoded = new Uint8Array(rows * row);
        q.encode("f32", new Uint8Array(values.buffer, values.byteOffset, values.byteLength), t.type, rows, cols, encoded);
        writer.write(encoded);
        done += n;
        o.onProgress?.(done, parameters);
        continue;
      }
      for (const hf of t.hfNames) {
        const key = deriveSeed(seed, hf);
        const init = initOf(byName.get(hf) ?? { name: hf }, std);
        for (let r0 = 0; r0 < rows; r0 += per) {
          const n = Math.min(per, rows - r0);
          if (out.byteLength < n * row) out = new Uint8Array(n * row);
          const slab = out.subarray(0, n * row);
          if (DIRECT.includes(t.type)) {
            q.random(key, init.mean, init.std, r0, n, cols, t.type, slab);
          } else {
            if (f32.byteLength < n * cols * 4) f32 = new Uint8Array(n * cols * 4);
            q.random(key, init.mean, init.std, r0, n, cols, "f32", f32);
            q.encode("f32", f32, t.type, n, cols, slab);
          }
          writer.write(slab);
          done += n * cols;
          o.onProgress?.(done, parameters);
        }
      }
    }
    writer.close();
    renameSync(tmp, o.out);
    return { path: o.out, bytes: writer.bytesWritten, parameters, tensors: plan.tensors.length, types };
  } catch (e) {
    writer?.abort();
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    q.dispose();
  }
}
