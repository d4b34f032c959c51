/**
 * `qwenrt moderate <guard-model> < conversation.json`: judge the last message of a conversation
 * with a Qwen3Guard-Gen model and print the verdict as one JSON line.
 */
import { guardMessages } from "../../chat/guard.js";
import { parseChatRequest } from "../../chat/messages.js";
import { moderate } from "../../engine/guard.js";
import { parseJson } from "../../util/json.js";
import { parseCommandArgs, readStdin, requireModelArg } from "../args.js";
import { backendFlagOptions, backendFlagUsage, createBackend, loadOptionsOf, parseBackendFlags } from "../backend.js";
import { openModelForCli } from "../open-model.js";

export const usage = `usage: qwenrt moderate <guard-model> < conversation.json

Judges the last message of a conversation with a Qwen3Guard-Gen model: a user message as a
prompt, an assistant message as a response (then also whether it refuses). stdin holds the
messages as a JSON array or as {"messages": [...]}; stdout gets one JSON line:
{"target","safety","categories","refusal"?,"probabilities"}.
${backendFlagUsage}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("moderate", argv, { ...backendFlagOptions });
  const source = await openModelForCli(requireModelArg("moderate", positionals));
  const input = parseJson(await readStdin(), "stdin");
  const messages = guardMessages(parseChatRequest(Array.isArray(input) ? { messages: input } : input).messages);
  const choice = parseBackendFlags(values);
  const model = await source.loadModel({ backend: await createBackend(choice), ...loadOptionsOf(choice) });
  try {
    const v = await moderate(model, source.tokenizer(), messages, { refusal: true });
    const out = { target: v.target, safety: v.safety, categories: v.categories, ...(v.refusal === undefined ? {} : { refusal: v.refusal }), probabilities: v.probabilities };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    model.backend.dispose();
  }
  return 0;
}
