/**
 * The real HTTP server and recorder over a real FsStorage in a temporary directory, with a WHIP
 * answerer that needs no WebRTC: each accepted offer gets a session that plays synthetic H264
 * (a keyframe a second, 30 fps) until it is closed or its frames run out.
 * @module
 */

import { type HttpServerDeps, startHttpServer } from "../../lib/http/server.ts";
import type { LogFields, Logger, LogLevel } from "../../lib/log.ts";
import { Recorder } from "../../lib/recorder.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import type { IngestSession, RtpPacket } from "../../lib/types.ts";
import { rtp } from "../rtp/build_rtp.ts";
import { PPS, SPS } from "../helpers/h264_fixture.ts";

/** One captured log line. */
export interface CapturedLine {
  level: LogLevel;
  message: string;
  fields: LogFields;
}

/** A logger that keeps every line in `lines`. */
export function captureLogger(lines: CapturedLine[], base: LogFields = {}): Logger {
  const write = (level: LogLevel) => (message: string, fields: LogFields = {}) =>
    void lines.push({ level, message, fields: { ...base, ...fields } });
  return {
    error: write("error"),
    warn: write("warn"),
    info: write("info"),
    debug: write("debug"),
    enabled: () => true,
    child: (more) => captureLogger(lines, { ...base, ...more }),
  };
}

/** A session of `frames` synthetic H264 frames, paced at `fps` (0: as fast as read). */
export function syntheticSession(
  stream: string,
  options: { frames?: number; fps?: number } = {},
): IngestSession & { closed: Promise<void> } {
  const frames = options.frames ?? 30;
  const fps = options.fps ?? 0;
  const closed = Promise.withResolvers<void>();
  let controller!: ReadableStreamDefaultController<RtpPacket>;
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    try {
      controller.close();
    } catch {
      // Cancelled by the consumer.
    }
    closed.resolve();
  };
  const packets = new ReadableStream<RtpPacket>({
    start(c) {
      controller = c;
      (async () => {
        const t0 = Date.now() * 1000;
        let seq = 1;
        for (let i = 0; i < frames && open; i++) {
          const ts = 90000 + i * 3000;
          const arrivalUs = t0 + Math.round(i * 1e6 / 30);
          if (i % 30 === 0) {
            const stap = [0x78, 0, SPS.length, ...SPS, 0, PPS.length, ...PPS];
            c.enqueue(rtp({ seq: seq++, ts, payload: stap }, arrivalUs));
          }
          const payload = [i % 30 === 0 ? 0x65 : 0x41, 0x88, i & 0xff, 0x11, 0x22];
          c.enqueue(rtp({ seq: seq++, ts, payload, marker: true }, arrivalUs));
          if (fps > 0) await new Promise((resolve) => setTimeout(resolve, 1000 / fps));
        }
        end();
      })();
    },
    cancel: () => {
      open = false;
      closed.resolve();
    },
  });
  return {
    stream,
    tracks: [{
      kind: "video",
      codec: "h264",
      clockRate: 90000,
      payloadType: 96,
      packets,
      senderReport: undefined,
      requestKeyframe() {},
    }],
    close: end,
    closed: closed.promise,
  };
}

/** A server under test and what it writes. */
export interface TestServer {
  readonly url: string;
  /** The temporary directory; recordings go to `<dir>/records`. */
  readonly dir: string;
  readonly recorder: Recorder;
  readonly lines: CapturedLine[];
  /** Offers the answerer was given, by stream. */
  readonly offers: string[];
  close(): Promise<void>;
}

/** Starts the real server on a free loopback port; `deps` override the defaults. */
export async function startTestServer(
  deps: Partial<HttpServerDeps> & { session?: { frames?: number; fps?: number } } = {},
): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "http-" });
  const lines: CapturedLine[] = [];
  const log = captureLogger(lines);
  const recorder = new Recorder({
    storage: new FsStorage({ root: `${dir}/records` }),
    segmentDurationSec: 1,
    events: () => new WritableStream(),
    log,
  });
  const controller = new AbortController();
  const offers: string[] = [];
  const server = startHttpServer({
    listen: "127.0.0.1:0",
    cors: false,
    recorder,
    shouldRecord: () => true,
    acceptWhip: (stream, offer) => {
      offers.push(stream);
      if (!offer.startsWith("v=0")) return Promise.reject(new Error("Not SDP"));
      return Promise.resolve({
        answerSdp: "v=0\r\n",
        session: syntheticSession(stream, deps.session ?? { frames: 60, fps: 0 }),
      });
    },
    log,
    signal: controller.signal,
    ...deps,
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    dir,
    recorder,
    lines,
    offers,
    async close() {
      controller.abort();
      await server.finished;
      await recorder.stopAll();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** POSTs an SDP offer to `/whip/<path>` (already encoded). */
export function postOffer(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
  body = "v=0\r\n",
): Promise<Response> {
  return fetch(`${server.url}/whip/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/sdp", ...headers },
    body,
  });
}

/** Every file and directory under `dir`, relative, sorted. */
export async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (path: string, prefix: string) => {
    for await (const entry of Deno.readDir(path)) {
      const name = prefix ? `${prefix}/${entry.name}` : entry.name;
      out.push(entry.isDirectory ? `${name}/` : name);
      if (entry.isDirectory) await walk(`${path}/${entry.name}`, name);
    }
  };
  await walk(dir, "");
  return out.sort();
}

/** Polls `condition` every 20 ms until it holds, at most `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
