/**
 * Chooses the index backend from `[liveman] database`: "sqlite:<path>" (or "sqlite::memory:")
 * for the embedded SQLite, "postgres://…" or "postgresql://…" for PostgreSQL.
 * @module
 */

import { openPostgresIndex } from "./postgres.ts";
import type { SegmentIndex } from "./segment_index.ts";
import { openSqliteIndex } from "./sqlite.ts";

/** A parsed database URL. */
export type DatabaseTarget =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

/**
 * Parses a database URL; undefined when the scheme is not one of the above.
 *
 * @example
 * ```ts
 * import { parseDatabaseUrl } from "./open.ts";
 * const target = parseDatabaseUrl("sqlite:./liveman.db");
 * if (target?.kind !== "sqlite" || target.path !== "./liveman.db") throw new Error("unexpected");
 * ```
 */
export function parseDatabaseUrl(url: string): DatabaseTarget | undefined {
  if (url.startsWith("sqlite:")) {
    // "sqlite:///abs/path" and "sqlite://rel" are accepted as well as "sqlite:path".
    const path = url.slice("sqlite:".length).replace(/^\/\//, "");
    return path === "" ? undefined : { kind: "sqlite", path };
  }
  if (/^postgres(ql)?:\/\/./.test(url)) return { kind: "postgres", url };
  return undefined;
}

/** Opens the index `url` names; rejects for an unknown scheme or an unreachable database. */
export function openSegmentIndex(url: string): Promise<SegmentIndex> {
  const target = parseDatabaseUrl(url);
  if (!target) {
    return Promise.reject(
      new Error(`Unsupported database URL (expected "sqlite:<path>" or "postgres://…")`),
    );
  }
  return target.kind === "sqlite" ? openSqliteIndex(target.path) : openPostgresIndex(target.url);
}
