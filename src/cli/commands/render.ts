/**
 * `qwenrt render <model> [--request FILE|-]`: an OpenAI-style chat request body → the exact
 * prompt text the model sees (printed as is, no newline added).
 */
import { parseCommandArgs, readStdin, requireModelArg } from "../args.js";
import { parseChatRequest, type ChatRequest } from "../../chat/messages.js";
import { openModelForCli } from "../open-model.js";
import { QwenrtError } from "../../util/errors.js";
import { parseJson, readJsonFile } from "../../util/json.js";

/** Help text. */
export const usage = `usage: qwenrt render <model> [--request FILE|-]

Render an OpenAI-style chat request body with the model's chat template and print the exact prompt
text (no trailing newline is added).

  <model>            directory with tokenizer_config.json (and chat_template.jinja, if any),
                     a .gguf file (tokenizer.chat_template) or a Hub repo id
  --request FILE|-   the request JSON (default: stdin). Used fields: messages, tools,
                     add_generation_prompt (default true), chat_template_kwargs, enable_thinking`;

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("render", argv, { request: { type: "string" } });
  const template = (await openModelForCli(requireModelArg("render", positionals))).chatTemplate();
  const source = values.request ?? "-";
  const sourceName = source === "-" ? "stdin" : source;
  const body = source === "-" ? parseJson(await readStdin(), sourceName) : readJsonFile(source);
  let request: ChatRequest;
  try {
    request = parseChatRequest(body);
  } catch (e) {
    // Name the file as well as the field: `req.json: messages[2].role: must be one of ...`.
    if (e instanceof QwenrtError) throw new QwenrtError(`${sourceName}: ${e.where}`, e.message.slice(e.where.length + 2), { code: e.code });
    throw e;
  }
  process.stdout.write(template.renderRequest(request));
  return 0;
}
