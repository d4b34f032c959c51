/**
 * The memory preflight: before a byte of weights is read, what a model will take — its weights as the
 * backend will hold them (after any conversion on load), the KV cache for the context it is loaded
 * for, and scratch (activations of a prefill chunk, staging, the runtime) — against what the machine
 * has. Pure: the machine's memory comes from a probe (util/memory.ts on Node; a browser would read
 * `navigator.deviceMemory`). When it does not fit, one line with the numbers and the way out: a
 * smaller `--ctx`, a smaller quant, or — when not even 4-bit weights fit — serving it across GPUs.
 */
import { rowBytes } from "../formats/quant/index.js";
import type { WeightType } from "../formats/quant/types.js";
import { kvElementBytes } from "../kernels/kv.js";
import type { KernelBackend } from "../kernels/types.js";
import type { WeightSpec } from "../layers/context.js";
import { QwenrtError } from "../util/errors.js";
import { nodeMemoryProbe, type MachineMemory } from "../util/memory.js";
import type { ModelConfig } from "./config.js";
import { mainTypes } from "./load_info.js";
import { DEFAULT_MAX_CHUNK } from "./model.js";

export type { MachineMemory, MemoryProbe } from "../util/memory.js";

/** What the model will take, in bytes. */
export interface MemoryNeeds {
  /** Weights as the backend will hold them. */
  readonly weights: number;
  /** Main types they are held in (`q4_k+q6_k`). */
  readonly weightTypes: string;
  /** The weights at 4 bits (Q4_0 / Q4_K: 4.5 bits per value of every block-aligned matrix). */
  readonly weightsAt4Bit: number;
  readonly kvPerToken: number;
  /** Context the KV cache is counted for (positions). */
  readonly context: number;
  readonly kv: number;
  /** Activations of a prefill chunk, logits, staging copies and the runtime itself. */
  readonly scratch: number;
  readonly total: number;
}

/** Bytes Node, its worker threads, V8's heap and the loader's slab take besides the model. */
const RUNTIME_BYTES = 192 << 20;
/** The smallest context a suggestion offers. */
const MIN_CONTEXT = 1024;

/** KV cache bytes per position: keys and values of every attention layer, in the backend's type
 * (a hybrid model's linear-attention layers hold a fixed-size state instead). */
export function kvBytesPerToken(c: ModelConfig, kvType: KernelBackend["kvType"]): number {
  const attention = c.layerTypes.filter((t) => t === "full_attention").length;
  return attention * 2 * c.numKvHeads * c.headDim * kvElementBytes(kvType);
}

/**
 * What a model of config `c` needs with `backend`, for `context` positions. `types`: the checkpoint
 * type of each declared tensor (by name).
 *
 * @example
 * memoryNeeds(config, table, (name) => tensors.get(name)!.type, backend, 40960).total;
 */
