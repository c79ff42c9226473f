/**
 * Shell-style globs for stream names, as in `recorder.auto_streams`: `*` matches any run of
 * characters (including none), `?` exactly one, `[abc]` and `[a-z]` one of a set, `[!a]` and
 * `[^a]` one character not in it; `\` makes the next character literal. Everything else is
 * literal, and a glob matches the whole name.
 * @module
 */

/** Characters that need a backslash to be literal in a `u`-mode regular expression. */
const REGEXP_SYNTAX = new Set(Array.from("^$\\.*+?()[]{}|/"));

function literal(char: string): string {
  return REGEXP_SYNTAX.has(char) ? `\\${char}` : char;
}

/** Inside a character class every character is written as a code point escape: always valid. */
function classChar(char: string): string {
  return `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

/**
 * Compiles a glob into an anchored regular expression. Throws a `SyntaxError` naming the glob
 * for an unclosed `[`, a reversed range such as `[z-a]` or a trailing `\`.
 *
 * @example Match stream names
 * ```ts
 * import { globToRegExp } from "./glob.ts";
 * const re = globToRegExp("cam-[0-9]*");
 * if (!re.test("cam-1") || re.test("cam-x")) throw new Error("unexpected");
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  const chars = Array.from(pattern);
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} in glob ${JSON.stringify(pattern)}`);
  };
  let source = "";
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i];
    if (char === "*") {
      // Runs of stars mean the same as one; collapsing them keeps the regexp linear.
      while (chars[i + 1] === "*") i++;
      source += "[^]*";
    } else if (char === "?") {
      source += "[^]";
    } else if (char === "\\") {
      if (i + 1 >= chars.length) fail("Trailing backslash");
      source += literal(chars[++i]);
    } else if (char === "[") {
      const start = i;
      let j = i + 1;
      let negate = false;
      if (chars[j] === "!" || chars[j] === "^") {
        negate = true;
        j++;
      }
      let body = "";
      let first = true;
      for (;;) {
        if (j >= chars.length) fail(`Unclosed "[" at position ${start + 1}`);
        let c = chars[j];
        if (c === "]" && !first) break;
        first = false;
        if (c === "\\") {
          if (j + 1 >= chars.length) fail(`Unclosed "[" at position ${start + 1}`);
          c = chars[++j];
        }
        j++;
        // A range needs a character after the "-" other than the closing "]".
        if (chars[j] === "-" && j + 1 < chars.length && chars[j + 1] !== "]") {
          let end = chars[j + 1];
          j += 2;
          if (end === "\\") {
            if (j >= chars.length) fail(`Unclosed "[" at position ${start + 1}`);
            end = chars[j++];
          }
          if (end.codePointAt(0)! < c.codePointAt(0)!) {
            fail(`Reversed range "${c}-${end}"`);
          }
          body += `${classChar(c)}-${classChar(end)}`;
        } else {
          body += classChar(c);
        }
      }
      source += `[${negate ? "^" : ""}${body}]`;
      i = j;
    } else {
      source += literal(char);
    }
  }
  return new RegExp(`^(?:${source})$`, "u");
}

const MAX_CACHED = 1024;
const cache = new Map<string, RegExp>();

function compiled(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = globToRegExp(pattern);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/**
 * Whether `name` matches at least one of `patterns`. Each glob is compiled once and cached, so
 * calling this per stream is cheap. Throws like {@linkcode globToRegExp} for an invalid glob.
 *
 * @example Choose the streams to record
 * ```ts
 * import { matchesAny } from "./glob.ts";
 * if (!matchesAny(["web-*", "cam?"], "web-1") || matchesAny(["web-*"], "web")) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  for (const pattern of patterns) {
    if (compiled(pattern).test(name)) return true;
  }
  return false;
}
