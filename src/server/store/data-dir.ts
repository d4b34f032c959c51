/** Where qwenrt keeps its data (stored responses, KV snapshots) unless `--data-dir` says otherwise. */
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The user's data home for qwenrt: `$XDG_DATA_HOME/qwenrt` (default `~/.local/share/qwenrt`), on
 * macOS `~/Library/Application Support/qwenrt`, on Windows `%LOCALAPPDATA%\qwenrt`.
 *
 * @example
 * defaultDataDir({ XDG_DATA_HOME: "/data" }, "linux"); // "/data/qwenrt"
 */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "qwenrt");
  if (platform === "darwin") return join(homedir(), "Library", "Application Support", "qwenrt");
  const xdg = env.XDG_DATA_HOME;
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".local", "share"), "qwenrt");
}
