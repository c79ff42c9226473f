/**
 * The Liveman segment index: one query interface, SQLite and PostgreSQL backends.
 * @module
 */

export type {
  IndexedSegment,
  NewSegment,
  SegmentIndex,
  TimelinePage,
  TimelineQuery,
} from "./segment_index.ts";
export { SqlSegmentIndex } from "./sql_index.ts";
export type { SqlDriver, SqlRow, SqlValue } from "./sql_index.ts";
export { openSqliteIndex } from "./sqlite.ts";
export { openPostgresIndex, type PostgresIndexOptions } from "./postgres.ts";
export { type DatabaseTarget, openSegmentIndex, parseDatabaseUrl } from "./open.ts";
