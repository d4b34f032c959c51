/**
 * One entry point from a `<model>` argument to its parts, for every command: a Hugging Face model
 * directory, a `.gguf` file (any part of a split model), or a Hub repo id (resolved to one of those
 * through `hub/ref.ts`). Parts load on first use, so `qwenrt tokenize` never reads weights (from a
 * `.gguf`, only its header) and `render` never builds a model. It sits above `models/`, `chat/` and `hub/` (it ties
 * them together), for the CLI and the server alike.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import { chatTemplateFromGguf, ggufHasChatTemplate } from "./chat/gguf.js";
import { loadChatTemplate, type ChatTemplate } from "./chat/template.js";
import { readGgufIndex, readGgufMetadata, type GgufHeader } from "./formats/gguf/read.js";
import { readSafetensorsDirIndex } from "./formats/safetensors.js";
import { findNonFinite, type NonFinite } from "./formats/weight_scan.js";
import { isObject, readJsonFile } from "./util/json.js";
import { resolveModel, type ResolveOptions } from "./hub/ref.js";
import { tokenizerFromGguf } from "./tokenizer/gguf.js";
import { Tokenizer } from "./tokenizer/index.js";
import { quantizedGguf } from "./tools/quant_cache.js";
import { errorMessage, QwenrtError } from "./util/errors.js";
import type { WasmDtype } from "./kernels/wasm/matrix.js";
import { loadModel, preflightModelDir, type LoadOptions } from "./models/load.js";
import { loadGgufModel } from "./models/load_gguf.js";
import type { Model } from "./models/model.js";

/** Quantize-on-load (`--dtype`) of a float checkpoint through the quantized-weights cache. */
export interface QuantizeOnLoad {
  readonly dtype: WasmDtype;
  /** Load (and on a first start make) the cached GGUF; false: quantize in memory on every start. */
  readonly cache: boolean;
  /** Cache directory (default `~/.cache/qwenrt/quantized`, see tools/quant_cache.ts). */
  readonly cacheDir?: string;
  /** Quantizer threads for a first start (default: all cores). */
  readonly threads?: number;
  /** Hears one line when an entry is made, or when the cache cannot be used and why. */
  readonly log?: (line: string) => void;
}

/** Options of `ModelSource.loadModel`. */
export interface SourceLoadOptions extends LoadOptions {
  /** For a model directory: the `--dtype` its float weights are quantized to. The backend must
   * quantize to the same dtype (`createWasmBackend({ dtype })`); ignored for `.gguf` files. */
  readonly quantize?: QuantizeOnLoad;
}

/** Where a directory's quantized weights came from. */
export interface QuantCacheUse {
  readonly path: string;
  readonly dtype: WasmDtype;
  /** Made on this start (then `seconds` it took), else found. */
  readonly created: boolean;
  readonly seconds: number;
}

// Side table, as load_info.ts's: the model belongs to the architecture code.
const cacheUse = new WeakMap<Model, QuantCacheUse>();

/**
 * The cache file a model's weights were loaded from, when `openModelSource(...).loadModel` used the
 * quantized-weights cache.
 *
 * @example
 * quantCacheOf(model)?.path; // "~/.cache/qwenrt/quantized/Qwen--Qwen3-0.6B-q4_k-1a2b….gguf"
 */
export function quantCacheOf(model: Model): QuantCacheUse | undefined {
  return cacheUse.get(model);
}

/** Load a model directory, quantized through the cache when asked (see {@link QuantizeOnLoad}). */
async function loadDir(path: string, o: SourceLoadOptions): Promise<Model> {
  const q = o.quantize;
  if (q === undefined || !q.cache) return loadModel(path, o);
  await preflightModelDir(path, o); // a model that cannot fit is refused before minutes of quantizing
  let entry;
  try {
    entry = await quantizedGguf(path, q.dtype, {
      ...(q.cacheDir === undefined ? {} : { dir: q.cacheDir }),
      ...(q.threads === undefined ? {} : { threads: q.threads }),
      onProgress: (done, total) => o.onProgress?.({ phase: "quantize", done, total }),
    });
  } catch (e) {
    q.log?.(`--dtype ${q.dtype}: the quantized-weights cache cannot be used (${errorMessage(e)}); quantizing in memory`);
    return loadModel(path, o);
  }
  if (entry.created) q.log?.(`quantized to ${q.dtype} in ${entry.seconds.toFixed(1)}s, once: later starts load ${entry.path}`);
  const model = await loadModel(path, { ...o, weightsFile: entry.path });
  cacheUse.set(model, { path: entry.path, dtype: q.dtype, created: entry.created, seconds: entry.seconds });
  return model;
}

/** Which kind of checkpoint a model reference resolved to. */
export type ModelFormat = "dir" | "gguf";

/**
 * A resolved model whose parts load lazily (each at most once).
 *
 * @example
 * const src = await openModelSource("Qwen3-0.6B-Q8_0.gguf");
 * src.tokenizer().encode("hi", { addSpecialTokens: false });
 */
