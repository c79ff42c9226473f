/**
 * {@linkcode SegmentIndex} in SQL, over a small {@linkcode SqlDriver} that each database
 * implements. The schema and every query are written once, here, so SQLite and PostgreSQL behave
 * the same: idempotent inserts (`ON CONFLICT (id) DO NOTHING ... RETURNING id`), half-open
 * overlap queries on `[start_ts, end_ts)`, and one ordering with binary text comparison.
 * @module
 */

import type {
  IndexedSegment,
  NewSegment,
  SegmentIndex,
  TimelinePage,
  TimelineQuery,
} from "./segment_index.ts";

/** A value bound to a query parameter. */
export type SqlValue = string | number | boolean | null;

/** A result row, column name to value as the driver returns it. */
export type SqlRow = Record<string, unknown>;

/** What {@linkcode SqlSegmentIndex} needs from a database. Queries use `$1`, `$2`, … */
export interface SqlDriver {
  readonly dialect: "sqlite" | "postgres";
  readonly description: string;
  /** Runs statements without parameters (the schema). */
  exec(sql: string): Promise<void>;
  /** Runs one statement and resolves with the rows it returns. */
  query(sql: string, params: readonly SqlValue[]): Promise<SqlRow[]>;
  close(): Promise<void>;
}

/** Columns in insert order, each with its field of {@linkcode NewSegment}. */
const COLUMNS = [
  ["id", "id"],
  ["node_alias", "nodeAlias"],
  ["stream", "stream"],
  ["track", "track"],
  ["start_ts", "startTs"],
  ["end_ts", "endTs"],
  ["duration_ms", "durationMs"],
  ["path", "path"],
  ["is_keyframe", "isKeyframe"],
  ["mpd_path", "mpdPath"],
  ["init_path", "initPath"],
  ["codec", "codec"],
  ["timescale", "timescale"],
  ["start_ticks", "startTicks"],
  ["duration_ticks", "durationTicks"],
  ["width", "width"],
  ["height", "height"],
  ["sample_rate", "sampleRate"],
  ["channels", "channels"],
  ["size", "size"],
  ["frames", "frames"],
  ["created_at", "createdAt"],
] as const satisfies readonly (readonly [string, keyof IndexedSegment])[];

/** Fields stored as numbers (PostgreSQL returns BIGINT as a string). */
const NUMERIC = [
  "startTs",
  "endTs",
  "durationMs",
  "timescale",
  "startTicks",
  "durationTicks",
  "width",
  "height",
  "sampleRate",
  "channels",
  "size",
  "frames",
] as const satisfies readonly (keyof IndexedSegment)[];

const SELECT = COLUMNS.map(([column]) => column).join(", ");

/** Rows per INSERT: well under SQLite's 32766 parameters. */
const INSERT_CHUNK = 500;

/** The schema; `text` is the type of text compared in ORDER BY (binary in both databases). */
function schema(text: string): string {
  return `
CREATE TABLE IF NOT EXISTS segments (
  id ${text} PRIMARY KEY,
  node_alias ${text} NOT NULL,
  stream ${text} NOT NULL,
  track ${text} NOT NULL,
  start_ts BIGINT NOT NULL,
  end_ts BIGINT NOT NULL,
  duration_ms INTEGER NOT NULL,
  path ${text} NOT NULL,
  is_keyframe BOOLEAN NOT NULL,
  mpd_path ${text},
  init_path ${text},
  codec ${text},
  timescale INTEGER,
  start_ticks BIGINT,
  duration_ticks BIGINT,
  width INTEGER,
  height INTEGER,
  sample_rate INTEGER,
  channels INTEGER,
  size BIGINT,
  frames INTEGER,
  created_at ${text} NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_stream_start ON segments (stream, start_ts);
CREATE INDEX IF NOT EXISTS segments_node_stream ON segments (node_alias, stream);
`;
}

