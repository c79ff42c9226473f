/**
 * The embedded backend: SQLite through `node:sqlite`, in a file or in memory (":memory:").
 * @module
 */

import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { type SqlDriver, type SqlRow, SqlSegmentIndex, type SqlValue } from "./sql_index.ts";

/**
 * Opens (creating) the SQLite index at `path`, a file path or ":memory:".
 *
 * @example
 * ```ts
 * import { openSqliteIndex } from "./sqlite.ts";
 * const index = await openSqliteIndex(":memory:");
 * const segment = {
 *   id: "n1:cam1/seg_0001.m4s", nodeAlias: "n1", stream: "cam1", track: "video",
 *   startTs: 0, endTs: 1_000_000, durationMs: 1000, path: "cam1/seg_0001.m4s", isKeyframe: true,
 * } as const;
 * if (await index.insert([segment, segment]) !== 1) throw new Error("not idempotent");
 * await index.close();
 * ```
 */
export async function openSqliteIndex(path: string): Promise<SqlSegmentIndex> {
  const db = new DatabaseSync(path);
  if (path !== ":memory:") {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL");
  }
  try {
    return await SqlSegmentIndex.open(new SqliteDriver(db, path));
  } catch (error) {
    db.close();
    throw error;
  }
}

/** `$n` placeholders become SQLite's `?n`; booleans become 0 and 1. */
class SqliteDriver implements SqlDriver {
  readonly dialect = "sqlite";
  readonly description: string;
  readonly #db: DatabaseSync;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.description = `sqlite:${path}`;
  }

  exec(sql: string): Promise<void> {
    this.#db.exec(sql);
    return Promise.resolve();
  }

  query(sql: string, params: readonly SqlValue[]): Promise<SqlRow[]> {
    const statement = this.#db.prepare(sql.replace(/\$(\d+)/g, "?$1"));
    const values: SQLInputValue[] = params.map((value) =>
      typeof value === "boolean" ? (value ? 1 : 0) : value
    );
    return Promise.resolve(statement.all(...values) as SqlRow[]);
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}
