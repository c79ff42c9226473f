/**
 * Bearer authentication as Live777 configures it (`[auth]`): static tokens, each allowed
 * everything, and JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, `alg` "HS256") by the
 * configured `secret`, with Live777's claims:
 *
 * ```
 * { "id": "<stream or *>", "mode": <bits>, "exp": <unix seconds> }
 * mode: 4 = read (WHEP subscribe), 2 = write (WHIP publish), 1 = execute (manage, e.g. delete)
 * ```
 *
 * A token with `id` "*" may do everything, whatever its mode (as in Live777); one for a stream may
 * publish to it with the write bit, and end its sessions with the write or execute bit. `exp` is
 * required and honoured with 60 s of leeway (jsonwebtoken's default, which Live777 uses).
 * @module
 */

/** The claims of a Live777 token. */
export interface Claims {
  /** The stream the token is for, or "*" for every stream and the API. */
  readonly id: string;
  /** Permission bits: 4 read, 2 write (publish), 1 execute (manage). */
  readonly mode: number;
  /** Expiry, Unix seconds. */
  readonly exp: number;
}

/** What the holder of a token wants to do. */
export type Action =
  | { readonly kind: "publish"; readonly stream: string }
  | { readonly kind: "manage"; readonly stream: string }
  | { readonly kind: "admin" };

/** `[auth]`: with no secret and no tokens, every request is allowed. */
export interface AuthOptions {
  /** HS256 key of the JWTs. */
  readonly secret?: string;
  /** Static bearer tokens. */
  readonly tokens: readonly string[];
}

/** `id` of a token for every stream. */
export const ANY_STREAM = "*";
export const MODE_READ = 4;
export const MODE_WRITE = 2;
export const MODE_EXECUTE = 1;

/** Clock skew tolerated on `exp`, seconds. */
const LEEWAY_SEC = 60;
/** Longer Authorization headers are refused unread. */
const MAX_TOKEN_LENGTH = 8192;

const encoder = new TextEncoder();

/**
 * Checks bearer tokens against `[auth]`. Never logs or echoes a token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Authenticator, signJwt } from "./auth.ts";
 *
 * const auth = new Authenticator({ secret: "s3cret", tokens: ["static"] });
 * const jwt = await signJwt({ id: "cam1", mode: 2, exp: Date.now() / 1000 + 60 }, "s3cret");
 * const claims = await auth.authenticate(`Bearer ${jwt}`);
 * assert.equal(auth.allows(claims, { kind: "publish", stream: "cam1" }), true);
 * assert.equal(auth.allows(claims, { kind: "publish", stream: "cam2" }), false);
 * assert.equal(await auth.authenticate("Bearer wrong"), undefined);
 * ```
 */
export class Authenticator {
  readonly #tokens: Uint8Array[];
  readonly #key: Promise<CryptoKey> | undefined;

  constructor(options: AuthOptions) {
    this.#tokens = options.tokens.map((token) => encoder.encode(token));
    this.#key = options.secret === undefined ? undefined : hmacKey(options.secret);
  }

  /** Whether requests need a token at all. */
  get enabled(): boolean {
    return this.#tokens.length > 0 || this.#key !== undefined;
  }

  /**
   * The claims of an `Authorization` header: "*" with every bit for a static token, the JWT's
   * for a valid, unexpired one; undefined for anything else (no header, another scheme, a wrong
   * token, a bad signature, an expired or malformed JWT).
   */
  async authenticate(header: string | null): Promise<Claims | undefined> {
    if (!this.enabled) return { id: ANY_STREAM, mode: 7, exp: 0 };
    if (header === null || header.length > MAX_TOKEN_LENGTH) return undefined;
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) return undefined;
    const token = match[1];
    const bytes = encoder.encode(token);
    let isStatic = false;
    for (const candidate of this.#tokens) isStatic = timingSafeEqual(bytes, candidate) || isStatic;
    if (isStatic) return { id: ANY_STREAM, mode: 7, exp: 0 };
    return this.#key ? await verifyJwt(token, await this.#key) : undefined;
  }

  /** Whether `claims` (from {@linkcode authenticate}) allow `action`. */
  allows(claims: Claims | undefined, action: Action): boolean {
    if (!claims) return false;
    if (claims.id === ANY_STREAM) return true;
    switch (action.kind) {
      case "publish":
        return claims.id === action.stream && (claims.mode & MODE_WRITE) !== 0;
      case "manage":
        return claims.id === action.stream && (claims.mode & (MODE_WRITE | MODE_EXECUTE)) !== 0;
      default:
        return false;
    }
  }
}

/** Signs `claims` as an HS256 JWT with `secret`, as Live777's `/api/token` does. */
export async function signJwt(claims: Claims, secret: string): Promise<string> {
  const header = base64url(encoder.encode(JSON.stringify({ typ: "JWT", alg: "HS256" })));
  const payload = base64url(encoder.encode(JSON.stringify(claims)));
  const message = `${header}.${payload}`;
  const key = await hmacKey(secret);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(message));
  return `${message}.${base64url(new Uint8Array(signature))}`;
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** The claims of a valid, unexpired HS256 JWT signed with `key`, else undefined. */
async function verifyJwt(token: string, key: CryptoKey): Promise<Claims | undefined> {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = parseJson(headerPart);
  if (!isObject(header) || header.alg !== "HS256") return undefined;
  const signature = unbase64url(signaturePart);
  if (!signature) return undefined;
  const valid = await crypto.subtle.verify(
    "HMAC",
    key,
    signature,
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) return undefined;
  const claims = parseJson(payloadPart);
  if (
    // Live777's types: id a string, mode a u8, exp a usize.
    !isObject(claims) || typeof claims.id !== "string" || !isUint(claims.mode, 255) ||
    !isUint(claims.exp, Number.MAX_SAFE_INTEGER)
  ) {
    return undefined;
  }
  if (claims.exp < Date.now() / 1000 - LEEWAY_SEC) return undefined;
  return { id: claims.id, mode: claims.mode as number, exp: claims.exp };
}

function parseJson(part: string): unknown {
  const bytes = unbase64url(part);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

function isUint(value: unknown, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function unbase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Compares in time that depends on the lengths only. */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ (b[i % (b.length || 1)] ?? 0);
  return diff === 0;
}
