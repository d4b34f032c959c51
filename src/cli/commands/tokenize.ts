/**
 * `qwenrt tokenize <model> [--jsonl]`: stdin text → one line with the JSON array of token ids
 * (no special tokens added). With `--jsonl`, each stdin line is a JSON string and each output line
 * is its id array.
 */
import { parseCommandArgs, readStdin, requireModelArg } from "../args.js";
import { openModelForCli } from "../open-model.js";
import { QwenrtError } from "../../util/errors.js";
import { parseJson } from "../../util/json.js";

/** Help text for `qwenrt tokenize --help`. */
export const usage = `usage: qwenrt tokenize <model> [--jsonl]

Reads text from stdin and prints its token ids as a JSON array (no special tokens added).
  <model>   model directory, .gguf file or Hub repo id
  --jsonl   each input line is a JSON string; print one id array per line`;

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("tokenize", argv, { jsonl: { type: "boolean" } });
  const tokenizer = (await openModelForCli(requireModelArg("tokenize", positionals))).tokenizer();
  const input = await readStdin();
  if (values.jsonl !== true) {
    process.stdout.write(`${JSON.stringify(tokenizer.encode(input, { addSpecialTokens: false }))}\n`);
    return 0;
  }
  const lines = input.split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // the final newline ends the last line
  const out: string[] = [];
  lines.forEach((line, i) => {
    const where = `stdin line ${i + 1}`;
    const text = parseJson(line, where);
    if (typeof text !== "string") throw new QwenrtError(where, "expected a JSON string");
    out.push(JSON.stringify(tokenizer.encode(text, { addSpecialTokens: false })));
  });
  process.stdout.write(out.length === 0 ? "" : `${out.join("\n")}\n`);
  return 0;
}
