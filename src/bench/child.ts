/**
 * Child-process entry of `qwenrt bench`: one engine per process, so each has its own peak RSS and
 * neither's threads or memory disturb the other. Started by `runEngine` (spawn.ts) with the job as
 * JSON in argv; the reply goes back over the IPC channel, then the process exits.
 */
import { errorMessage } from "../util/errors.js";
import type { EngineJob, EngineReply } from "./method.js";

async function main(): Promise<EngineReply> {
  const job = JSON.parse(process.argv[2] ?? "null") as EngineJob;
  if (job.engine === "qwenrt") {
    const { runQwenrt } = await import("./qwenrt-engine.js");
    return runQwenrt(job);
  }
  const { runLlamaCpp } = await import("./llama-engine.js");
  return runLlamaCpp(job);
}

const send = (reply: EngineReply): void => {
  process.send?.(reply, undefined, {}, () => process.exit(0));
};
main().then(send, (e: unknown) => send({ kind: "error", message: errorMessage(e) }));
