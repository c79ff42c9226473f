/**
 * WHEP source URLs, as Live777 cascades name a stream on another node:
 * `whep://[token@]host:port/whep/<stream>` (plain HTTP), `wheps://…` (HTTPS), or the endpoint's
 * own `http(s)://[token@]host:port/…/whep/<stream>`.
 * @module
 */

/** A WHEP source URL taken apart. */
export interface WhepUrl {
  /** The http(s) endpoint to POST the offer to, without credentials. */
  readonly endpoint: string;
  /** The bearer token from the URL's user part, when it has one. */
  readonly token?: string;
  /** The stream name on the remote node: the last path segment. */
  readonly stream: string;
}

const SCHEMES: Readonly<Record<string, string>> = {
  "whep:": "http:",
  "wheps:": "https:",
  "http:": "http:",
  "https:": "https:",
};

/** Whether `url` has a scheme {@linkcode parseWhepUrl} reads. */
export function isWhepUrl(url: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  return scheme !== undefined && `${scheme.toLowerCase()}:` in SCHEMES;
}

/**
 * Parses a WHEP source URL. Throws an `Error` whose message says what is wrong; the message
 * never contains the token.
 *
 * @example
 * ```ts
 * import { parseWhepUrl } from "./whep_url.ts";
 * const { endpoint, token, stream } = parseWhepUrl("whep://secret@live777:7777/whep/cam1");
 * if (endpoint !== "http://live777:7777/whep/cam1" || token !== "secret" || stream !== "cam1") {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function parseWhepUrl(url: string): WhepUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Invalid URL ${JSON.stringify(redactUrl(url))}`);
  }
  const protocol = SCHEMES[parsed.protocol];
  if (protocol === undefined) {
    throw new Error(
      `Unsupported URL scheme ${JSON.stringify(parsed.protocol.slice(0, -1))} (expected "whep", ` +
        `"wheps", "http" or "https")`,
    );
  }
  const shape = `expected ${parsed.protocol}//[token@]host:port/whep/<stream>`;
  if (parsed.hostname === "") {
    throw new Error(`URL ${JSON.stringify(redactUrl(url))} has no host (${shape})`);
  }
  const segments = parsed.pathname.split("/");
  const at = segments.lastIndexOf("whep");
  const rest = at < 0 ? [] : segments.slice(at + 1);
  if (at < 0 || rest.length === 0 || rest.some((segment) => segment === "")) {
    throw new Error(
      `URL ${JSON.stringify(redactUrl(url))} names no WHEP endpoint (${shape})`,
    );
  }
  let token: string | undefined;
  if (parsed.username !== "" || parsed.password !== "") {
    token = decodeURIComponent(parsed.username) +
      (parsed.password !== "" ? `:${decodeURIComponent(parsed.password)}` : "");
  }
  const port = parsed.port ? `:${parsed.port}` : "";
  const endpoint = `${protocol}//${parsed.hostname}${port}${parsed.pathname}${parsed.search}`;
  return { endpoint, token, stream: decodeURIComponent(rest.at(-1)!) };
}

/** `url` with its user part (the token) replaced by "***", for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1***@");
}
