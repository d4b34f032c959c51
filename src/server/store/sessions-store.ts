/**
 * Named terminal conversations (`qwenrt chat --session NAME`) in the same SQLite database as the
 * stored responses (`<data dir>/qwenrt.db`): one row per name holding the conversation as
 * `/save` writes it, replaced in one statement after every change.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { errorMessage } from "../../util/errors.js";

/** One listed session. */
export interface SessionInfo {
  readonly name: string;
  readonly messages: number;
  /** Milliseconds since the epoch. */
  readonly updatedAt: number;
}

const infoRow = z.object({ name: z.string(), messages: z.number(), updated_at: z.number() });
const chatRow = z.object({ chat: z.string() });

/**
 * @example
 * const sessions = SessionStore.open(defaultDataDir(), console.error);
 * sessions?.put("work", session.toJSON());
 * sessions?.get("work"); // the saved conversation (check it with parseSavedChat)
 */
export class SessionStore {
  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
  ) {}

  /** Open (creating) the database under `dir`; undefined, with one logged line, when it cannot be. */
  static open(dir: string, log: (line: string) => void): SessionStore | undefined {
    const path = join(dir, "qwenrt.db");
    let db: Database.Database | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.exec("CREATE TABLE IF NOT EXISTS sessions (name TEXT PRIMARY KEY, updated_at INTEGER NOT NULL, messages INTEGER NOT NULL, chat TEXT NOT NULL)");
      return new SessionStore(db, path);
    } catch (e) {
      db?.close();
      log(`qwenrt: --data-dir ${dir}: cannot keep sessions there (${errorMessage(e)}); this chat is not saved`);
      return undefined;
    }
  }

  /** The stored conversation (parsed JSON, unchecked), or undefined for a new name. */
  get(name: string): unknown {
    const row = chatRow.optional().parse(this.db.prepare("SELECT chat FROM sessions WHERE name = ?").get(name));
    return row === undefined ? undefined : (JSON.parse(row.chat) as unknown);
  }

  /** Store `chat` (an object with a `messages` array) under `name`. */
  put(name: string, chat: { readonly messages: readonly unknown[] }): void {
    this.db
      .prepare("INSERT INTO sessions (name, updated_at, messages, chat) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at, messages = excluded.messages, chat = excluded.chat")
      .run(name, Date.now(), chat.messages.length, JSON.stringify(chat));
  }

  /** Every session, most recently updated first. */
  list(): SessionInfo[] {
    return this.db
      .prepare("SELECT name, messages, updated_at FROM sessions ORDER BY updated_at DESC, name")
      .all()
      .map((r) => {
        const row = infoRow.parse(r);
        return { name: row.name, messages: row.messages, updatedAt: row.updated_at };
      });
  }

  close(): void {
    this.db.close();
  }
}
