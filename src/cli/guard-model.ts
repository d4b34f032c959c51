/**
 * Load a guard model for `serve --guard` and `moderate`: a Qwen3Guard-Stream directory
 * (`Qwen3ForGuardModel`) with its heads, anything else as a Qwen3Guard-Gen (plain causal LM) model.
 */
import type { StreamGuard } from "../engine/guard-stream.js";
import { isStreamGuardDir, loadStreamGuard } from "../models/load.js";
import type { LoadOptions } from "../models/load_info.js";
import type { Model } from "../models/model.js";
import type { ModelSource } from "../open.js";
import type { Tokenizer } from "../tokenizer/index.js";

/** A loaded guard: `stream` is set for a Stream guard. */
export interface LoadedGuard {
  readonly model: Model;
  readonly tokenizer: Tokenizer;
  readonly stream?: StreamGuard;
}

/** Load `source` as a guard (weights read once). */
export async function loadGuard(source: ModelSource, opts: LoadOptions): Promise<LoadedGuard> {
  const tokenizer = source.tokenizer();
  if (!isStreamGuardDir(source.path)) return { model: await source.loadModel(opts), tokenizer };
  const { model, heads } = await loadStreamGuard(source.path, opts);
  return { model, tokenizer, stream: { model, heads, tokenizer, template: source.chatTemplate() } };
}
