/**
 * `qwenrt show <model> [--json]`: what a model is, without loading its weights or downloading it —
 * architecture and sizes, parameters, context length, weights on disk, KV cache per token, what its
 * chat template supports (thinking, tools) and its sampling defaults.
 */
import { openModelSource } from "../../open.js";
import { QwenrtError } from "../../util/errors.js";
import { parseCommandArgs, requireModelArg } from "../args.js";
import { describeModel, type ModelInfo } from "../model-info.js";
import { formatBytes } from "../progress.js";
import { formatParams } from "../startup.js";

export const usage = `usage: qwenrt show <model> [--json]

Show a model: architecture, parameters, context length, weights, KV cache size, chat template
capabilities (thinking, tools) and sampling defaults. Reads config and headers only; a Hub id must
be in the cache (qwenrt pull it first).

  <model>   model directory, .gguf file or Hub repo id
  --json    the same as one JSON object`;

/** The sections as indented text, like \`ollama show\`. */
export function formatShow(m: ModelInfo): string {
  const section = (title: string, rows: readonly (readonly [string, string])[]): string => {
    const w = Math.max(...rows.map(([k]) => k.length));
    return `  ${title}\n${rows.map(([k, v]) => `    ${k.padEnd(w)}   ${v}`).join("\n")}\n`;
  };
  const model: [string, string][] = [
    ["name", m.name],
    ["architecture", m.architectureClass === undefined ? m.architecture : `${m.architecture} (${m.architectureClass})`],
    ["parameters", formatParams(m.parameters)],
    ["context length", m.contextLength.toLocaleString("en-US")],
    ["layers", String(m.layers)],
    ["embedding length", String(m.hiddenSize)],
    ["attention heads", `${m.heads} query, ${m.kvHeads} key/value, ${m.headDim} wide`],
    ["vocabulary", m.vocabSize.toLocaleString("en-US")],
    ...(m.experts === undefined ? [] : [["experts", `${m.experts.count}, ${m.experts.perToken} per token`] as [string, string]]),
    ["rope", `theta ${m.ropeTheta}, ${m.ropeScaling} scaling`],
    ["weights", `${m.weightType}, ${formatBytes(m.weightBytes)} (${m.format})${m.tiedEmbeddings ? ", tied embeddings" : ""}`],
    ["KV cache", `${formatBytes(m.kvBytesPerToken * 1000)} per 1k tokens (f16)`],
    ["path", m.path],
  ];
  const params = Object.entries(m.sampling).map(([k, v]): [string, string] => [k, String(v)]);
  return [
    section("Model", model),
    `  Capabilities\n${m.capabilities.map((c) => `    ${c}`).join("\n")}\n`,
    ...(params.length === 0 ? [] : [section("Parameters", params)]),
  ].join("\n");
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("show", argv, { json: { type: "boolean" } });
  const ref = requireModelArg("show", positionals);
  // Offline: show never downloads; a Hub id not in the cache says how to get it.
  const src = await openModelSource(ref, { resolve: { env: { ...process.env, HF_HUB_OFFLINE: "1" } } }).catch((e: unknown) => {
    if (e instanceof QwenrtError && /not in the Hugging Face cache/.test(e.message)) {
      throw new QwenrtError(ref, `not downloaded yet (qwenrt pull ${ref})`, { code: "not_found" });
    }
    throw e;
  });
  const info = describeModel(src);
  process.stdout.write(values.json === true ? `${JSON.stringify(info, null, 2)}\n` : formatShow(info));
  return 0;
}
