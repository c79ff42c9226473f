/**
 * An in-memory Alibaba Cloud OSS server on 127.0.0.1 for tests, strict where the real one is:
 * it verifies V1 (`OSS <id>:<base64 hmac-sha1>`) and V4 (`OSS4-HMAC-SHA256`) signatures, the
 * request time, Content-MD5 and the STS security token, and answers with OSS's XML error bodies
 * (for HEAD, base64 in the `x-oss-err` header, as OSS does).
 *
 * Buckets are virtual-hosted: the bucket is the first label of the Host header
 * (`<bucket>.oss-cn-hangzhou.aliyuncs.com`), which is what ali-oss sends to an IP endpoint. It
 * serves PutObject, GetObject, HeadObject, DeleteObject, ListObjects (marker) and ListObjectsV2
 * (`list-type=2`, continuation token).
 * @module
 */

import { createHash, createHmac } from "node:crypto";

/** A key pair the server accepts; with `securityToken` it is temporary (STS). */
export interface OssCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** Options of {@linkcode startOssServer}. */
export interface OssServerOptions {
  credentials: OssCredentials[];
  /** @default {["recordings"]} */
  buckets?: string[];
  /**
   * The region of every bucket, in V4 form: the V4 scope must name it.
   * @default {"cn-hangzhou"}
   */
  region?: string;
  /** A port to listen on; 0 picks a free one. @default {0} */
  port?: number;
}

/** One stored object. */
export interface OssObject {
  readonly data: Uint8Array<ArrayBuffer>;
  /** Upper-case hex MD5, as OSS's ETag of a simple upload. */
  readonly md5: string;
  readonly contentType: string;
  readonly lastModified: Date;
}

/** What the server saw of one request. */
export interface OssRequestRecord {
  readonly method: string;
  readonly bucket: string | undefined;
  readonly key: string;
  /** The raw query string, with its "?" ("" when none). */
  readonly search: string;
  readonly headers: Record<string, string>;
  readonly auth: "none" | "v1" | "v4";
  status: number;
  /** The OSS error code answered, if any. */
  code?: string;
}

/** A running {@linkcode startOssServer} server. */
export interface OssServer {
  /** "http://127.0.0.1:<port>" */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** Bucket → key → object; tests may read and change it directly. */
  readonly buckets: Map<string, Map<string, OssObject>>;
  /** Every request answered since the start, oldest first. */
  readonly requests: OssRequestRecord[];
  /** Answers the next `count` requests with `status` and OSS error `code` (fault injection). */
  failNext(count: number, status: number, code: string): void;
  /** Stops listening; the data stays. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** Query parameters that V1 signs in the CanonicalizedResource (OSS's sub-resources). */
const SIGNED_SUBRESOURCES = new Set([
  "acl",
  "bucketInfo",
  "location",
  "stat",
  "delete",
  "append",
  "tagging",
  "objectMeta",
  "uploads",
  "uploadId",
  "partNumber",
  "security-token",
  "position",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "restore",
  "callback",
  "callback-var",
  "versions",
  "versioning",
  "versionId",
  "sequential",
  "continuation-token",
  "regionList",
  "cloudboxes",
  "symlink",
]);

const MAX_SKEW_MS = 15 * 60_000;
const OWNER_ID = "1234567890123456";

/** Percent-encodes like OSS V4's UriEncode: everything but A-Z a-z 0-9 - . _ ~. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An opaque continuation token: the last key listed, base64url. */
function base64Url(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function isIp(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith("[");
}

class OssError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly extra: Record<string, string> = {},
  ) {}
}

interface Parsed {
  method: string;
  bucket: string;
  key: string;
  url: URL;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
}

class Server implements OssServer {
  readonly region: string;
  readonly buckets = new Map<string, Map<string, OssObject>>();
  readonly requests: OssRequestRecord[] = [];
  #credentials: Map<string, OssCredentials>;
  #port: number;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #faults: { count: number; status: number; code: string } | undefined;

  constructor(options: OssServerOptions) {
    this.region = options.region ?? "cn-hangzhou";
    this.#port = options.port ?? 0;
    this.#credentials = new Map(options.credentials.map((c) => [c.accessKeyId, c]));
    for (const bucket of options.buckets ?? ["recordings"]) this.buckets.set(bucket, new Map());
  }

  get port(): number {
    return this.#port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  failNext(count: number, status: number, code: string): void {
    this.#faults = count > 0 ? { count, status, code } : undefined;
  }