export interface ModelSource {
  readonly source: ModelFormat;
  /** The local directory or `.gguf` file. */
  readonly path: string;
  tokenizer(): Tokenizer;
  /** The chat template; an error naming the file when the model has none. */
  chatTemplate(): ChatTemplate;
  /** Whether the model carries a chat template (base models may not). */
  hasChatTemplate(): boolean;
  /** Build the model (weights read on the first call only; later calls return the same model and
   * ignore their options). `opts.onProgress` hears the read and load progress. */
  loadModel(opts?: SourceLoadOptions): Promise<Model>;
  /**
   * Scan every weight for NaN or ±Infinity (`--check-weights`), reading the files a slab at a time;
   * the first one found, or undefined. Computed once.
   */
  findNonFinite(): Promise<NonFinite | undefined>;
}

/** Options of `openModelSource` / `openModel`: where to resolve Hub references from. */
export interface OpenOptions extends SourceLoadOptions {
  readonly resolve?: ResolveOptions;
}

function lazy<T>(make: () => T): () => T {
  let done = false;
  let value: T | undefined;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value as T;
  };
}

/**
 * `config.json`'s layer count against the checkpoint's tensors, before anything is allocated by it:
 * `num_hidden_layers: 1e9` over a 2-layer file is an error naming the field at once, not a minute of
 * building a billion layers' weight table and running out of memory.
 */
async function checkLayerCount(dir: string): Promise<void> {
  const configPath = join(dir, "config.json");
  const raw = readJsonFile(configPath);
  const config = isObject(raw) ? raw : {};
  const text = config.text_config;
  const layers = (isObject(text) && "num_hidden_layers" in text ? text : config).num_hidden_layers;
  if (typeof layers !== "number") return; // the config parser names what is wrong
  let held = 0;
  for (const name of (await readSafetensorsDirIndex(dir)).tensors.keys()) {
    const m = /(?:^|\.)layers\.(\d+)\./.exec(name);
    if (m !== null) held = Math.max(held, Number(m[1]) + 1);
  }
  if (layers > held) {
    throw new QwenrtError(configPath, `"num_hidden_layers" is ${layers} but the checkpoint's tensors hold ${held} layers`);
  }
}

function formatOf(path: string): ModelFormat {
  const st = statSync(path);
  if (st.isDirectory()) return "dir";
  if (st.isFile() && /\.gguf$/i.test(path)) return "gguf";
  throw new QwenrtError(path, "not a model directory or a .gguf file");
}

/**
 * Resolve `ref` (directory, `.gguf` file or Hub repo id) without loading anything yet.
 *
 * @example
 * const src = await openModelSource("test/fixtures/qwen3-tokenizer");
 * src.source; // "dir"
 */
export async function openModelSource(ref: string, opts: OpenOptions = {}): Promise<ModelSource> {
  const path = await resolveModel(ref, opts.resolve);
  const source = formatOf(path);
  let model: Promise<Model> | undefined;
  if (source === "dir") {
    const template = lazy(() => loadChatTemplate(path));
    return {
      source,
      path,
      tokenizer: lazy(() => Tokenizer.fromDir(path)),
      chatTemplate: template,
      hasChatTemplate: () => {
        try {
          template();
          return true;
        } catch (e) {
          if (e instanceof QwenrtError && e.code === "not_found") return false;
          throw e;
        }
      },
      loadModel: (o = {}) => (model ??= checkLayerCount(path).then(() => loadDir(path, { ...opts, ...o }))),
      findNonFinite: lazy(async () => findNonFinite((await readSafetensorsDirIndex(path)).tensors)),
    };
  }
  // The tokenizer and template need only the header; the whole file is read when the model loads.
  const header: () => GgufHeader = lazy(() => readGgufMetadata(path));
  return {
    source,
    path,
    tokenizer: lazy(() => tokenizerFromGguf(header())),
    chatTemplate: lazy(() => chatTemplateFromGguf(header())),
    hasChatTemplate: () => ggufHasChatTemplate(header()),
    loadModel: (o = {}) => (model ??= loadGgufModel(path, { ...opts, ...o })),
    findNonFinite: lazy(() => findNonFinite(readGgufIndex(path).tensors)),
  };
}

/** Everything a command needs from a model. */
export interface OpenedModel {
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  /** Undefined when the model has no chat template. */
  readonly template: ChatTemplate | undefined;
  readonly source: ModelFormat;
  readonly path: string;
}

/**
 * Resolve `ref` and load the model, its tokenizer and chat template.
 *
 * @example
 * const { model, tokenizer, template } = await openModel("Qwen3-0.6B-Q8_0.gguf");
 */
export async function openModel(ref: string, opts: OpenOptions = {}): Promise<OpenedModel> {
  const src = await openModelSource(ref, opts);
  const tokenizer = src.tokenizer();
  const template = src.hasChatTemplate() ? src.chatTemplate() : undefined;
  const model = await src.loadModel();
  return { model, tokenizer, template, source: src.source, path: src.path };
}
