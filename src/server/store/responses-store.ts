/**
 * Stored responses in an embedded SQLite database (better-sqlite3) under the data directory: the
 * response object, the items of its own input, and the whole conversation before its output (what
 * a `previous_response_id` continues from). Each response is written in one transaction when it
 * finishes, so a crash loses at most the response being generated. A database that cannot be
 * opened or written says why once and the server goes on serving without storing.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { errorMessage } from "../../util/errors.js";
import type { Item } from "../responses-input.js";

/** One stored response. */
export interface StoredResponse {
  readonly id: string;
  /** The response object as returned to the client. */
  readonly response: Record<string, unknown>;
  /** The request's own input items (`GET /v1/responses/{id}/input_items`). */
  readonly input: readonly Item[];
  /** Every item of the conversation up to this response's output (ancestors' included). */
  readonly context: readonly Item[];
  /** Its output items (what a follow-up's conversation continues with). */
  readonly output: readonly Item[];
}

/** Where responses are kept. */
export interface ResponseStore {
  /** Write `r` (and its items) in one transaction; false when the write failed (logged). */
  put(r: StoredResponse): boolean;
  get(id: string): StoredResponse | undefined;
  /** True when `id` existed. */
  delete(id: string): boolean;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  response TEXT NOT NULL,
  context TEXT NOT NULL,
  output TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS input_items (
  response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  item TEXT NOT NULL,
  PRIMARY KEY (response_id, position)
);
`;

const row = z.object({ id: z.string(), response: z.string(), context: z.string(), output: z.string() });
const itemRow = z.object({ item: z.string() });
// What this store wrote: JSON it made from `StoredResponse`, read back as such.
const items = (json: string): Item[] => z.array(z.custom<Item>((v) => typeof v === "object" && v !== null && "type" in v && "id" in v)).parse(JSON.parse(json));

/** The SQLite-backed store: `<dir>/qwenrt.db` (WAL journal, foreign keys on). */
export class SqliteResponseStore implements ResponseStore {
  private failed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly log: (line: string) => void,
    readonly path: string,
  ) {}

  /**
   * Open (creating) the database under `dir`. When the directory cannot be created or written
   * (read-only, full, not a directory), logs one line naming it and returns undefined.
   *
   * @example
   * const store = SqliteResponseStore.open("/home/me/.local/share/qwenrt", console.error);
   */
  static open(dir: string, log: (line: string) => void): SqliteResponseStore | undefined {
    const path = join(dir, "qwenrt.db");
    let db: Database.Database | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma("foreign_keys = ON");
      db.exec(SCHEMA);
      return new SqliteResponseStore(db, log, path);
    } catch (e) {
      db?.close();
      log(`qwenrt: --data-dir ${dir}: cannot store responses there (${errorMessage(e)}); serving without storing`);
      return undefined;
    }
  }

  /** Limit the database's size in pages (tests use it to simulate a full disk). */
  limitPages(pages: number): void {
    this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(pages))}`);
  }

  put(r: StoredResponse): boolean {
    const write = this.db.transaction(() => {
      this.db
        .prepare("INSERT OR REPLACE INTO responses (id, created_at, response, context, output) VALUES (?, ?, ?, ?, ?)")
        .run(r.id, Date.now(), JSON.stringify(r.response), JSON.stringify(r.context), JSON.stringify(r.output));
      const item = this.db.prepare("INSERT INTO input_items (response_id, position, item) VALUES (?, ?, ?)");
      r.input.forEach((it, i) => item.run(r.id, i, JSON.stringify(it)));
    });
    try {
      write();
      this.failed = false;
      return true;
    } catch (e) {
      // Say it once per run of failures, not once per request.
      if (!this.failed) this.log(`qwenrt: ${this.path}: could not store response ${r.id} (${errorMessage(e)}); serving continues without storing it`);
      this.failed = true;
      return false;
    }
  }

  get(id: string): StoredResponse | undefined {
    const r = row.optional().parse(this.db.prepare("SELECT id, response, context, output FROM responses WHERE id = ?").get(id));
    if (r === undefined) return undefined;
    const input = this.db
      .prepare("SELECT item FROM input_items WHERE response_id = ? ORDER BY position")
      .all(id)
      .flatMap((x) => items(`[${itemRow.parse(x).item}]`));
    return { id: r.id, response: z.record(z.string(), z.unknown()).parse(JSON.parse(r.response)), input, context: items(r.context), output: items(r.output) };
  }

  delete(id: string): boolean {
    return this.db.prepare("DELETE FROM responses WHERE id = ?").run(id).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}