  start(): Promise<void> {
    if (this.#server) return Promise.resolve();
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: this.#port, onListen() {} },
      (request) => this.#handle(request),
    );
    this.#port = this.#server.addr.port;
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = new Uint8Array(await request.arrayBuffer());
    } catch {
      return new Response(null, { status: 400 }); // the client went away mid-upload
    }
    const host = (request.headers.get("host") ?? "").replace(/:\d+$/, "");
    const bucket = !isIp(host) && host.includes(".") ? host.slice(0, host.indexOf(".")) : undefined;
    let key = "";
    try {
      key = decodeURIComponent(url.pathname.slice(1));
    } catch {
      // answered below as InvalidObjectName
    }
    const authorization = request.headers.get("authorization") ?? "";
    const record: OssRequestRecord = {
      method: request.method,
      bucket,
      key,
      search: url.search,
      headers: Object.fromEntries(request.headers),
      auth: authorization.startsWith("OSS4-HMAC-SHA256 ")
        ? "v4"
        : authorization.startsWith("OSS ")
        ? "v1"
        : "none",
      status: 0,
    };
    this.requests.push(record);
    const requestId = crypto.randomUUID().replaceAll("-", "").slice(0, 24).toUpperCase();
    const hostId = request.headers.get("host") ?? "";
    let response: Response;
    try {
      if (this.#faults) {
        const { status, code } = this.#faults;
        if (--this.#faults.count <= 0) this.#faults = undefined;
        throw new OssError(status, code, "Injected by the test server.");
      }
      if (!bucket) {
        throw new OssError(
          400,
          "InvalidRequest",
          "Put the bucket in the Host header: <bucket>.<endpoint>.",
        );
      }
      if (key === "" && url.pathname.length > 1) {
        throw new OssError(400, "InvalidObjectName", "The object name is not valid.");
      }
      const parsed: Parsed = {
        method: request.method,
        bucket,
        key,
        url,
        headers: request.headers,
        body,
      };
      const objects = this.buckets.get(bucket);
      if (!objects) {
        throw new OssError(404, "NoSuchBucket", "The specified bucket does not exist.", {
          BucketName: bucket,
        });
      }
      this.#authenticate(parsed);
      response = this.#operate(parsed, objects);
    } catch (error) {
      if (!(error instanceof OssError)) throw error;
      record.code = error.code;
      response = errorResponse(error, request.method, requestId, hostId);
    }
    record.status = response.status;
    response.headers.set("x-oss-request-id", requestId);
    response.headers.set("server", "AliyunOSS");
    return response;
  }