export function memoryNeeds(
  c: ModelConfig,
  table: readonly WeightSpec[],
  typeOf: (name: string) => WeightType,
  backend: Pick<KernelBackend, "kvType" | "heldMatrix">,
  context: number,
): MemoryNeeds {
  const held = new Map<WeightType, number>();
  let weights = 0, at4 = 0;
  for (const s of table) {
    const type = typeOf(s.name);
    const values = s.shape.reduce((a, b) => a * b, 1);
    if (s.kind === "vector") {
      weights += values * 4; // loadVector takes float32
      at4 += values * 4;
      continue;
    }
    const cols = s.shape[s.shape.length - 1]!;
    const rows = values / cols;
    const h = backend.heldMatrix?.(type, rows, cols) ?? { type, bytes: rows * rowBytes(type, cols) };
    weights += h.bytes;
    held.set(h.type, (held.get(h.type) ?? 0) + h.bytes);
    at4 += cols % 32 === 0 ? rows * rowBytes("q4_0", cols) : rows * rowBytes(type, cols);
  }
  const kvPerToken = kvBytesPerToken(c, backend.kvType);
  const ffn = Math.max(c.intermediateSize, c.numExperts > 0 ? c.numExpertsPerTok * c.moeIntermediateSize : 0);
  const qDim = c.numHeads * c.headDim;
  // MoE prefill gathers each token's routed rows by expert: top-k copies of x and of the experts' outputs.
  const routed = c.numExperts > 0 ? 2 * c.numExpertsPerTok * c.hiddenSize : 0;
  // [chunk, …] activations (residual, norms, q/k/v, attention out, the FFN's halves, routed rows)
  // and their staged copies, logits of a few rows, the runtime.
  const scratch = DEFAULT_MAX_CHUNK * (8 * c.hiddenSize + 3 * qDim + 4 * ffn + routed) * 4 + 2 * c.vocabSize * 4 + RUNTIME_BYTES;
  const kv = kvPerToken * context;
  return { weights, weightTypes: mainTypes(held), weightsAt4Bit: at4, kvPerToken, context, kv, scratch, total: weights + kv + scratch };
}

const GB = (n: number): string => `${(n / 1e9).toFixed(n >= 1e11 ? 0 : 1)} GB`;
const tokens = (n: number): string => n.toLocaleString("en-US");

/**
 * Undefined when `needs` fits `machine`, else the one line that says why not and the way out: a
 * smaller `--ctx` or a smaller quant where one fits what is available; else freeing memory where
 * the machine itself could hold the model at 4 bits; else serving it across GPUs. `float`: the
 * checkpoint is float (the smaller quant is `--dtype`, else a smaller GGUF).
 *
 * @example
 * memoryVerdict(needs, { total: 25.8e9, available: 21.5e9 }, false);
 * // "needs 22.5 GB (weights 18.1 GB q4_k, KV cache 4.0 GB for 40,960 tokens at 101 MB per 1K, scratch 0.3 GB) but 21.5 GB of 25.8 GB are available: use --ctx 16384 (KV cache 1.6 GB)"
 */
export function memoryVerdict(needs: MemoryNeeds, machine: MachineMemory, float: boolean): string | undefined {
  const room = machine.available;
  if (needs.total <= room) return undefined;
  const n = needs;
  const head =
    `needs ${GB(n.total)} (weights ${GB(n.weights)} ${n.weightTypes}, KV cache ${GB(n.kv)} for ${tokens(n.context)} tokens at ${((n.kvPerToken * 1024) / 1e6).toFixed(0)} MB per 1K, scratch ${GB(n.scratch)})` +
    ` but ${GB(room)} of ${GB(machine.total)} are available`;
  const minimal = Math.min(n.context, MIN_CONTEXT) * n.kvPerToken + n.scratch;
  const ways: string[] = [];
  const fitContext = Math.floor((room - n.weights - n.scratch) / n.kvPerToken);
  if (fitContext >= MIN_CONTEXT) {
    const ctx = 2 ** Math.floor(Math.log2(fitContext)); // a round number that fits
    ways.push(`use --ctx ${ctx} (KV cache ${GB(ctx * n.kvPerToken)})`);
  }
  const smaller = n.weightsAt4Bit < n.weights * 0.9;
  if (smaller && n.weightsAt4Bit + minimal <= room) {
    const at4 = `weights ~${GB(n.weightsAt4Bit)}`;
    ways.push(float ? `quantize on load with --dtype q4_k or q4_0 (${at4})` : `use a smaller quant, 4.5 bits per weight throughout as Q4_0 (${at4})`);
  }
  if (ways.length > 0) return `${head}: ${ways.join(", or ")}`;
  if (n.weightsAt4Bit + minimal <= machine.total * 0.9) {
    const at4 = smaller ? ` and a 4-bit quant (weights ~${GB(n.weightsAt4Bit)})` : "";
    return `${head}: close other programs (they hold ${GB(machine.total - room)}), then use a smaller --ctx${at4}`;
  }
  return `${head}: too big for this machine even at 4-bit (the weights alone are ~${GB(n.weightsAt4Bit)} at Q4) — serve it with vLLM or SGLang across GPUs, behind the same OpenAI API (clients of \`qwenrt serve\` work unchanged)`;
}

