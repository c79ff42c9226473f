/**
 * The configuration: Live777's `live777.toml`, so a file a Live777 user already has works. The
 * recorder reads `[http]`, `[log]`, `[recorder]` (with `[recorder.storage]`,
 * `[recorder.liveman]` and `[recorder.pull]`) and `[[stream.<name>.sources]]`; `main.ts liveman`
 * reads `[liveman]` too; the other Live777 sections are accepted and listed in
 * {@linkcode Config.ignoredSections}. Every mistake is a {@linkcode ConfigError} naming the file
 * and the dotted key; secrets are never echoed.
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, TomlError } from "smol-toml";
import { ConfigError } from "../errors.ts";
import type { LogLevel } from "../log.ts";
import type { Container } from "../types.ts";
import { streamIdentity, streamNameProblem } from "../storage/key.ts";
import { applyEnvOverrides } from "./env.ts";
import { globToRegExp } from "./glob.ts";
import { isWhepUrl, parseWhepUrl, redactUrl } from "./whep_url.ts";

export type { LogLevel } from "../log.ts";

/** The whole configuration, validated and with defaults filled in. */
export interface Config {
  /** Path of the file it came from (for messages). */
  readonly file: string;
  readonly http: HttpConfig;
  readonly log: LogConfig;
  /** `[auth]`: who may publish and use the API. */
  readonly auth: AuthConfig;
  readonly recorder: RecorderConfig;
  /** `[liveman]`: the Liveman service of `main.ts liveman`. */
  readonly liveman: LivemanServiceConfig;
  /** From `[[stream.<name>.sources]]` tables: plain RTP described by SDP files, or WHEP pulls. */
  readonly streams: ReadonlyMap<string, StreamConfig>;
  /** Top-level Live777 sections this program accepts but does not use (logged once by main). */
  readonly ignoredSections: readonly string[];
}

/** `[http]`: the WHIP endpoint and the recording API. */
export interface HttpConfig {
  /** `host:port` to listen on. @default {"0.0.0.0:7777"} */
  readonly listen: string;
  /** Whether to answer CORS requests from any origin. @default {false} */
  readonly cors: boolean;
}

/** `[liveman]`: the segment index and playback service (`main.ts liveman`). */
export interface LivemanServiceConfig {
  /** `host:port` to listen on. @default {"0.0.0.0:8888"} */
  readonly listen: string;
  /**
   * `database`: "sqlite:<path>" (embedded), "sqlite::memory:", or "postgres://user:pass@host/db".
   * @default {"sqlite:./liveman.db"}
   */
  readonly database: string;
  /** Bearer token the recorders must send with reports; reports are open when unset. */
  readonly token?: string;
}

/**
 * `[auth]`, as Live777 has it: static bearer tokens and a secret for HMAC-SHA256 signed JWTs
 * (claims `id`, `mode`, `exp`). With neither, everything is open.
 */
export interface AuthConfig {
  /** `secret`: HS256 key of the JWTs. */
  readonly secret?: string;
  /** `tokens`: static bearer tokens, each allowed everything. @default {[]} */
  readonly tokens: readonly string[];
}

/** `[recorder.limits]`: what one client or session may take. */
export interface LimitsConfig {
  /** `max_sessions`: WHIP sessions at once, negotiating or live. @default {256} */
  readonly maxSessions: number;
  /** `max_bitrate`: bits per second one session may send (all tracks). @default {50_000_000} */
  readonly maxBitrate: number;
  /** `max_packet_rate`: RTP packets per second one session may send. @default {10_000} */
  readonly maxPacketRate: number;
  /** `max_sdp_bytes`: largest SDP offer accepted. @default {65_536} */
  readonly maxSdpBytes: number;
}

/** `[log]`. */
export interface LogConfig {
  /** `[log] level`; the environment variable `LOG_LEVEL` overrides it. @default {"info"} */
  readonly level: LogLevel;
}

/** `[stream.<name>]`: the plain RTP sources of one stream. */
export interface StreamConfig {
  readonly sources: readonly SourceConfig[];
}

/** One `[[stream.<name>.sources]]` table: plain RTP described by an SDP file, or a WHEP pull. */
export type SourceConfig = RtpSourceConfig | WhepSourceConfig;

