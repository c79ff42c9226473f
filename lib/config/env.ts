/**
 * Environment overrides of `live777.toml` keys, for containers and supervisors that pass
 * secrets and per-host settings in the environment: `LIVE777__<SECTION>__<KEY>=value`, levels
 * separated by a double underscore, names case-insensitive. The value is read as a TOML value
 * when it is one (`5`, `true`, `["cam-*"]`, `"text"`), else as a plain string.
 *
 * @example
 * ```ts
 * import { applyEnvOverrides } from "./env.ts";
 * const data: Record<string, unknown> = { recorder: { storage: { type: "s3" } } };
 * applyEnvOverrides(data, { LIVE777__RECORDER__STORAGE__BUCKET: "records" }, "live777.toml");
 * if ((data.recorder as { storage: { bucket: string } }).storage.bucket !== "records") throw 0;
 * ```
 * @module
 */

import { parse } from "smol-toml";
import { ConfigError } from "../errors.ts";

/** Prefix of the overriding variables. */
export const ENV_PREFIX = "LIVE777__";

type Table = Record<string, unknown>;

/**
 * Sets each `LIVE777__A__B=value` of `env` as key `a.b` of the parsed file `data`, creating
 * tables as needed. Returns the dotted keys it set. Throws a {@linkcode ConfigError} naming
 * the variable when a level in between is not a table.
 */
export function applyEnvOverrides(
  data: Table,
  env: Record<string, string | undefined>,
  file: string,
): string[] {
  const set: string[] = [];
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    if (value === undefined || !name.toUpperCase().startsWith(ENV_PREFIX)) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__");
    if (path.some((part) => part === "")) {
      throw new ConfigError(file, "", `Environment variable ${name} names no key`);
    }
    let table = data;
    for (const [i, part] of path.slice(0, -1).entries()) {
      const next = table[part] ??= {};
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        throw new ConfigError(
          file,
          path.slice(0, i + 1).join("."),
          `Environment variable ${name} needs a table here`,
        );
      }
      table = next as Table;
    }
    table[path.at(-1)!] = tomlValue(value);
    set.push(path.join("."));
  }
  return set;
}

function tomlValue(text: string): unknown {
  try {
    return parse(`value = ${text}`).value;
  } catch {
    return text;
  }
}
