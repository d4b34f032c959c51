/**
 * Test helpers for `qwenrt chat`: a complete tiny model directory (random-weight fixture model plus
 * the Qwen3 tokenizer files) and a child process driven through pipes with bounded waits.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = join(ROOT, "test/fixtures");

/** Copy `models/<name>` and the Qwen3 tokenizer files into a new temp dir; returns its path. */
export function completeModelDir(name = "qwen3-dense-tiny"): string {
  const dir = mkdtempSync(join(tmpdir(), "qwenrt-chat-model-"));
  for (const f of ["config.json", "generation_config.json", "model.safetensors"]) {
    copyFileSync(join(FIXTURES, "models", name, f), join(dir, f));
  }
  const tok = join(FIXTURES, "qwen3-tokenizer");
  for (const f of readdirSync(tok)) copyFileSync(join(tok, f), join(dir, f));
  return dir;
}

const live = new Set<CliProcess>();

/** Kill every child still running (call from `after`, so a failed wait leaves no process behind). */
export function killAllCli(): void {
  for (const p of live) p.child.kill("SIGKILL");
  live.clear();
}

/** A running `qwenrt` child with its output collected. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  private readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
    });
    this.child.stdout.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    live.add(this);
    this.exited = new Promise((resolve) =>
      this.child.on("exit", (code) => {
        live.delete(this);
        resolve(code);
      }),
    );
  }

  /** Send text to stdin. */
  send(text: string): void {
    this.child.stdin.write(text);
  }

  /** Wait until stdout (from `from` on) matches `re`; fails with the output so far after `ms`. */
  async waitFor(re: RegExp, ms = 20_000, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.stdout.slice(from).match(re);
      if (m !== null) return m;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${ms} ms waiting for ${re}\nstdout:\n${this.stdout.slice(-2000)}\nstderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Wait for the exit code (killing the child after `ms`). */
  async exit(ms = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === "timeout") {
      this.child.kill("SIGKILL");
      throw new Error(`qwenrt did not exit within ${ms} ms\nstdout:\n${this.stdout.slice(-2000)}\nstderr:\n${this.stderr}`);
    }
    return r;
  }
}
