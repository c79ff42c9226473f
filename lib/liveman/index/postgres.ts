/**
 * The server backend: PostgreSQL through npm:postgres (postgres.js), a pool of connections.
 * @module
 */

import postgres from "postgres";
import { type SqlDriver, type SqlRow, SqlSegmentIndex, type SqlValue } from "./sql_index.ts";

/** Options of {@linkcode openPostgresIndex}. */
export interface PostgresIndexOptions {
  /** Most connections in the pool. @default 10 */
  readonly maxConnections?: number;
  /** Seconds to wait for a connection. @default 10 */
  readonly connectTimeoutSec?: number;
}

/**
 * Connects to the PostgreSQL database at `url` ("postgres://user:password@host:port/db") and
 * creates the schema when missing. Rejects when the database cannot be reached.
 */
export async function openPostgresIndex(
  url: string,
  options: PostgresIndexOptions = {},
): Promise<SqlSegmentIndex> {
  const sql = postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: options.connectTimeoutSec ?? 10,
    onnotice: () => {},
  });
  try {
    return await SqlSegmentIndex.open(new PostgresDriver(sql, url));
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
}

class PostgresDriver implements SqlDriver {
  readonly dialect = "postgres";
  readonly description: string;
  readonly #sql: postgres.Sql;

  constructor(sql: postgres.Sql, url: string) {
    this.#sql = sql;
    this.description = describe(url);
  }

  async exec(statements: string): Promise<void> {
    await this.#sql.unsafe(statements);
  }

  async query(text: string, params: readonly SqlValue[]): Promise<SqlRow[]> {
    const rows = await this.#sql.unsafe(text, [...params]);
    return [...rows] as SqlRow[];
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}

/** The URL without its password, for logs. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.toString();
  } catch {
    return "postgres";
  }
}