  /** Checks the signature, the time and the security token; throws an OssError when refused. */
  #authenticate(request: Parsed): void {
    const authorization = request.headers.get("authorization");
    if (!authorization) {
      throw new OssError(
        403,
        "AccessDenied",
        "You have no right to access this object because of bucket acl.",
      );
    }
    if (authorization.startsWith("OSS4-HMAC-SHA256 ")) this.#verifyV4(request, authorization);
    else if (authorization.startsWith("OSS ")) this.#verifyV1(request, authorization);
    else {
      throw new OssError(400, "InvalidArgument", "Authorization header is invalid.", {
        ArgumentName: "Authorization",
      });
    }
  }

  #credential(accessKeyId: string, headers: Headers): OssCredentials {
    const credential = this.#credentials.get(accessKeyId);
    if (!credential) {
      throw new OssError(
        403,
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
        { OSSAccessKeyId: accessKeyId },
      );
    }
    const token = headers.get("x-oss-security-token");
    if (credential.securityToken !== undefined && token !== credential.securityToken) {
      throw new OssError(
        403,
        "AccessDenied",
        token === null
          ? "The security token is missing for a temporary access key."
          : "The security token you provided is invalid.",
      );
    }
    if (credential.securityToken === undefined && token !== null) {
      throw new OssError(403, "AccessDenied", "The security token you provided is invalid.");
    }
    return credential;
  }

  #checkTime(timeMs: number, text: string): void {
    if (Number.isNaN(timeMs)) {
      throw new OssError(403, "AccessDenied", `OSS authentication requires a valid Date.`, {
        Date: text,
      });
    }
    if (Math.abs(Date.now() - timeMs) > MAX_SKEW_MS) {
      throw new OssError(
        403,
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        { RequestTime: text, ServerTime: new Date().toISOString() },
      );
    }
  }

  /**
   * V1: base64(HMAC-SHA1(secret, VERB\nContent-MD5\nContent-Type\nDate\n
   * CanonicalizedOSSHeaders CanonicalizedResource)). The Date line is `x-oss-date` when sent
   * (ali-oss sends it instead of Date, which browsers may not set), else `Date`.
   */
  #verifyV1(request: Parsed, authorization: string): void {
    const match = /^OSS ([^:\s]+):(\S+)$/.exec(authorization);
    if (!match) {
      throw new OssError(400, "InvalidArgument", "Authorization header is invalid.", {
        ArgumentName: "Authorization",
      });
    }
    const [, accessKeyId, provided] = match;
    const credential = this.#credential(accessKeyId, request.headers);
    const { headers, url } = request;
    const date = headers.get("x-oss-date") ?? headers.get("date") ?? "";
    this.#checkTime(Date.parse(date), date);

    const ossHeaders = [...headers.keys()].filter((name) => name.startsWith("x-oss-")).sort()
      .map((name) => `${name}:${headers.get(name)!.trim()}\n`).join("");
    const subresources = [...new Set(url.searchParams.keys())]
      .filter((name) => SIGNED_SUBRESOURCES.has(name) || name.startsWith("x-oss-"))
      .sort()
      .map((name) => {
        const value = url.searchParams.get(name)!;
        return value ? `${name}=${value}` : name;
      });
    const resource = `/${request.bucket}/${request.key}` +
      (subresources.length ? `?${subresources.join("&")}` : "");
    const stringToSign = [
      request.method,
      headers.get("content-md5") ?? "",
      headers.get("content-type") ?? "",
      date,
      ossHeaders + resource,
    ].join("\n");
    const expected = createHmac("sha1", credential.accessKeySecret).update(stringToSign)
      .digest("base64");
    if (expected !== provided) {
      throw new OssError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        {
          StringToSign: stringToSign,
          SignatureProvided: provided,
          OSSAccessKeyId: accessKeyId,
        },
      );
    }
  }

  /**
   * V4: hex(HMAC-SHA256(signing key, "OSS4-HMAC-SHA256\n<x-oss-date>\n<scope>\n
   * hex(SHA256(canonical request)))), the signing key derived from "aliyun_v4" + secret through
   * the date, the region, "oss" and "aliyun_v4_request". The canonical request is VERB, the
   * URI-encoded "/bucket/key", the sorted encoded query (a key without a value stands alone),
   * the Content-Type, Content-MD5, x-oss-* and additional headers as "name:value\n", the
   * additional header names, and x-oss-content-sha256.
   */
  #verifyV4(request: Parsed, authorization: string): void {
    const fields = new Map<string, string>();
    for (const part of authorization.slice("OSS4-HMAC-SHA256 ".length).split(",")) {
      const at = part.indexOf("=");
      if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
    }
    const credentialField = fields.get("Credential") ?? "";
    const provided = fields.get("Signature") ?? "";
    const scopeParts = credentialField.split("/");
    if (scopeParts.length !== 5 || !provided) {
      throw new OssError(400, "InvalidArgument", "Authorization header is invalid.", {
        ArgumentName: "Authorization",
      });
    }
    const credential = this.#credential(scopeParts[0], request.headers);
    const { headers, url, body } = request;
    const datetime = headers.get("x-oss-date") ?? "";
    const time = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(datetime);
    this.#checkTime(
      time ? Date.UTC(+time[1], +time[2] - 1, +time[3], +time[4], +time[5], +time[6]) : NaN,
      datetime,
    );
    const payloadHash = headers.get("x-oss-content-sha256");
    if (!payloadHash) {
      throw new OssError(400, "InvalidArgument", "x-oss-content-sha256 is required.", {
        ArgumentName: "x-oss-content-sha256",
      });
    }
    if (
      payloadHash !== "UNSIGNED-PAYLOAD" &&
      payloadHash !== createHash("sha256").update(body).digest("hex")
    ) {
      throw new OssError(400, "InvalidDigest", "x-oss-content-sha256 does not match the body.");
    }

    const additional = (fields.get("AdditionalHeaders") ?? "").split(";").filter((h) => h)
      .map((h) => h.toLowerCase());
    for (const name of additional) {
      if (!headers.has(name)) {
        throw new OssError(400, "InvalidArgument", `Additional header ${name} is missing.`);
      }
    }
    const signedHeaders = new Set(additional);
    for (const name of headers.keys()) {
      if (name === "content-type" || name === "content-md5" || name.startsWith("x-oss-")) {
        signedHeaders.add(name);
      }
    }
    const canonicalHeaders = [...signedHeaders].sort()
      .map((name) => `${name}:${headers.get(name)!.trim()}\n`).join("");
    const query = [...url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)])
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
      .map(([k, v]) => v ? `${k}=${v}` : k).join("&");
    const canonicalRequest = [
      request.method,
      uriEncode(`/${request.bucket}/${request.key}`).replaceAll("%2F", "/"),
      query,
      canonicalHeaders,
      additional.join(";"),
      payloadHash,
    ].join("\n");
    const date = datetime.slice(0, 8);
    // The server's own region, not the one the client named: a wrong region is a wrong signature.
    const scope = `${date}/${this.region}/oss/aliyun_v4_request`;
    const stringToSign = [
      "OSS4-HMAC-SHA256",
      datetime,
      scope,
      createHash("sha256").update(canonicalRequest).digest("hex"),
    ].join("\n");
    let signingKey: Uint8Array = createHmac("sha256", `aliyun_v4${credential.accessKeySecret}`)
      .update(date).digest();
    for (const part of [this.region, "oss", "aliyun_v4_request"]) {
      signingKey = createHmac("sha256", signingKey).update(part).digest();
    }
    const expected = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
    if (expected !== provided) {
      throw new OssError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        {
          CanonicalRequest: canonicalRequest,
          StringToSign: stringToSign,
          SignatureProvided: provided,
          OSSAccessKeyId: scopeParts[0],
        },
      );
    }
  }

  #operate(request: Parsed, objects: Map<string, OssObject>): Response {
    const { method, key, headers, body } = request;
    if (key === "") {
      if (method === "GET") return this.#list(request, objects);
      throw new OssError(405, "MethodNotAllowed", "The specified method is not allowed.");
    }
    switch (method) {
      case "PUT": {
        const md5 = createHash("md5").update(body);
        const md5Base64 = md5.copy().digest("base64");
        const sent = headers.get("content-md5");
        if (sent !== null && sent !== md5Base64) {
          if (!/^[A-Za-z0-9+/]{22}==$/.test(sent)) {
            throw new OssError(400, "InvalidDigest", "The Content-MD5 you specified is invalid.");
          }
          throw new OssError(
            400,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            { ExpectedMD5: sent, CalculatedMD5: md5Base64 },
          );
        }
        const object: OssObject = {
          data: body,
          md5: md5.digest("hex").toUpperCase(),
          contentType: headers.get("content-type") ?? "application/octet-stream",
          lastModified: new Date(),
        };
        objects.set(key, object);
        return new Response(null, {
          status: 200,
          headers: { etag: `"${object.md5}"`, "content-md5": md5Base64 },
        });
      }
      case "GET":
      case "HEAD": {
        const object = objects.get(key);
        if (!object) throw new OssError(404, "NoSuchKey", "The specified key does not exist.");
        return new Response(method === "HEAD" ? null : object.data, {
          status: 200,
          headers: {
            "content-type": object.contentType,
            "content-length": String(object.data.byteLength),
            etag: `"${object.md5}"`,
            "last-modified": object.lastModified.toUTCString(),
            "x-oss-object-type": "Normal",
            "x-oss-storage-class": "Standard",
          },
        });
      }
      case "DELETE":
        objects.delete(key); // 204 whether or not it existed
        return new Response(null, { status: 204 });
      default:
        throw new OssError(405, "MethodNotAllowed", "The specified method is not allowed.");
    }
  }

  /** ListObjects (`marker`) or, with `list-type=2`, ListObjectsV2 (`continuation-token`). */
  #list(request: Parsed, objects: Map<string, OssObject>): Response {
    const params = request.url.searchParams;
    const v2 = params.get("list-type") === "2";
    const prefix = params.get("prefix") ?? "";
    const delimiter = params.get("delimiter") ?? "";
    const maxKeysText = params.get("max-keys") ?? "100";
    const maxKeys = Number(maxKeysText);
    if (!/^\d+$/.test(maxKeysText) || maxKeys < 1 || maxKeys > 1000) {
      throw new OssError(400, "InvalidArgument", "max-keys must be between 1 and 1000.", {
        ArgumentName: "max-keys",
        ArgumentValue: maxKeysText,
      });
    }
    const token = params.get("continuation-token");
    let after = v2 ? params.get("start-after") ?? "" : params.get("marker") ?? "";
    if (v2 && token) {
      try {
        after = new TextDecoder("utf-8", { fatal: true }).decode(
          Uint8Array.from(
            atob(token.replaceAll("-", "+").replaceAll("_", "/")),
            (c) => c.charCodeAt(0),
          ),
        );
      } catch {
        throw new OssError(400, "InvalidArgument", "The continuation token is invalid.", {
          ArgumentName: "continuation-token",
        });
      }
    }
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const contents: string[] = [];
    const prefixes = new Set<string>();
    let last = "";
    let truncated = false;
    for (const k of keys) {
      if (contents.length + prefixes.size >= maxKeys) {
        truncated = true;
        break;
      }
      const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) {
        const common = k.slice(0, cut + delimiter.length);
        last = k;
        if (prefixes.has(common)) continue;
        prefixes.add(common);
        continue;
      }
      const object = objects.get(k)!;
      last = k;
      contents.push(
        `<Contents><Key>${xmlEscape(k)}</Key>` +
          `<LastModified>${object.lastModified.toISOString()}</LastModified>` +
          `<ETag>"${object.md5}"</ETag><Type>Normal</Type>` +
          `<Size>${object.data.byteLength}</Size><StorageClass>Standard</StorageClass>` +
          (!v2 || params.get("fetch-owner") === "true"
            ? `<Owner><ID>${OWNER_ID}</ID><DisplayName>${OWNER_ID}</DisplayName></Owner>`
            : "") +
          `</Contents>`,
      );
    }
    const element = (name: string, value: string) => `<${name}>${xmlEscape(value)}</${name}>`;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>` +
      element("Name", request.bucket) + element("Prefix", prefix) +
      (v2
        ? (params.has("start-after") ? element("StartAfter", params.get("start-after")!) : "") +
          (token ? element("ContinuationToken", token) : "")
        : element("Marker", params.get("marker") ?? "")) +
      element("MaxKeys", String(maxKeys)) + element("Delimiter", delimiter) +
      element("IsTruncated", String(truncated)) +
      (truncated
        ? v2 ? element("NextContinuationToken", base64Url(last)) : element("NextMarker", last)
        : "") +
      (v2 ? element("KeyCount", String(contents.length + prefixes.size)) : "") +
      contents.join("") +
      [...prefixes].map((p) => `<CommonPrefixes>${element("Prefix", p)}</CommonPrefixes>`)
        .join("") +
      `</ListBucketResult>`;
    return new Response(xml, { status: 200, headers: { "content-type": "application/xml" } });
  }
}

/** OSS's error answer: an XML body, or for HEAD (no body) the same XML base64 in `x-oss-err`. */
function errorResponse(
  error: OssError,
  method: string,
  requestId: string,
  hostId: string,
): Response {
  const extra = Object.entries(error.extra).map(([name, value]) =>
    `  <${name}>${xmlEscape(value)}</${name}>\n`
  ).join("");
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n` +
    `  <Code>${error.code}</Code>\n  <Message>${xmlEscape(error.message)}</Message>\n` +
    `  <RequestId>${requestId}</RequestId>\n  <HostId>${xmlEscape(hostId)}</HostId>\n` +
    extra + `</Error>\n`;
  const headers = new Headers({ "content-type": "application/xml" });
  if (method === "HEAD") {
    let binary = "";
    for (const byte of new TextEncoder().encode(xml)) binary += String.fromCharCode(byte);
    headers.set("x-oss-err", btoa(binary));
    return new Response(null, { status: error.status, headers });
  }
  return new Response(xml, { status: error.status, headers });
}

/**
 * Starts an OSS server on 127.0.0.1 that knows `options.credentials` and has the buckets
 * `options.buckets`, empty.
 *
 * @example
 * ```ts ignore
 * const oss = await startOssServer({ credentials: [{ accessKeyId: "AK", accessKeySecret: "SK" }] });
 * const store = new OssObjectStore({ bucket: "recordings", region: oss.region,
 *   endpoint: oss.endpoint, accessKeyId: "AK", accessKeySecret: "SK" });
 * await oss.stop();
 * ```
 */
export async function startOssServer(options: OssServerOptions): Promise<OssServer> {
  const server = new Server(options);
  await server.start();
  return server;
}
