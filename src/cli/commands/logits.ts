/**
 * `qwenrt logits <model> --ids FILE|- [--top-k K]`: a JSON array of token ids in, one JSON line per
 * position out: `{"pos","topk_ids","topk_logits","logsumexp"}` (the model's float32 forward pass).
 */
import { readFileSync } from "node:fs";
import { openModelForCli } from "../open-model.js";
import { backendFlagOptions, backendFlagUsage, createBackend, loadOptionsOf, parseBackendFlags } from "../backend.js";
import { logSumExp, topK } from "../../models/logit_stats.js";
import { QwenrtError } from "../../util/errors.js";
import { parseJson } from "../../util/json.js";
import { numberFlag, parseCommandArgs, readStdin, requireModelArg } from "../args.js";

export const usage = `usage: qwenrt logits <model> --ids FILE|- [--top-k K] [--chunk N]

Reads a JSON array of token ids (from FILE, or stdin with "-") and prints one JSON line per position:
{"pos": i, "topk_ids": [...], "topk_logits": [...], "logsumexp": x}

  <model>        model directory, .gguf file or Hub repo id
  --ids FILE|-   token ids as a JSON array of integers (required)
  --top-k K      entries per position (default 8)
  --chunk N      positions per forward step (default 64; bounds memory, not results)
${backendFlagUsage}
This command checks exactness, so its KV cache defaults to f32 (pass --kv-type f16 to see f16's).`;

/** Parse and check a JSON array of token ids; errors name `where`, the index and the value. */
export function parseIds(text: string, where: string, vocabSize?: number): Int32Array {
  const v = parseJson(text, where);
  if (!Array.isArray(v)) throw new QwenrtError(where, "expected a JSON array of token ids");
  const ids = new Int32Array(v.length);
  v.forEach((x: unknown, i) => {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) {
      throw new QwenrtError(where, `index ${i}: expected a non-negative integer token id, got ${JSON.stringify(x)}`);
    }
    if (vocabSize !== undefined && x >= vocabSize) {
      throw new QwenrtError(where, `index ${i}: token id ${x} is out of range [0, ${vocabSize})`);
    }
    ids[i] = x;
  });
  return ids;
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("logits", argv, {
    ids: { type: "string" },
    "top-k": { type: "string" },
    chunk: { type: "string" },
    ...backendFlagOptions,
  });
  const dir = requireModelArg("logits", positionals);
  if (values.ids === undefined) throw new QwenrtError("--ids", "is required (a file with a JSON array of ids, or - for stdin)");
  const parsed = parseBackendFlags(values);
  const choice = parsed.kind !== "ref" && parsed.kv === undefined ? { ...parsed, kv: "f32" as const } : parsed;
  const k = numberFlag("top-k", values["top-k"], { integer: true, min: 1 }) ?? 8;
  const chunk = numberFlag("chunk", values.chunk, { integer: true, min: 1 }) ?? 64;
  const where = values.ids === "-" ? "stdin" : values.ids;
  let text: string;
  if (values.ids === "-") text = await readStdin();
  else {
    try {
      text = readFileSync(values.ids, "utf8");
    } catch (e) {
      throw new QwenrtError(values.ids, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { code: "not_found" });
    }
  }
  parseIds(text, where); // shape errors before the (slow) model load
  const model = await (await openModelForCli(dir)).loadModel({ backend: await createBackend(choice), ...loadOptionsOf(choice) });
  const vocab = model.config.vocabSize;
  const ids = parseIds(text, where, vocab);
  const seq = model.newSequence(Math.max(1, ids.length));
  for (let from = 0; from < ids.length; from += chunk) {
    const part = ids.subarray(from, Math.min(from + chunk, ids.length));
    const [logits] = await model.forwardAsync([{ seq, ids: part }], { logits: "all", maxChunk: chunk });
    const lines: string[] = [];
    for (let r = 0; r < part.length; r++) {
      const row = logits!.subarray(r * vocab, (r + 1) * vocab);
      const top = topK(row, k);
      lines.push(JSON.stringify({ pos: from + r, topk_ids: top.ids, topk_logits: top.values, logsumexp: logSumExp(row) }));
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return 0;
}