/** {@linkcode SegmentIndex} on an {@linkcode SqlDriver}; create with {@linkcode SqlSegmentIndex.open}. */
export class SqlSegmentIndex implements SegmentIndex {
  readonly #db: SqlDriver;
  readonly #now: () => Date;

  private constructor(db: SqlDriver, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  /** Creates the schema when missing. */
  static async open(db: SqlDriver, now: () => Date = () => new Date()): Promise<SqlSegmentIndex> {
    await db.exec(schema(db.dialect === "postgres" ? `TEXT COLLATE "C"` : "TEXT"));
    return new SqlSegmentIndex(db, now);
  }

  get description(): string {
    return this.#db.description;
  }

  async insert(segments: readonly NewSegment[]): Promise<number> {
    const createdAt = this.#now().toISOString();
    let inserted = 0;
    for (let i = 0; i < segments.length; i += INSERT_CHUNK) {
      const chunk = segments.slice(i, i + INSERT_CHUNK);
      const params: SqlValue[] = [];
      const rows = chunk.map((segment) => {
        const record: IndexedSegment = { ...segment, createdAt };
        const start = params.length;
        for (const [, field] of COLUMNS) params.push(record[field] ?? null);
        return `(${COLUMNS.map((_, j) => `$${start + j + 1}`).join(", ")})`;
      });
      const returned = await this.#db.query(
        `INSERT INTO segments (${SELECT}) VALUES ${rows.join(", ")} ` +
          `ON CONFLICT (id) DO NOTHING RETURNING id`,
        params,
      );
      inserted += returned.length;
    }
    return inserted;
  }

  async streams(node?: string): Promise<string[]> {
    const rows = node === undefined
      ? await this.#db.query(`SELECT DISTINCT stream FROM segments ORDER BY stream`, [])
      : await this.#db.query(
        `SELECT DISTINCT stream FROM segments WHERE node_alias = $1 ORDER BY stream`,
        [node],
      );
    return rows.map((row) => String(row.stream));
  }

  async timeline(query: TimelineQuery): Promise<TimelinePage> {
    const params: SqlValue[] = [query.stream];
    const where = ["stream = $1"];
    const add = (condition: string, value: SqlValue) => {
      params.push(value);
      where.push(condition.replace("?", `$${params.length}`));
    };
    if (query.startTs !== undefined) add("end_ts > ?", query.startTs);
    if (query.endTs !== undefined) add("start_ts < ?", query.endTs);
    if (query.node !== undefined) add("node_alias = ?", query.node);
    if (query.track !== undefined) add("track = ?", query.track);
    const filter = where.join(" AND ");
    const [count] = await this.#db.query(`SELECT COUNT(*) AS n FROM segments WHERE ${filter}`, [
      ...params,
    ]);
    let page = "";
    if (query.limit !== undefined) {
      params.push(query.limit);
      page += ` LIMIT $${params.length}`;
    } else if (query.offset) {
      // Both databases accept LIMIT with a huge value; SQLite needs a LIMIT before OFFSET.
      params.push(Number.MAX_SAFE_INTEGER);
      page += ` LIMIT $${params.length}`;
    }
    if (query.offset) {
      params.push(query.offset);
      page += ` OFFSET $${params.length}`;
    }
    const rows = await this.#db.query(
      `SELECT ${SELECT} FROM segments WHERE ${filter} ` +
        `ORDER BY start_ts, track, node_alias, id${page}`,
      params,
    );
    return { total: Number(count.n), segments: rows.map(toSegment) };
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}

/** A row as an {@linkcode IndexedSegment}: numbers from BIGINT strings, NULL as absent. */
function toSegment(row: SqlRow): IndexedSegment {
  const segment: Record<string, unknown> = {};
  for (const [column, field] of COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    segment[field] = typeof value === "string" || typeof value === "boolean"
      ? value
      : Number(value);
  }
  segment.isKeyframe = Boolean(row.is_keyframe);
  for (const field of NUMERIC) {
    if (typeof segment[field] === "string") segment[field] = Number(segment[field]);
  }
  return segment as unknown as IndexedSegment;
}