/** Options of {@link preflight}. */
export interface PreflightOptions {
  /** Positions the KV cache is counted for. */
  readonly context: number;
  /** The machine's memory. */
  readonly probe: () => MachineMemory;
}

/**
 * Throw a `QwenrtError` (code `out_of_memory`, naming `where`) when the model would not fit; returns
 * the needs otherwise. Reads nothing but the declared table and the tensors' types.
 */
export function preflight(
  where: string,
  c: ModelConfig,
  table: readonly WeightSpec[],
  typeOf: (name: string) => WeightType,
  backend: Pick<KernelBackend, "kvType" | "heldMatrix">,
  opts: PreflightOptions,
): MemoryNeeds {
  const needs = memoryNeeds(c, table, typeOf, backend, opts.context);
  const float = table.every((s) => ["f32", "f16", "bf16"].includes(typeOf(s.name)));
  const verdict = memoryVerdict(needs, opts.probe(), float);
  if (verdict !== undefined) throw new QwenrtError(where, verdict, { code: "out_of_memory" });
  return needs;
}

/**
 * The context a model is loaded for: `requested` (checked: a positive integer) capped at
 * `max_position_embeddings`, or that maximum.
 */
export function loadContext(c: ModelConfig, requested: number | undefined): number {
  if (requested === undefined) return c.maxPositionEmbeddings;
  if (!Number.isSafeInteger(requested) || requested < 1) throw new QwenrtError("contextLength", `must be a positive integer, got ${requested}`);
  return Math.min(requested, c.maxPositionEmbeddings);
}

/** The smallest context a model is loaded for when no context was asked for and the whole one does not fit. */
export const MIN_AUTO_CONTEXT = 4096;

/**
 * The context to load for when none was asked for (as llama.cpp's `--fit`): the whole of `needs.context`
 * when it fits, else the largest power of two from {@link MIN_AUTO_CONTEXT} up whose KV cache fits
 * beside the weights (the start-up line states it; `--ctx` asks for more and is refused with the
 * numbers); when not even that fits, the whole context, for the preflight to refuse with the numbers.
 */
export function fittingContext(needs: MemoryNeeds, machine: MachineMemory): number {
  if (needs.total <= machine.available) return needs.context;
  const fit = Math.floor((machine.available - needs.weights - needs.scratch) / needs.kvPerToken);
  if (fit < MIN_AUTO_CONTEXT) return needs.context;
  return Math.min(needs.context, 2 ** Math.floor(Math.log2(fit)));
}

/** `preflight` as the loaders run it: with `opts.memory` (or Node's probe), unless it is `false`. */
export function loaderPreflight(
  where: string,
  c: ModelConfig,
  table: readonly WeightSpec[],
  tensors: ReadonlyMap<string, { readonly type: WeightType }>,
  backend: Pick<KernelBackend, "kvType" | "heldMatrix">,
  opts: { readonly contextLength?: number; readonly memory?: (() => MachineMemory) | false },
): number {
  let context = loadContext(c, opts.contextLength);
  if (opts.memory === false) return context;
  // Undeclared or missing names are the loader's to report; count what is there.
  const present = table.filter((s) => tensors.has(s.name));
  const typeOf = (name: string): WeightType => tensors.get(name)!.type;
  const probe = opts.memory ?? nodeMemoryProbe;
  if (opts.contextLength === undefined) context = fittingContext(memoryNeeds(c, present, typeOf, backend, context), probe());
  preflight(where, c, present, typeOf, backend, { context, probe });
  return context;
}
