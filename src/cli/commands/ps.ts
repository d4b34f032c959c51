/**
 * `qwenrt ps [--url URL]... [--json]`: what running `qwenrt serve` processes have loaded — model,
 * state (loading with progress, or ready), backend, weights in memory, process memory, context,
 * uptime and requests — from each server's `/status`.
 */
import { QwenrtError } from "../../util/errors.js";
import { isObject } from "../../util/json.js";
import { parseCommandArgs } from "../args.js";
import { formatBytes, formatDuration } from "../progress.js";

export const usage = `usage: qwenrt ps [--url URL]... [--json]

Show what running qwenrt servers have loaded: model, state, backend, weights and process memory,
context, uptime, requests (running/waiting/total).

  --url URL   a server's address (repeatable; default http://127.0.0.1:8000)
  --json      one JSON array of the servers' /status answers, each with its "url"`;

/** A server's `/status` answer, as far as `ps` reads it. */
type Status = Record<string, unknown>;

const num = (s: Status, k: string): number | undefined => (typeof s[k] === "number" ? s[k] : undefined);

/** The servers as an aligned table. */
export function formatPs(rows: readonly { url: string; status: Status }[]): string {
  const table = [
    ["NAME", "STATE", "BACKEND", "WEIGHTS", "MEMORY", "CONTEXT", "UPTIME", "REQUESTS", "URL"],
    ...rows.map(({ url, status: s }) => {
      const bytes = (k: string): string => (num(s, k) === undefined ? "-" : formatBytes(num(s, k) ?? 0));
      const loading = s.state === "loading";
      const progress = num(s, "progress");
      return [
        String(s.model ?? "-"),
        loading ? `loading${progress === undefined ? "" : ` ${Math.floor(progress * 100)}%`}` : String(s.state ?? "-"),
        loading ? "-" : `${String(s.backend ?? "-")}×${num(s, "threads") ?? "?"}`,
        bytes("weights_bytes"),
        bytes("rss_bytes"),
        num(s, "context_length")?.toLocaleString("en-US") ?? "-",
        formatDuration(num(s, "uptime_s") ?? 0),
        loading ? "-" : `${num(s, "running") ?? 0}/${num(s, "waiting") ?? 0}/${num(s, "requests") ?? 0}`,
        url,
      ];
    }),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("   ")).join("\n") + "\n";
}

async function fetchStatus(url: string): Promise<Status> {
  const base = url.replace(/\/+$/, "").replace(/\/v1$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
    throw new QwenrtError(url, `no qwenrt server answers there (${cause instanceof Error ? cause.message : String(cause)})`, { code: "not_found" });
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok || !isObject(body)) throw new QwenrtError(url, `GET /status answered ${res.status}; is this a qwenrt server?`);
  return body;
}

/** Run the command; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("ps", argv, { url: { type: "string", multiple: true }, json: { type: "boolean" } });
  if (positionals.length > 0) throw new QwenrtError("qwenrt ps", `unexpected argument "${positionals[0]}"`, { code: "invalid_flag" });
  const urls = values.url ?? ["http://127.0.0.1:8000"];
  const rows = await Promise.all(urls.map(async (url) => ({ url, status: await fetchStatus(url) })));
  if (values.json === true) process.stdout.write(`${JSON.stringify(rows.map((r) => ({ url: r.url, ...r.status })))}\n`);
  else process.stdout.write(formatPs(rows));
  return 0;
}
