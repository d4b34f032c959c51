/**
 * KV snapshots for the Responses API: the model file's hash, and the hooks that write a stored
 * response's cache to disk when it finishes and bring a snapshot back into the prefix cache before
 * a turn that continues it (engine/kv-snapshot.ts has the store and the file format).
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { KvSnapshots } from "../engine/kv-snapshot.js";
import type { Sequence } from "../models/model.js";
import { restoreSequence, saveSequence } from "../models/snapshot.js";
import { errorMessage } from "../util/errors.js";
import type { ResponsesContext } from "./responses.js";
import type { Runtime } from "./runtime.js";

/** The files whose bytes define a model: a GGUF file, or a directory's config and weights. */
function modelFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => f === "config.json" || f.endsWith(".safetensors") || f.endsWith(".gguf"))
    .sort()
    .map((f) => join(path, f));
}

/**
 * SHA-256 over the model's files (names and bytes, in name order), hex.
 *
 * @example
 * await modelFileHash("/models/Qwen3-0.6B"); // "3f1c…" (64 hex digits)
 */
export async function modelFileHash(path: string): Promise<string> {
  const h = createHash("sha256");
  for (const file of modelFiles(path)) {
    h.update(`${file.slice(path.length)}\0`);
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

/**
 * Open the snapshots of `rt`'s model under `dir` (hashing the model files first) and the hooks
 * that use them. Resolves to undefined (logged) when the directory cannot be used.
 */
export async function openKvSnapshots(
  rt: Runtime,
  modelPath: string,
  dir: string,
  budgetBytes: number,
  log: (line: string) => void,
): Promise<{ snapshots: KvSnapshots<Sequence>; hooks: Pick<ResponsesContext, "onStored" | "beforeTurn"> } | undefined> {
  let hash: string;
  try {
    hash = await modelFileHash(modelPath);
  } catch (e) {
    log(`qwenrt: KV snapshots: cannot hash the model files at ${modelPath} (${errorMessage(e)}); continuing without them`);
    return undefined;
  }
  const codec = { save: saveSequence, restore: (layers: readonly Uint8Array[], length: number) => restoreSequence(rt.model, layers, length) };
  const snapshots = KvSnapshots.open(dir, hash, codec, budgetBytes, log);
  if (snapshots === undefined) return undefined;
  log(`qwenrt: KV snapshots in ${dir}: ${snapshots.count} on disk, budget ${budgetBytes} bytes`);
  const hooks: Pick<ResponsesContext, "onStored" | "beforeTurn"> = {
    onStored(id, turn, outcome) {
      // The finished sequence is back in the prefix cache; its bytes are taken synchronously here.
      const held = rt.prefixCache.peek([...turn.promptIds, ...outcome.ids]);
      if (held === undefined || held.common !== held.ids.length) return;
      void snapshots.save(held.ids, held.seq).then((saved) => {
        if (saved) log(`qwenrt: KV snapshot of ${id}: ${held.ids.length} tokens saved`);
      });
    },
    async beforeTurn(turn) {
      const inMemory = rt.prefixCache.peek(turn.promptIds)?.common ?? 0;
      const hit = await snapshots.find(turn.promptIds, inMemory);
      if (hit !== undefined) rt.prefixCache.release(hit.seq, hit.ids);
    },
  };
  return { snapshots, hooks };
}