/** `url = "file:///x.sdp"` or a path: plain RTP described by an SDP file. */
export interface RtpSourceConfig {
  readonly type: "rtp";
  /** Absolute path of the SDP file. */
  readonly sdpPath: string;
  /** The `url` as written in the file. */
  readonly url: string;
}

/** `url = "whep://[token@]host:port/whep/<stream>"` (or http(s)://): a stream pulled over WHEP. */
export interface WhepSourceConfig {
  readonly type: "whep";
  /** The http(s) endpoint the offer is POSTed to, without credentials. */
  readonly endpoint: string;
  /** Bearer token, from the URL's user part. */
  readonly token?: string;
  /** The `url` as written in the file, its token replaced by "***". */
  readonly url: string;
}

/** `[recorder.pull]`: record the streams of a Live777 (liveion) node by subscribing over WHEP. */
export interface PullConfig {
  /** `url`: the node's base URL, http or https, e.g. "http://live777:7777". */
  readonly url: string;
  /** `token`: bearer token for the node's API and WHEP endpoints. */
  readonly token?: string;
  /** `interval`: seconds between two listings of the node's streams, > 0. @default {5} */
  readonly interval: number;
}

/** `[recorder]`. */
export interface RecorderConfig {
  /** `auto_streams`: globs of the stream names to record. @default {[]} */
  readonly autoStreams: readonly string[];
  /** `segment_duration`: target segment length in seconds, > 0 and <= 60. @default {2} */
  readonly segmentDuration: number;
  /** `idle_timeout`: seconds an RTP source may be silent before its recording ends. @default {5} */
  readonly idleTimeout: number;
  /** `max_recording_seconds`: longest single recording, integer > 0. @default {86400} */
  readonly maxRecordingSeconds: number;
  /** `retention_days`: recordings older than this many days are deleted; 0 keeps all. @default {0} */
  readonly retentionDays: number;
  /**
   * `container`: "fmp4" (`.m4s`, every codec) or "webm" (`.webm`, VP8/VP9/AV1 + Opus; a stream
   * with H264 or H265 video is recorded as fMP4 instead). @default {"fmp4"}
   */
  readonly container: Container;
  /** `node_alias`: this node's name towards Liveman. */
  readonly nodeAlias?: string;
  /**
   * `state_dir`: local directory for the upload spool (s3, oss) and the Liveman outbox; keep it
   * on persistent disk. @default {"./.live777-recorder"}
   */
  readonly stateDir: string;
  /** `spool_max_bytes`: most bytes the upload spool may hold, integer > 0. @default {1 GiB} */
  readonly spoolMaxBytes: number;
  /**
   * `upload_concurrency`: most uploads to s3/oss at a time, each of another recording, integer
   * ≥ 1. @default {8}
   */
  readonly uploadConcurrency: number;
  /**
   * `ice_host_addresses`: the addresses WHIP answers offer as ICE host candidates; empty means
   * every interface's. @default {[]}
   */
  readonly iceHostAddresses: readonly string[];
  /** `[recorder.storage]`. @default {{ type: "fs", root: "./records" }} */
  readonly storage: StorageConfig;
  /** `[recorder.liveman]`; absent means local-only mode. */
  readonly liveman?: LivemanConfig;
  /** `[recorder.pull]`; absent means no node is pulled from. */
  readonly pull?: PullConfig;
  /** `[recorder.limits]`. */
  readonly limits: LimitsConfig;
}

/** `[recorder.storage]`, tagged by `type`. */
export type StorageConfig = FsStorageConfig | S3StorageConfig | OssStorageConfig;

/** `type = "fs"`: a local directory. */
export interface FsStorageConfig {
  readonly type: "fs";
  /** @default {"./records"} */
  readonly root: string;
}

/** `type = "s3"`: Amazon S3 or a compatible service. */
export interface S3StorageConfig {
  readonly type: "s3";
  readonly bucket: string;
  /** Key prefix inside the bucket. @default {"/"} */
  readonly root: string;
  readonly region?: string;
  readonly endpoint?: string;
  /** Set together with `secretAccessKey`. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** Only with an access key pair. */
  readonly sessionToken?: string;
  /** Do not load credentials from the environment or profile files. @default {false} */
  readonly disableConfigLoad: boolean;
  /** @default {false} */
  readonly enableVirtualHostStyle: boolean;
}

