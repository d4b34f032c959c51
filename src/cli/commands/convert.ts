/**
 * `qwenrt convert <hf-dir> --out model.gguf [--type f16|bf16|f32|q8_0|q4_0|q4_k_m|q6_k]
 * [--tokenizer DIR] [--name NAME]`: write a Hugging Face checkpoint as a GGUF file llama.cpp loads.
 * Notes (type fallbacks, skipped tensors) go to stderr, the written path to stdout.
 */
import { availableParallelism } from "node:os";
import { numberFlag, parseCommandArgs, requireModelArg } from "../args.js";
import { Progress, formatBytes, formatDuration } from "../progress.js";
import { convertHfToGguf } from "../../tools/convert.js";
import { convertTypes, type ConvertType } from "../../formats/gguf/quant_mix.js";
import { QwenrtError } from "../../util/errors.js";

/** Help text. */
export const usage = `usage: qwenrt convert <hf-dir> --out FILE.gguf [--type TYPE] [--tokenizer DIR] [--name NAME]

Convert a Hugging Face checkpoint (config.json, *.safetensors, tokenizer.json) to GGUF with
llama.cpp's tensor names, metadata and per-tensor type mix.

  --out FILE        output .gguf path (required)
  --type TYPE       ${convertTypes.join(" | ")} (default f16); q4_k_m is llama.cpp's Q4_K_M mix
  --tokenizer DIR   directory holding tokenizer.json / tokenizer_config.json (default <hf-dir>)
  --name NAME       general.name (default: the directory name)
  --pure            one type for every matrix (llama-quantize --pure): no Q6_K output or Q4_K_M mix
  --threads N       quantizer threads (default: all cores, ${availableParallelism()} here)

Tensors are read, quantized (WebAssembly SIMD on a worker pool) and written a slab at a time; the
file appears when complete. A progress bar shows on a terminal.`;

function isConvertType(s: string): s is ConvertType {
  return (convertTypes as readonly string[]).includes(s);
}

/** Run the command. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("convert", argv, {
    out: { type: "string" },
    type: { type: "string" },
    tokenizer: { type: "string" },
    name: { type: "string" },
    pure: { type: "boolean" },
    threads: { type: "string" },
  });
  const dir = requireModelArg("convert", positionals);
  if (values.out === undefined) throw new QwenrtError("--out", "is required (the .gguf file to write)", { code: "invalid_flag" });
  const type = values.type ?? "f16";
  if (!isConvertType(type)) {
    throw new QwenrtError("--type", `"${type}" is not one of ${convertTypes.join(", ")}`, { code: "invalid_flag" });
  }
  const threads = numberFlag("threads", values.threads, { integer: true, min: 1, max: 256 });
  const started = Date.now();
  const bar = new Progress(`Converting to ${type}`, undefined, { bar: "blocks" });
  try {
    const summary = await convertHfToGguf(dir, values.out, {
      type,
      ...(values.tokenizer !== undefined ? { tokenizerDir: values.tokenizer } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.pure === true ? { pure: true } : {}),
      ...(threads !== undefined ? { threads } : {}),
      log: (line) => bar.log(line),
      onProgress: (done, total) => {
        bar.setTotal(total);
        bar.update(done);
      },
    });
    bar.finish(`${values.out}: ${formatBytes(summary.bytes)} in ${formatDuration((Date.now() - started) / 1000)}`);
  } catch (e) {
    bar.finish();
    throw e;
  }
  process.stdout.write(`${values.out}\n`);
  return 0;
}
