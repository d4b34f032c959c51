import { parseArgs, type ParseArgsConfig } from "node:util";
import { QwenrtError } from "../util/errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parsed flag values: booleans for `type: "boolean"`, strings otherwise, arrays for `multiple`. */
export type FlagValues<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: "boolean" }
    ? O[K] extends { multiple: true }
      ? boolean[]
      : boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

/**
 * Parse a command's argv with Node's `util.parseArgs`; unknown flags and missing values become a
 * one-line error naming the flag.
 *
 * @example
 * const { values, positionals } = parseCommandArgs("tokenize", argv, { jsonl: { type: "boolean" } });
 */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
): { values: FlagValues<O>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as FlagValues<O>, positionals: r.positionals };
  } catch (e) {
    throw new QwenrtError(`qwenrt ${command}`, (e as Error).message.replace(/\. To specify.*$/s, ""), {
      code: "invalid_flag",
    });
  }
}

/** Parse a numeric flag value, naming the flag when it is not a finite number (or out of range). */
export function numberFlag(
  flag: string,
  value: string | undefined,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || (opts.integer === true && !Number.isInteger(n))) {
    throw new QwenrtError(`--${flag}`, `expected ${opts.integer === true ? "an integer" : "a number"}, got "${value}"`);
  }
  if (opts.min !== undefined && n < opts.min) throw new QwenrtError(`--${flag}`, `must be >= ${opts.min}, got ${n}`);
  if (opts.max !== undefined && n > opts.max) throw new QwenrtError(`--${flag}`, `must be <= ${opts.max}, got ${n}`);
  return n;
}

/** Require exactly one positional argument (the model reference), naming the command's usage. */
export function requireModelArg(command: string, positionals: string[]): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new QwenrtError(`qwenrt ${command}`, `expected one <model> argument, got ${positionals.length}`, {
      code: "invalid_flag",
    });
  }
  return positionals[0];
}

/** Read all of stdin as UTF-8 text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