/** `type = "oss"`: Alibaba Cloud Object Storage Service. */
export interface OssStorageConfig {
  readonly type: "oss";
  readonly bucket: string;
  /** Key prefix inside the bucket. @default {"/"} */
  readonly root: string;
  readonly region: string;
  readonly endpoint: string;
  /** Set together with `accessKeySecret`. */
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly securityToken?: string;
}

/** `[recorder.liveman]`: where segment reports go. */
export interface LivemanConfig {
  /** Liveman's base URL, http or https. */
  readonly url: string;
  /** `node_alias` of this section, else the one of `[recorder]`. */
  readonly nodeAlias?: string;
  /** `retry_attempts`: integer >= 0. @default {3} */
  readonly retryAttempts: number;
  /** `report_timeout` in seconds, > 0. @default {10} */
  readonly reportTimeout: number;
  /** Bearer token sent with each report. */
  readonly token?: string;
}

const DEFAULT_STATE_DIR = "./.live777-recorder";
const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;
const DEFAULT_UPLOAD_CONCURRENCY = 8;

const LOG_LEVELS: readonly LogLevel[] = ["off", "error", "warn", "info", "debug", "trace"];

/** Live777 sections the recorder accepts and ignores. */
const IGNORED_SECTIONS = new Set([
  "ice_servers",
  "strategy",
  "webhook",
  "sdp",
  "reforward",
  "net4mqtt",
  "cascade",
  "extra_ice",
  "database",
  "nodes",
  "playback",
]);

/** Keys whose values are never put into a message. */
const SECRETS = new Set([
  "secret_access_key",
  "access_key_secret",
  "session_token",
  "security_token",
  "token",
  "tokens",
  "secret",
  "password",
  "access_key_id",
  // May hold a password.
  "database",
]);

export const DEFAULT_LIMITS: LimitsConfig = {
  maxSessions: 256,
  maxBitrate: 50_000_000,
  maxPacketRate: 10_000,
  maxSdpBytes: 65_536,
};

type Table = Record<string, unknown>;

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

