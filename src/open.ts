/**
 * One entry point from a `<model>` argument to its parts, for every command: a Hugging Face model
 * directory, a `.gguf` file (any part of a split model), or a Hub repo id (resolved to one of those
 * through `hub/ref.ts`). Parts load on first use, so `qwenrt tokenize` never reads weights (from a
 * `.gguf`, only its header) and `render` never builds a model. It sits above `models/`, `chat/` and `hub/` (it ties
 * them together), for the CLI and the server alike.
 */
import { statSync } from "node:fs";
import { chatTemplateFromGguf, ggufHasChatTemplate } from "./chat/gguf.js";
import { loadChatTemplate, type ChatTemplate } from "./chat/template.js";
import { readGgufMetadata, type GgufHeader } from "./formats/gguf/read.js";
import { resolveModel, type ResolveOptions } from "./hub/ref.js";
import { createWasmBackend } from "./kernels/wasm/index.js";
import { tokenizerFromGguf } from "./tokenizer/gguf.js";
import { Tokenizer } from "./tokenizer/index.js";
import { QwenrtError } from "./util/errors.js";
import { loadModel, type LoadOptions } from "./models/load.js";
import { loadGgufModel } from "./models/load_gguf.js";
import type { Model } from "./models/model.js";

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
  loadModel(opts?: LoadOptions): Promise<Model>;
}

/** Options of `openModelSource` / `openModel`: where to resolve Hub references from. */
export interface OpenOptions extends LoadOptions {
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
      loadModel: (o = {}) => (model ??= loadModel(path, { ...opts, ...o })),
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
 * Resolve `ref` and load the model, its tokenizer and chat template. Without `opts.backend` the model
 * runs on the WebAssembly SIMD backend with all cores (`createWasmBackend()`), as the CLI does;
 * `model.backend.dispose()` stops its worker threads.
 *
 * @example
 * const { model, tokenizer, template } = await openModel("Qwen3-0.6B-Q8_0.gguf");
 */
export async function openModel(ref: string, opts: OpenOptions = {}): Promise<OpenedModel> {
  const src = await openModelSource(ref, opts);
  const tokenizer = src.tokenizer();
  const template = src.hasChatTemplate() ? src.chatTemplate() : undefined;
  const backend = opts.backend ?? (await createWasmBackend());
  try {
    const model = await src.loadModel({ backend });
    return { model, tokenizer, template, source: src.source, path: src.path };
  } catch (e) {
    if (opts.backend === undefined) backend.dispose();
    throw e;
  }
}
