/**
 * Which files of a repo a model needs: the Hugging Face set (config, tokenizer, safetensors shards)
 * or one GGUF model chosen by quant tag, with split GGUFs (`-00001-of-00003.gguf`) kept whole.
 */
import { QwenrtError } from "../util/errors.js";
import { isObject } from "../util/json.js";

/** The files to fetch (or find in the cache) for one model. */
export type ModelFiles =
  | { readonly format: "safetensors"; readonly files: readonly string[] }
  | {
      readonly format: "gguf";
      readonly files: readonly string[];
      /** The file a loader opens: the only file, or part 1 of a split model. */
      readonly entry: string;
    };

/** Files kept beside the weights of a safetensors model when the repo has them. */
const OPTIONAL_FILES = ["generation_config.json", "tokenizer_config.json", "chat_template.jinja"];
const SAFETENSORS_INDEX = "model.safetensors.index.json";
/** The quant picked when a GGUF repo is named without a tag (Ollama and llama.cpp do the same). */
const DEFAULT_QUANT = "Q4_K_M";
const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;

function isRootFile(path: string, suffix: string): boolean {
  return !path.includes("/") && path.toLowerCase().endsWith(suffix);
}

/** One GGUF model: a single file or every part of a split one, under a common stem. */
export interface GgufGroup {
  readonly stem: string;
  readonly parts: string[];
  readonly count: number;
}

/** The GGUF models among `paths`: split parts grouped under their stem, sorted by stem. */
export function groupGguf(paths: readonly string[]): GgufGroup[] {
  const groups = new Map<string, GgufGroup>();
  for (const p of paths) {
    if (!p.toLowerCase().endsWith(".gguf")) continue;
    const m = SPLIT.exec(p);
    const stem = m === null ? p.slice(0, -".gguf".length) : p.slice(0, m.index);
    const count = m === null ? 1 : Number(m[2]);
    const key = `${stem}\u0000${count}`;
    const g = groups.get(key) ?? { stem, parts: [], count };
    g.parts.push(p);
    groups.set(key, g);
  }
  for (const g of groups.values()) g.parts.sort();
  return [...groups.values()].sort((a, b) => a.stem.localeCompare(b.stem));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A tag matches a whole `-`, `.` or `/` delimited run of the path (so `Q4_K` never matches `Q4_K_M`). */
export function matchesTag(stem: string, tag: string): boolean {
  return new RegExp(`(^|[-./])${escapeRegExp(tag)}($|[-./])`, "i").test(stem);
}

/** A multimodal projector (`mmproj-*.gguf`), not a language model. */
export function isProjector(g: GgufGroup): boolean {
  return /(^|\/)mmproj/i.test(g.stem);
}

function checkComplete(g: GgufGroup, repo: string): void {
  if (g.count === 1) return;
  const have = new Set(g.parts.map((p) => Number(SPLIT.exec(p)?.[1])));
  const missing: number[] = [];
  for (let i = 1; i <= g.count; i++) if (!have.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw new QwenrtError(repo, `split GGUF ${g.stem} is missing part(s) ${missing.join(", ")} of ${g.count}`, {
      code: "not_found",
    });
  }
}

function pickGguf(paths: readonly string[], repo: string, quant: string | undefined): ModelFiles {
  const all = groupGguf(paths);
  const names = all.map((g) => (g.count === 1 ? g.parts[0] : `${g.stem}-*-of-${String(g.count).padStart(5, "0")}.gguf`));
  let candidates: GgufGroup[];
  if (quant !== undefined) {
    candidates = all.filter((g) => matchesTag(g.stem, quant));
    if (candidates.length === 0) {
      throw new QwenrtError(`${repo}:${quant}`, `no .gguf file matches quant "${quant}"; available: ${names.join(", ")}`, {
        code: "not_found",
      });
    }
  } else {
    const models = all.filter((g) => !isProjector(g));
    candidates = models.length === 1 ? models : models.filter((g) => matchesTag(g.stem, DEFAULT_QUANT));
    if (candidates.length === 0) {
      throw new QwenrtError(repo, `several GGUF files; name one with ${repo}:<quant>; available: ${names.join(", ")}`);
    }
  }
  if (candidates.length > 1) candidates = candidates.filter((g) => !isProjector(g));
  if (candidates.length !== 1) {
    const list = candidates.map((g) => g.parts[0]).join(", ");
    throw new QwenrtError(`${repo}:${quant ?? DEFAULT_QUANT}`, `quant tag is ambiguous, matches: ${list}`);
  }
  const chosen = candidates[0];
  checkComplete(chosen, repo);
  return { format: "gguf", files: chosen.parts, entry: chosen.parts[0] };
}

/**
 * Choose the files of a model from a repo's file list (the Hub listing, or a cached snapshot).
 * A quant tag selects a GGUF model; without one a repo with `config.json` and safetensors gives the
 * Hugging Face set, and a GGUF-only repo gives its single model (or its Q4_K_M).
 *
 * @example
 * selectModelFiles(["config.json", "tokenizer.json", "model.safetensors"], "Qwen/Qwen3-0.6B");
 * // { format: "safetensors", files: ["config.json", "tokenizer.json", "model.safetensors"] }
 */
export function selectModelFiles(paths: readonly string[], repo: string, quant?: string): ModelFiles {
  const hasGguf = paths.some((p) => p.toLowerCase().endsWith(".gguf"));
  if (quant !== undefined) {
    if (!hasGguf) throw new QwenrtError(`${repo}:${quant}`, "a quant tag needs a GGUF repo, but it has no .gguf files");
    return pickGguf(paths, repo, quant);
  }
  const weights = paths.filter((p) => isRootFile(p, ".safetensors"));
  if (weights.length === 0 && hasGguf) return pickGguf(paths, repo, undefined);
  const present = new Set(paths);
  const missing = ["config.json", "tokenizer.json"].filter((f) => !present.has(f));
  if (weights.length === 0) missing.push("*.safetensors");
  if (missing.length > 0) {
    throw new QwenrtError(repo, `not a loadable model: missing ${missing.join(", ")}`, { code: "not_found" });
  }
  const extra = [...OPTIONAL_FILES, SAFETENSORS_INDEX].filter((f) => present.has(f));
  return { format: "safetensors", files: ["config.json", "tokenizer.json", ...extra, ...weights.sort()] };
}

/** The shard names a `model.safetensors.index.json` refers to (its `weight_map` values). */
export function indexShards(index: unknown, where: string): string[] {
  const map = isObject(index) ? index.weight_map : undefined;
  if (!isObject(map)) throw new QwenrtError(where, '"weight_map" must be an object');
  const shards = new Set<string>();
  for (const v of Object.values(map)) {
    if (typeof v !== "string") throw new QwenrtError(where, '"weight_map" values must be file names');
    shards.add(v);
  }
  return [...shards].sort();
}
