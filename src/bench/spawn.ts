/**
 * Run one engine's measurement in a child process (child.ts) and wait for its reply. The child
 * inherits this process's `execArgv`, so it runs from `src/` under tsx and from `dist/` alike.
 */
import { fork } from "node:child_process";
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { QwenrtError } from "../util/errors.js";
import type { EngineJob, EngineReply, EngineResult } from "./method.js";


/** child.ts or child.js, whichever this module was loaded as. */
function childPath(): string {
  const here = fileURLToPath(import.meta.url);
  const path = fileURLToPath(new URL(`./child${extname(here)}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`internal: benchmark child entry ${path} is missing`);
  return path;
}

/**
 * Measure `job` in a fresh child process. Its stderr passes through (engine logs); a failure in the
 * child becomes a QwenrtError naming the engine.
 *
 * @example
 * const r = await runEngine({ engine: "qwenrt", model: dir, backend: "wasm", threads: 2, shape });
 */
export function runEngine(job: EngineJob): Promise<EngineResult> {
  return new Promise((resolve, reject) => {
    const child = fork(childPath(), [JSON.stringify(job)], {
      execArgv: process.execArgv,
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    let reply: EngineReply | undefined;
    child.on("message", (m: EngineReply) => {
      reply = m;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (reply?.kind === "result") resolve(reply);
      else if (reply?.kind === "error") reject(new QwenrtError(`bench (${job.engine})`, reply.message));
      else reject(new QwenrtError(`bench (${job.engine})`, `benchmark process exited (${signal ?? `code ${code}`}) without a result`));
    });
  });
}
