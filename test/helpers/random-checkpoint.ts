/**
 * Test helper: random-weight checkpoints of any config object (the `qwenrt synth` command in
 * src/tools/synth.ts works from presets), written in the Hugging Face layout
 * (`config.json`, `model.safetensors` or sharded with `model.safetensors.index.json`). The tensor
 * list comes from the architecture's own weight table, so a synthesized model always loads.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getFormat } from "../../src/formats/quant/index.js";
import { writeSafetensors, type SafetensorsDtype, type TensorToWrite } from "../../src/formats/safetensors.js";
import { QwenrtError } from "../../src/util/errors.js";
import { getArchitecture, parseModelConfig } from "../../src/models/registry.js";
import type { WeightSpec } from "../../src/layers/context.js";
import type { WeightLayout } from "../../src/models/architecture.js";

/** Options of `synthesizeCheckpoint`. */
export interface SynthOptions {
  readonly seed?: number;
  readonly dtype?: SafetensorsDtype; // default BF16, as published checkpoints
  readonly shards?: number; // > 1 writes model-0000i-of-0000n.safetensors + index
  /** Decoder root and expert layout (default: `model.`, one tensor per expert). */
  readonly layout?: Partial<Pick<WeightLayout, "root" | "fusedExperts">>;
  /** Range of the embedding's values (default ±1); a tied LM head's logits scale with it. */
  readonly embedScale?: number;
  /** Extra tensors the checkpoint ships that the text model does not run (e.g. `mtp.*`), by name and shape. */
  readonly extra?: ReadonlyMap<string, readonly number[]>;
}

const weightTypeOf = { BF16: "bf16", F16: "f16", F32: "f32" } as const;

/** A seeded uniform generator in [-1, 1) (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** Encode float32 values as `dtype` bytes. */
export function encodeValues(dtype: SafetensorsDtype, values: Float32Array): Uint8Array {
  const f = getFormat(weightTypeOf[dtype]);
  const out = new Uint8Array(values.length * f.blockBytes);
  if (f.quantize === undefined) throw new QwenrtError("synth", `cannot encode ${dtype}`);
  f.quantize(values, out, values.length);
  return out;
}

/**
 * Random values for one declared tensor: matrices uniform with unit-ish output variance (the
 * embedding ±1); biases small; norm weights near 1 (zero-centred ones near 0, as the model adds 1);
 * the DeltaNet's conv taps, `A_log` (decays between e^-8 and e^-0.5 per unit step) and `dt_bias`
 * in the ranges trained models have.
 */
function randomValues(s: WeightSpec, rand: () => number, embedScale = 1): Float32Array {
  const count = s.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(count);
  const fill = (f: () => number): Float32Array => {
    for (let i = 0; i < count; i++) v[i] = f();
    return v;
  };
  if (s.kind === "matrix") {
    const scale = s.name.endsWith("embed_tokens.weight") ? embedScale : Math.sqrt(3 / s.shape[s.shape.length - 1]!);
    return fill(() => rand() * scale);
  }
  if (s.name.endsWith(".bias") || s.name.endsWith(".dt_bias")) return fill(() => rand() * 0.2);
  if (s.name.endsWith(".conv1d.weight")) return fill(() => rand() * 0.6);
  if (s.name.endsWith(".A_log")) return fill(() => Math.log(0.5) + ((rand() + 1) / 2) * (Math.log(8) - Math.log(0.5)));
  if (s.transform === "onePlus") return fill(() => rand() * 0.3);
  return fill(() => 1 + rand() * 0.3);
}

/**
 * Write a random checkpoint for `rawConfig` (a `config.json` object) into `dir`. Norm weights are
 * near 1 and biases small but non-zero, so a skipped multiply or add changes the logits.
 *
 * @example
 * synthesizeCheckpoint("/tmp/m", { model_type: "qwen3", hidden_size: 64, ... }, { seed: 1 });
 */
export function synthesizeCheckpoint(dir: string, rawConfig: Record<string, unknown>, opts: SynthOptions = {}): void {
  const config = parseModelConfig(rawConfig, "config");
  const layout: WeightLayout = { root: opts.layout?.root ?? "model.", format: "hf", fusedExperts: opts.layout?.fusedExperts ?? false };
  const table = getArchitecture(config.modelType).weightTable(config, layout);
  const dtype = opts.dtype ?? "BF16";
  const rand = rng(opts.seed ?? 1);
  const tensors = new Map<string, TensorToWrite>();
  for (const s of table) tensors.set(s.name, { dtype, shape: s.shape, bytes: encodeValues(dtype, randomValues(s, rand, opts.embedScale)) });
  for (const [name, shape] of opts.extra ?? []) {
    tensors.set(name, { dtype, shape, bytes: encodeValues(dtype, randomValues({ name, shape, kind: "matrix" }, rand)) });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(rawConfig, null, 2)}\n`);
  const shards = opts.shards ?? 1;
  if (shards <= 1) {
    writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
    return;
  }
  const names = [...tensors.keys()];
  const per = Math.ceil(names.length / shards);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < shards; i++) {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const part = new Map(names.slice(i * per, (i + 1) * per).map((n) => [n, tensors.get(n)!] as const));
    for (const n of part.keys()) weightMap[n] = file;
    writeSafetensors(join(dir, file), part, { format: "pt" });
  }
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
}