/** TOML's way to write a key: bare when it can be, else quoted. */
function keyPart(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

function join(path: string, key: string): string {
  return path ? `${path}.${keyPart(key)}` : keyPart(key);
}

function quote(value: string): string {
  return JSON.stringify(value);
}

/** Describes a value for "got …", without the value itself when it is a secret. */
function describe(value: unknown, secret: boolean): string {
  if (typeof value === "string") return secret ? "a string" : quote(value);
  if (typeof value === "number") {
    if (secret) return Number.isInteger(value) ? "an integer" : "a float";
    return String(value);
  }
  if (typeof value === "bigint") return secret ? "an integer" : String(value);
  if (typeof value === "boolean") return secret ? "a boolean" : String(value);
  if (value instanceof Date) return "a date";
  if (Array.isArray(value)) return "an array";
  return "a table";
}

/** Reads and validates one TOML table; knows the file and the table's dotted path. */
class Section {
  readonly #file: string;
  readonly path: string;
  readonly table: Table;

  constructor(file: string, path: string, table: Table) {
    this.#file = file;
    this.path = path;
    this.table = table;
  }

  /** The dotted key of `key` in this table. */
  key(key: string): string {
    return join(this.path, key);
  }

  error(key: string, message: string): ConfigError {
    return new ConfigError(this.#file, key, message);
  }

  /** Throws for the first key not in `known`. */
  onlyKeys(known: readonly string[], context = ""): void {
    for (const key of Object.keys(this.table)) {
      if (!known.includes(key)) {
        throw this.error(
          this.key(key),
          `Unknown key${context} (expected one of: ${known.join(", ")})`,
        );
      }
    }
  }

  #typeError(key: string, expected: string): ConfigError {
    const value = this.table[key];
    return this.error(
      this.key(key),
      `Expected ${expected}, got ${describe(value, SECRETS.has(key))}`,
    );
  }

  /** A table found at the dotted key `path` of the same file. */
  child(path: string, table: Table): Section {
    return new Section(this.#file, path, table);
  }

  /** A sub-table, or undefined when absent. */
  section(key: string): Section | undefined {
    const value = this.table[key];
    if (value === undefined) return undefined;
    if (!isTable(value)) throw this.#typeError(key, "a table");
    return new Section(this.#file, this.key(key), value);
  }

  string(key: string): string | undefined {
    const value = this.table[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string") throw this.#typeError(key, "a string");
    return value;
  }

  /** A string that, when present, is not empty. */
  nonEmpty(key: string): string | undefined {
    const value = this.string(key);
    if (value !== undefined && value.trim() === "") {
      throw this.error(this.key(key), "Must not be empty");
    }
    return value;
  }

  required(key: string): string {
    const value = this.nonEmpty(key);
    if (value === undefined) throw this.error(this.key(key), "Missing required key");
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.table[key];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw this.#typeError(key, "a boolean");
    return value;
  }

  /** A finite number; with `integer`, a whole one. */
  number(key: string, fallback: number, integer = false): number {
    const value = this.table[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw this.#typeError(key, integer ? "an integer" : "a number");
    }
    if (integer && !Number.isInteger(value)) throw this.#typeError(key, "an integer");
    return value;
  }

  array(key: string): unknown[] | undefined {
    const value = this.table[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.#typeError(key, "an array");
    return value;
  }
}

function parseLogLevel(value: string): LogLevel | undefined {
  const level = value.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(level) ? level as LogLevel : undefined;
}

const EXPECTED_LEVELS = LOG_LEVELS.map(quote).join(", ");

/** A `listen` key: "host:port", "[v6]:port" or ":port". */
function readListen(section: Section, fallback: string): string {
  const listen = section.string("listen");
  if (listen === undefined) return fallback;
  const m = /^(?:\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(listen);
  if (!m || Number(m[1]) > 65535) {
    throw section.error(
      section.key("listen"),
      `Invalid listen address ${quote(listen)} (expected "host:port")`,
    );
  }
  return listen;
}

function readHttp(section: Section | undefined): HttpConfig {
  const http = { listen: "0.0.0.0:7777", cors: false };
  if (!section) return http;
  section.onlyKeys(["listen", "cors"]);
  http.listen = readListen(section, http.listen);
  http.cors = section.boolean("cors", false);
  return http;
}

const DEFAULT_LIVEMAN_DATABASE = "sqlite:./liveman.db";

function readLivemanService(section: Section | undefined): LivemanServiceConfig {
  const listen = "0.0.0.0:8888";
  if (!section) return { listen, database: DEFAULT_LIVEMAN_DATABASE };
  section.onlyKeys(["listen", "database", "token"]);
  const database = section.nonEmpty("database") ?? DEFAULT_LIVEMAN_DATABASE;
  // The URL may hold a password: the message describes it without quoting it.
  const sqlite = /^sqlite:(?!\/\/$)./.test(database);
  let postgres = false;
  if (/^postgres(ql)?:\/\//.test(database)) {
    try {
      postgres = new URL(database).hostname !== "";
    } catch {
      postgres = false;
    }
  }
  if (!sqlite && !postgres) {
    throw section.error(
      section.key("database"),
      `Unsupported database URL (expected "sqlite:<path>" or "postgres://user@host/db")`,
    );
  }
  return {
    listen: readListen(section, listen),
    database,
    token: section.nonEmpty("token"),
  };
}

function readLog(
  section: Section | undefined,
  file: string,
  env: Record<string, string | undefined>,
): LogConfig {
  let level: LogLevel = "info";
  if (section) {
    section.onlyKeys(["level"]);
    const value = section.string("level");
    if (value !== undefined) {
      const parsed = parseLogLevel(value);
      if (!parsed) {
        throw section.error(
          section.key("level"),
          `Unknown log level ${quote(value)} (expected ${EXPECTED_LEVELS})`,
        );
      }
      level = parsed;
    }
  }
  const fromEnv = env.LOG_LEVEL;
  if (fromEnv !== undefined && fromEnv.trim() !== "") {
    const parsed = parseLogLevel(fromEnv);
    if (!parsed) {
      throw new ConfigError(
        file,
        "LOG_LEVEL",
        `Unknown log level ${quote(fromEnv)} in the environment (expected ${EXPECTED_LEVELS})`,
      );
    }
    level = parsed;
  }
  return { level };
}

/** Checks that an optional endpoint, when it has a scheme, is http or https. */
function checkEndpoint(section: Section, key: string, endpoint: string | undefined): void {
  if (endpoint === undefined || !endpoint.includes("://")) return;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw section.error(section.key(key), `Invalid URL ${quote(endpoint)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw section.error(
      section.key(key),
      `Unsupported URL scheme ${quote(url.protocol.slice(0, -1))} (expected "http" or "https")`,
    );
  }
}

/** Throws unless both or neither of a key pair are set. */
function checkPair(section: Section, id: string, secret: string): void {
  const hasId = section.table[id] !== undefined;
  const hasSecret = section.table[secret] !== undefined;
  if (hasId && !hasSecret) {
    throw section.error(section.key(secret), `Missing key: ${id} and ${secret} go together`);
  }
  if (hasSecret && !hasId) {
    throw section.error(section.key(id), `Missing key: ${id} and ${secret} go together`);
  }
}

const FS_KEYS = ["type", "root"];
const S3_KEYS = [
  "type",
  "bucket",
  "root",
  "region",
  "endpoint",
  "access_key_id",
  "secret_access_key",
  "session_token",
  "disable_config_load",
  "enable_virtual_host_style",
];
const OSS_KEYS = [
  "type",
  "bucket",
  "root",
  "region",
  "endpoint",
  "access_key_id",
  "access_key_secret",
  "security_token",
];

function readStorage(section: Section | undefined): StorageConfig {
  if (!section) return { type: "fs", root: "./records" };
  const type = section.string("type") ?? "fs";
  const forType = ` for storage type ${quote(type)}`;
  switch (type) {
    case "fs": {
      section.onlyKeys(FS_KEYS, forType);
      return { type, root: section.nonEmpty("root") ?? "./records" };
    }
    case "s3": {
      section.onlyKeys(S3_KEYS, forType);
      const bucket = section.required("bucket");
      const endpoint = section.nonEmpty("endpoint");
      checkEndpoint(section, "endpoint", endpoint);
      const accessKeyId = section.nonEmpty("access_key_id");
      const secretAccessKey = section.nonEmpty("secret_access_key");
      const sessionToken = section.nonEmpty("session_token");
      checkPair(section, "access_key_id", "secret_access_key");
      if (sessionToken !== undefined && accessKeyId === undefined) {
        throw section.error(
          section.key("session_token"),
          "Needs access_key_id and secret_access_key to be set too",
        );
      }
      return {
        type,
        bucket,
        root: section.nonEmpty("root") ?? "/",
        region: section.nonEmpty("region"),
        endpoint,
        accessKeyId,
        secretAccessKey,
        sessionToken,
        disableConfigLoad: section.boolean("disable_config_load", false),
        enableVirtualHostStyle: section.boolean("enable_virtual_host_style", false),
      };
    }
    case "oss": {
      section.onlyKeys(OSS_KEYS, forType);
      const bucket = section.required("bucket");
      const region = section.required("region");
      const endpoint = section.required("endpoint");
      checkEndpoint(section, "endpoint", endpoint);
      const accessKeyId = section.nonEmpty("access_key_id");
      const accessKeySecret = section.nonEmpty("access_key_secret");
      const securityToken = section.nonEmpty("security_token");
      checkPair(section, "access_key_id", "access_key_secret");
      if (securityToken !== undefined && accessKeyId === undefined) {
        throw section.error(
          section.key("security_token"),
          "Needs access_key_id and access_key_secret to be set too",
        );
      }
      return {
        type,
        bucket,
        root: section.nonEmpty("root") ?? "/",
        region,
        endpoint,
        accessKeyId,
        accessKeySecret,
        securityToken,
      };
    }
    default:
      throw section.error(
        section.key("type"),
        `Unknown storage type ${quote(type)} (expected "fs", "s3" or "oss")`,
      );
  }
}

function readLiveman(
  section: Section | undefined,
  nodeAlias: string | undefined,
): LivemanConfig | undefined {
  if (!section) return undefined;
  section.onlyKeys(["url", "node_alias", "retry_attempts", "report_timeout", "token"]);
  const url = section.required("url");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw section.error(section.key("url"), `Invalid URL ${quote(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw section.error(
      section.key("url"),
      `Unsupported URL scheme ${quote(parsed.protocol.slice(0, -1))} (expected "http" or "https")`,
    );
  }
  const retryAttempts = section.number("retry_attempts", 3, true);
  if (retryAttempts < 0) {
    throw section.error(section.key("retry_attempts"), `Must be >= 0, got ${retryAttempts}`);
  }
  const reportTimeout = section.number("report_timeout", 10);
  if (reportTimeout <= 0) {
    throw section.error(section.key("report_timeout"), `Must be > 0, got ${reportTimeout}`);
  }
  return {
    url,
    nodeAlias: section.nonEmpty("node_alias") ?? nodeAlias,
    retryAttempts,
    reportTimeout,
    token: section.nonEmpty("token"),
  };
}

function readRecorder(section: Section | undefined): RecorderConfig {
  if (!section) {
    return {
      autoStreams: [],
      segmentDuration: 2,
      idleTimeout: 5,
      maxRecordingSeconds: 86400,
      retentionDays: 0,
      container: "fmp4",
      stateDir: DEFAULT_STATE_DIR,
      spoolMaxBytes: DEFAULT_SPOOL_MAX_BYTES,
      uploadConcurrency: DEFAULT_UPLOAD_CONCURRENCY,
      iceHostAddresses: [],
      storage: readStorage(undefined),
      limits: DEFAULT_LIMITS,
    };
  }
  section.onlyKeys([
    "auto_streams",
    "segment_duration",
    "idle_timeout",
    "max_recording_seconds",
    "retention_days",
    "container",
    "node_alias",
    "state_dir",
    "spool_max_bytes",
    "upload_concurrency",
    "ice_host_addresses",
    "storage",
    "liveman",
    "limits",
    "pull",
  ]);
  const autoStreams: string[] = [];
  const globs = section.array("auto_streams") ?? [];
  globs.forEach((glob, i) => {
    const key = `${section.key("auto_streams")}[${i}]`;
    if (typeof glob !== "string") {
      throw section.error(key, `Expected a string, got ${describe(glob, false)}`);
    }
    try {
      globToRegExp(glob);
    } catch (error) {
      throw section.error(key, (error as Error).message);
    }
    autoStreams.push(glob);
  });
  const segmentDuration = section.number("segment_duration", 2);
  if (segmentDuration <= 0 || segmentDuration > 60) {
    throw section.error(
      section.key("segment_duration"),
      `Must be > 0 and <= 60 seconds, got ${segmentDuration}`,
    );
  }
  const idleTimeout = section.number("idle_timeout", 5);
  if (idleTimeout <= 0) {
    throw section.error(section.key("idle_timeout"), `Must be > 0 seconds, got ${idleTimeout}`);
  }
  const maxRecordingSeconds = section.number("max_recording_seconds", 86400, true);
  if (maxRecordingSeconds <= 0) {
    throw section.error(
      section.key("max_recording_seconds"),
      `Must be > 0 seconds, got ${maxRecordingSeconds}`,
    );
  }
  const retentionDays = section.number("retention_days", 0, true);
  if (retentionDays < 0) {
    throw section.error(section.key("retention_days"), `Must be >= 0 days, got ${retentionDays}`);
  }
  const container = section.string("container") ?? "fmp4";
  if (container !== "fmp4" && container !== "webm") {
    throw section.error(
      section.key("container"),
      `Expected "fmp4" or "webm", got ${quote(container)}`,
    );
  }
  const nodeAlias = section.nonEmpty("node_alias");
  const spoolMaxBytes = section.number("spool_max_bytes", DEFAULT_SPOOL_MAX_BYTES, true);
  if (spoolMaxBytes <= 0) {
    throw section.error(section.key("spool_max_bytes"), `Must be > 0, got ${spoolMaxBytes}`);
  }
  const uploadConcurrency = section.number(
    "upload_concurrency",
    DEFAULT_UPLOAD_CONCURRENCY,
    true,
  );
  if (uploadConcurrency < 1) {
    throw section.error(
      section.key("upload_concurrency"),
      `Must be at least 1, got ${uploadConcurrency}`,
    );
  }
  const iceHostAddresses = (section.array("ice_host_addresses") ?? []).map((address, i) => {
    const key = `${section.key("ice_host_addresses")}[${i}]`;
    if (typeof address !== "string" || !/^[0-9a-fA-F.:]+$/.test(address)) {
      throw section.error(key, `Expected an IP address, got ${describe(address, false)}`);
    }
    return address;
  });
  return {
    autoStreams,
    segmentDuration,
    idleTimeout,
    maxRecordingSeconds,
    retentionDays,
    container,
    nodeAlias,
    stateDir: section.nonEmpty("state_dir") ?? DEFAULT_STATE_DIR,
    spoolMaxBytes,
    uploadConcurrency,
    iceHostAddresses,
    storage: readStorage(section.section("storage")),
    liveman: readLiveman(section.section("liveman"), nodeAlias),
    limits: readLimits(section.section("limits")),
    pull: readPull(section.section("pull")),
  };
}

function readPull(section: Section | undefined): PullConfig | undefined {
  if (!section) return undefined;
  section.onlyKeys(["url", "token", "interval"]);
  const url = section.required("url");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw section.error(section.key("url"), `Invalid URL ${quote(redactUrl(url))}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw section.error(
      section.key("url"),
      `Unsupported URL scheme ${quote(parsed.protocol.slice(0, -1))} (expected "http" or "https")`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw section.error(section.key("url"), `Credentials in the URL: put the token in "token"`);
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw section.error(
      section.key("url"),
      `Expected the node's base URL without query or fragment, got ${quote(url)}`,
    );
  }
  const interval = section.number("interval", 5);
  if (interval <= 0 || interval > 3600) {
    throw section.error(
      section.key("interval"),
      `Must be > 0 and <= 3600 seconds, got ${interval}`,
    );
  }
  return {
    url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, "")}`,
    token: section.nonEmpty("token"),
    interval,
  };
}

function readLimits(section: Section | undefined): LimitsConfig {
  if (!section) return DEFAULT_LIMITS;
  section.onlyKeys(["max_sessions", "max_bitrate", "max_packet_rate", "max_sdp_bytes"]);
  const limit = (key: string, fallback: number, max: number) => {
    const value = section.number(key, fallback, true);
    if (value < 1 || value > max) {
      throw section.error(section.key(key), `Must be >= 1 and <= ${max}, got ${value}`);
    }
    return value;
  };
  return {
    maxSessions: limit("max_sessions", DEFAULT_LIMITS.maxSessions, 1_000_000),
    maxBitrate: limit("max_bitrate", DEFAULT_LIMITS.maxBitrate, 100_000_000_000),
    maxPacketRate: limit("max_packet_rate", DEFAULT_LIMITS.maxPacketRate, 10_000_000),
    maxSdpBytes: limit("max_sdp_bytes", DEFAULT_LIMITS.maxSdpBytes, 16 * 1024 * 1024),
  };
}

function readAuth(section: Section | undefined): AuthConfig {
  if (!section) return { tokens: [] };
  section.onlyKeys(["secret", "tokens", "accounts"]);
  const secret = section.nonEmpty("secret");
  const tokens = (section.array("tokens") ?? []).map((token, i) => {
    const key = `${section.key("tokens")}[${i}]`;
    if (typeof token !== "string") {
      throw section.error(key, `Expected a string, got ${describe(token, true)}`);
    }
    if (token.trim() === "") throw section.error(key, "Must not be empty");
    return token;
  });
  // `[[auth.accounts]]` are the logins of Live777's web console: checked, not used here.
  (section.array("accounts") ?? []).forEach((entry, i) => {
    const key = `${section.key("accounts")}[${i}]`;
    if (!isTable(entry)) throw section.error(key, `Expected a table, got ${describe(entry, true)}`);
    const account = section.child(key, entry);
    account.onlyKeys(["username", "password"]);
    account.string("username");
    account.string("password");
  });
  return { secret, tokens };
}

function readSource(source: Section, baseDir: string): SourceConfig {
  source.onlyKeys(["url"]);
  const url = source.required("url");
  if (isWhepUrl(url)) {
    try {
      const { endpoint, token } = parseWhepUrl(url);
      return { type: "whep", endpoint, token, url: redactUrl(url) };
    } catch (error) {
      throw source.error(source.key("url"), (error as Error).message);
    }
  }
  let sdpPath: string;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme === undefined) {
    sdpPath = resolve(baseDir, url);
  } else if (scheme.toLowerCase() === "file") {
    try {
      sdpPath = fileURLToPath(url);
    } catch {
      throw source.error(source.key("url"), `Invalid file URL ${quote(url)}`);
    }
    if (!isAbsolute(sdpPath)) {
      throw source.error(source.key("url"), `Invalid file URL ${quote(url)}`);
    }
  } else {
    throw source.error(
      source.key("url"),
      `URL scheme ${quote(scheme)} is not supported (expected an SDP file path, a file:// URL ` +
        `or a whep://, wheps://, http:// or https:// WHEP URL)`,
    );
  }
  return { type: "rtp", sdpPath, url };
}

function readStreams(section: Section | undefined, baseDir: string): Map<string, StreamConfig> {
  const streams = new Map<string, StreamConfig>();
  if (!section) return streams;
  const identities = new Map<string, string>();
  for (const name of Object.keys(section.table)) {
    const problem = streamNameProblem(name);
    if (problem) throw section.error(section.key(name), problem);
    const other = identities.get(streamIdentity(name));
    if (other !== undefined) {
      throw section.error(
        section.key(name),
        `Stream name differs from ${quote(other)} only by case: their files would collide`,
      );
    }
    identities.set(streamIdentity(name), name);
    const stream = section.section(name)!;
    stream.onlyKeys(["sources"]);
    const list = stream.array("sources") ?? [];
    const sources = list.map((entry, i) => {
      const key = `${stream.key("sources")}[${i}]`;
      if (!isTable(entry)) {
        throw stream.error(key, `Expected a table, got ${describe(entry, false)}`);
      }
      return readSource(stream.child(key, entry), baseDir);
    });
    streams.set(name, { sources });
  }
  return streams;
}

/**
 * Parses and validates the text of a `live777.toml`. `file` names the file in messages and
 * relative SDP paths resolve against its directory; `env.LOG_LEVEL` overrides `[log] level`, and
 * `LIVE777__<SECTION>__<KEY>` variables override keys ({@linkcode applyEnvOverrides}).
 * Throws a {@linkcode ConfigError} for any mistake, TOML syntax errors included.
 *
 * @example Defaults
 * ```ts
 * import { parseConfig } from "./mod.ts";
 * const config = parseConfig("[recorder]\nauto_streams = [\"cam-*\"]\n", "live777.toml");
 * if (config.recorder.storage.type !== "fs" || config.recorder.segmentDuration !== 2) {
 *   throw new Error("unexpected");
 * }
 * ```
 */
export function parseConfig(
  text: string,
  file: string,
  env: Record<string, string | undefined> = {},
): Config {
  let data: Table;
  try {
    data = parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    // Only the first line: the rest is a code excerpt that could show a secret. No `cause`
    // for the same reason.
    const why = error.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
    throw new ConfigError(
      file,
      "",
      `Invalid TOML at line ${error.line}, column ${error.column}: ${why}`,
    );
  }
  applyEnvOverrides(data, env, file);
  const root = new Section(file, "", data);
  const ignoredSections: string[] = [];
  for (const key of Object.keys(data)) {
    if (IGNORED_SECTIONS.has(key)) {
      ignoredSections.push(key);
    } else if (!["http", "log", "auth", "recorder", "liveman", "stream"].includes(key)) {
      throw root.error(
        root.key(key),
        `Unknown section (expected "http", "log", "auth", "recorder", "liveman", "stream" or a ` +
          `Live777 section)`,
      );
    }
  }
  return {
    file,
    http: readHttp(root.section("http")),
    log: readLog(root.section("log"), file, env),
    auth: readAuth(root.section("auth")),
    recorder: readRecorder(root.section("recorder")),
    liveman: readLivemanService(root.section("liveman")),
    streams: readStreams(root.section("stream"), dirname(resolve(file))),
    ignoredSections,
  };
}

/**
 * Reads and parses the configuration file at `file` (see {@linkcode parseConfig}). A file that
 * is missing or cannot be read is a {@linkcode ConfigError} too.
 */
export async function loadConfig(
  file: string,
  env: Record<string, string | undefined> = {},
): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "No such file"
      : `Cannot read the file: ${(error as Error).message}`;
    throw new ConfigError(file, "", why, { cause: error });
  }
  return parseConfig(text, file, env);
}
