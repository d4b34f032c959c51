#!/usr/bin/env node
/**
 * `qwenrt` command-line entry. Each command lives in `cli/commands/<name>.ts` and exports
 * `run(argv: string[]): Promise<number>`; they load lazily so `qwenrt tokenize` never pays for the server.
 */
import { QwenrtError, errorMessage } from "../util/errors.js";

type CommandModule = { run(argv: string[]): Promise<number>; usage: string };

/** Implemented commands (see DESIGN.md's CLI contract); each is `cli/commands/<name>.ts`. */
const commandNames = ["tokenize", "render", "pull", "logits", "generate", "synth", "convert", "chat", "serve", "bench", "moderate"] as const;

function loadCommand(name: string): Promise<CommandModule> | undefined {
  if (!(commandNames as readonly string[]).includes(name)) return undefined;
  return import(`./commands/${name}.js`) as Promise<CommandModule>;
}

function printHelp(): void {
  process.stdout.write(
    `qwenrt — run Qwen3 models locally\n\nusage: qwenrt <command> [options]\n\ncommands:\n${commandNames
      .map((c) => `  ${c}`)
      .join("\n")}\n\nRun \`qwenrt <command> --help\` for a command's options.\n`,
  );
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printHelp();
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v") {
    const { VERSION } = await import("../version.js");
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const pending = loadCommand(name);
  if (pending === undefined) {
    process.stderr.write(`qwenrt: unknown command "${name}" (try \`qwenrt --help\`)\n`);
    return 2;
  }
  const mod = await pending;
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(mod.usage.endsWith("\n") ? mod.usage : `${mod.usage}\n`);
    return 0;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Expected failures are one line; anything else is a bug, shown in full with QWENRT_DEBUG=1.
    if (e instanceof QwenrtError || !process.env.QWENRT_DEBUG) {
      process.stderr.write(`qwenrt: ${errorMessage(e)}\n`);
    } else {
      process.stderr.write(`qwenrt: internal error: ${(e as Error).stack ?? String(e)}\n`);
    }
    process.exitCode = 1;
  },
);
