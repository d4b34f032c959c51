/**
 * Hub settings read from the environment, with the same names and defaults as Python's
 * `huggingface_hub` (`constants.py`), so one cache and one token serve both.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { QwenrtError } from "../util/errors.js";

/** Environment variables as a plain map; `process.env` by default, a literal in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Settings every Hub operation needs; build with {@link hubSettings}. */
export interface HubSettings {
  /** Base URL without a trailing slash (`HF_ENDPOINT`, default `https://huggingface.co`). */
  readonly endpoint: string;
  /** Cache root holding `models--{org}--{name}` folders. */
  readonly cacheDir: string;
  /** `HF_HUB_OFFLINE` is set: never touch the network. */
  readonly offline: boolean;
  /** Bearer token (`HF_TOKEN`, else the token file written by `huggingface-cli login`). */
  readonly token: string | undefined;
}

const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

function isTrue(v: string | undefined): boolean {
  return v !== undefined && TRUE_VALUES.has(v.trim().toUpperCase());
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : p;
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  const home = nonEmpty(env.HF_HOME);
  if (home !== undefined) return expandHome(home);
  return join(expandHome(nonEmpty(env.XDG_CACHE_HOME) ?? "~/.cache"), "huggingface");
}

/**
 * The Hub cache root: `$HF_HUB_CACHE`, else the legacy `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`.
 *
 * @example
 * hubCacheDir({ HF_HOME: "/data/hf" }); // "/data/hf/hub"
 */
export function hubCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  return explicit !== undefined ? expandHome(explicit) : join(hfHome(env), "hub");
}

/**
 * qwenrt's own cache root, beside the Hugging Face one: `$QWENRT_CACHE_DIR`, else `qwenrt` next to
 * `$HF_HOME` (`~/.cache/qwenrt` by default). Quantized weights live in its `quantized/`.
 *
 * @example
 * qwenrtCacheDir({ HF_HOME: "/data/hf" }); // "/data/qwenrt"
 */
export function qwenrtCacheDir(env: Env = process.env): string {
  const explicit = nonEmpty(env.QWENRT_CACHE_DIR);
  return explicit !== undefined ? expandHome(explicit) : join(dirname(hfHome(env)), "qwenrt");
}

function readToken(env: Env): string | undefined {
  const fromEnv = nonEmpty(env.HF_TOKEN) ?? nonEmpty(env.HUGGING_FACE_HUB_TOKEN);
  if (fromEnv !== undefined) return fromEnv.trim();
  const path = nonEmpty(env.HF_TOKEN_PATH) ?? join(hfHome(env), "token");
  try {
    return nonEmpty(readFileSync(expandHome(path), "utf8").trim());
  } catch {
    return undefined; // no token file: anonymous access, like huggingface_hub
  }
}

/**
 * Read all Hub settings from an environment.
 *
 * @example
 * const s = hubSettings({ HF_ENDPOINT: "http://127.0.0.1:8080", HF_HOME: "/tmp/hf" });
 */
export function hubSettings(env: Env = process.env): HubSettings {
  const endpoint = (nonEmpty(env.HF_ENDPOINT) ?? "https://huggingface.co").trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+/.test(endpoint) || !URL.canParse(endpoint)) {
    throw new QwenrtError("HF_ENDPOINT", `must be an http(s) URL, got "${endpoint}"`, { code: "invalid_input" });
  }
  return {
    endpoint,
    cacheDir: hubCacheDir(env),
    offline: isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE),
    token: readToken(env),
  };
}
