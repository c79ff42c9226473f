/**
 * live777-recorder: records Live777 streams (WHIP or plain RTP, H264 + Opus) into fMP4 segments
 * and a DASH manifest. Usage: `deno run -A main.ts [-c live777.toml]`; `main.ts liveman [-c …]`
 * runs the Liveman recording service instead (see `lib/liveman/command.ts`).
 *
 * Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on a runtime failure (e.g. a port
 * that cannot be bound), 2 on a bad command line or configuration.
 * @module
 */

import { configFromArgs } from "./lib/config/cli.ts";
import { matchesAny } from "./lib/config/glob.ts";
import { RecordingJournal } from "./lib/dash/recovery.ts";
import { ConfigError, StorageError } from "./lib/errors.ts";
import { apiRoutes } from "./lib/http/api.ts";
import { Histogram } from "./lib/http/metrics.ts";
import { startHttpServer } from "./lib/http/server.ts";
import { acceptWhipOffer } from "./lib/ingest/whip.ts";
import { limitSession, type RateExceeded } from "./lib/ingest/rate_limit.ts";
import { runRtpSource } from "./lib/ingest/rtp_source.ts";
import { runWhepSource, type WhepSession } from "./lib/ingest/whep.ts";
import { runLiveionPull } from "./lib/ingest/liveion_pull.ts";
import { segmentLogSink } from "./lib/liveman/log_sink.ts";
import { livemanMain } from "./lib/liveman/command.ts";
import { LivemanReporter } from "./lib/liveman/reporter.ts";
import { join } from "node:path";
import { log, setLogLevel } from "./lib/log.ts";
import { LiveStreams } from "./lib/live_streams.ts";
import { Recorder } from "./lib/recorder.ts";
import { createStorage, SpooledStorage } from "./lib/storage/mod.ts";
import { probeStorage } from "./lib/storage/probe.ts";
import { scheduleRetention } from "./lib/storage/retention.ts";

/** The WHIP video codec preference of WebM recordings. */
const WEBM_VIDEO_CODECS = ["vp9", "vp8", "av1", "h264", "h265"] as const;

const USAGE = `Usage: live777-recorder [-c|--config <file>]
       live777-recorder liveman [-c|--config <file>]

  -c, --config <file>   configuration file (default: $LIVE777_CONFIG or ./live777.toml)
  -h, --help            show this help
`;

/** Runs the recorder until SIGINT/SIGTERM; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  if (args[0] === "liveman") return await livemanMain(args.slice(1));
  const config = await configFromArgs(args, USAGE);
  if (typeof config === "number") return config;
  setLogLevel(config.log.level);
  if (config.ignoredSections.length > 0) {
    log.info("Ignoring configuration sections the recorder does not use", {
      sections: config.ignoredSections,
    });
  }

  const { recorder: recorderConfig } = config;
  const segmentUpload = new Histogram();
  let storage;
  try {
    const storageLog = log.child({ component: "storage" });
    storage = createStorage(recorderConfig, {
      log: storageLog,
      file: config.file,
      onUploaded: (key, latencyMs) => {
        segmentUpload.observe(latencyMs / 1000);
        storageLog.debug("Uploaded", { key, latencyMs });
      },
    });
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof StorageError)) throw error;
    console.error(`Configuration error: ${error.message}`);
    return 2;
  }
  let reporter: LivemanReporter | undefined;
  if (recorderConfig.liveman) {
    const { liveman } = recorderConfig;
    reporter = await LivemanReporter.start({
      url: liveman.url,
      nodeAlias: liveman.nodeAlias ?? Deno.hostname(),
      retryAttempts: liveman.retryAttempts,
      reportTimeoutSec: liveman.reportTimeout,
      token: liveman.token,
      outboxDir: join(recorderConfig.stateDir, "liveman-outbox"),
      log: log.child({ component: "liveman" }),
    });
    log.info("Reporting segments to Liveman", { url: liveman.url });
  } else {
    log.info("No [recorder.liveman]: local-only mode");
  }
  const journal = new RecordingJournal(join(recorderConfig.stateDir, "active"));
  const startTimeSec = Date.now() / 1000;
  const segmentWrite = new Histogram();
  const recorder = new Recorder({
    storage,
    journal,
    segmentDurationSec: recorderConfig.segmentDuration,
    container: recorderConfig.container,
    maxRecordingSec: recorderConfig.maxRecordingSeconds,
    events: (stream) => reporter?.sink() ?? segmentLogSink(log.child({ stream })),
    log,
    onStored: (_event, latencyMs) => segmentWrite.observe(latencyMs / 1000),
  });
  // Every ingest session, recorded or live for `POST /api/record/:stream` to record.
  const live = new LiveStreams({ recorder, log });
  const shouldRecord = (stream: string) => matchesAny(recorderConfig.autoStreams, stream);

  const shutdown = new AbortController();
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      log.info("Shutting down", { signal });
      stopped.resolve();
    });
  }

  const { limits } = recorderConfig;
  const onExceeded = (e: RateExceeded) =>
    log.warn(
      `Session exceeds max_bitrate or max_packet_rate: ${
        e.action === "close" ? "closed" : "excess dropped"
      }`,
      {
        stream: e.stream,
        bitrate: e.bitrate,
        packetRate: e.packetRate,
        maxBitrate: e.limits.maxBitrate,
        maxPacketRate: e.limits.maxPacketRate,
      },
    );

  const sources = [];
  try {
    await storage.start?.();
    await journal.recover(storage, log);
    if (recorderConfig.retentionDays > 0) {
      scheduleRetention(storage, {
        retentionDays: recorderConfig.retentionDays,
        active: () => recorder.list().flatMap((r) => r.recordingKey ?? []),
        log: log.child({ component: "retention" }),
        signal: shutdown.signal,
      });
    }
    // WHEP pulls (whep:// sources, [recorder.pull]): one recording per session.
    const whep = {
      signal: shutdown.signal,
      log,
      idleTimeoutMs: recorderConfig.idleTimeout * 1000,
      hostAddresses: recorderConfig.iceHostAddresses.length > 0
        ? recorderConfig.iceHostAddresses
        : undefined,
      onSession: (session: WhepSession) => {
        const ended = live.add(session, true);
        if (ended) return ended;
        log.warn("Stream is already recording from another source: ignored", {
          stream: session.stream,
        });
        session.close();
      },
    };
    for (const [stream, { sources: configured }] of config.streams) {
      for (const source of configured) {
        if (source.type === "whep") {
          if (!shouldRecord(stream)) {
            log.info("Stream does not match recorder.auto_streams: not pulled", { stream });
            continue;
          }
          const endpoint = { url: source.endpoint, token: source.token };
          sources.push(runWhepSource({ ...whep, stream, endpoint }).done);
          log.info("WHEP source", { stream, url: source.endpoint });
          continue;
        }
        const sdp = await Deno.readTextFile(source.sdpPath);
        let dropped = 0;
        let warnedAtMs = -Infinity;
        const handle = await runRtpSource({
          stream,
          sdp,
          idleTimeoutSec: recorderConfig.idleTimeout,
          signal: shutdown.signal,
          onSession: (session) => {
            // A source has no session to refuse: what it sends over the limits is dropped.
            const limited = limitSession(session, { ...limits, action: "drop", onExceeded });
            if (!live.add(limited, shouldRecord(stream))) {
              log.warn("Stream is already live from another source: ignored", { stream });
              for (const track of limited.tracks) track.packets.cancel().catch(() => {});
            }
          },
          onProtocolError: (error) => log.debug("Bad RTP packet", { stream, error }),
          onDropped: (count) => {
            dropped += count;
            // At most one warning every 10 s: dropping comes in floods.
            if (Date.now() - warnedAtMs < 10_000) return;
            warnedAtMs = Date.now();
            log.warn("RTP packets dropped: the recorder falls behind this source", {
              stream,
              dropped,
            });
          },
        });
        log.info("RTP source listening", { stream, sdp: source.sdpPath });
        handle.done.catch((error) => log.error("RTP source failed", { stream, error }));
        sources.push(handle.done);
      }
    }
    if (recorderConfig.pull) {
      const { url, token, interval } = recorderConfig.pull;
      const shouldPull = shouldRecord;
      sources.push(runLiveionPull({ ...whep, url, token, intervalSec: interval, shouldPull }).done);
      log.info("Pulling the streams of a Live777 node", { node: url, interval });
    }
    const server = startHttpServer({
      listen: config.http.listen,
      cors: config.http.cors,
      recorder,
      live,
      routes: apiRoutes({
        live,
        storage,
        log,
        signal: shutdown.signal,
        ready: () => probeStorage(storage),
        metrics: () => ({
          ...live.counts,
          streams: live.list(),
          segmentWrite,
          segmentUpload,
          spool: storage instanceof SpooledStorage ? storage.stats : undefined,
          liveman: reporter && { pending: reporter.pending, ...reporter.stats },
          startTimeSec,
        }),
      }),
      shouldRecord,
      acceptWhip: async (stream, offer) => {
        const { answerSdp, session } = await acceptWhipOffer(stream, offer, {
          signal: shutdown.signal,
          // A publisher that vanishes without DELETE ends its recording like a silent RTP source.
          idleTimeoutMs: recorderConfig.idleTimeout * 1000,
          hostAddresses: recorderConfig.iceHostAddresses.length > 0
            ? recorderConfig.iceHostAddresses
            : undefined,
          maxSdpBytes: recorderConfig.limits.maxSdpBytes,
          // WebM recordings prefer the codecs WebM holds; H264/H265 then fall back to fMP4.
          videoCodecs: recorderConfig.container === "webm" ? WEBM_VIDEO_CODECS : undefined,
        });
        // A session over the limits is closed: its recording ends and is finalized.
        return {
          answerSdp,
          session: limitSession(session, { ...limits, action: "close", onExceeded }),
        };
      },
      log,
      signal: shutdown.signal,
      auth: config.auth,
      maxSdpBytes: recorderConfig.limits.maxSdpBytes,
      maxSessions: recorderConfig.limits.maxSessions,
    });
    log.info("Listening", {
      http: `${server.addr.hostname}:${server.addr.port}`,
      auth: config.auth.tokens.length > 0 || config.auth.secret !== undefined,
      storage: storage.description,
      autoStreams: recorderConfig.autoStreams,
    });
  } catch (error) {
    log.error("Cannot start", { error });
    shutdown.abort();
    await recorder.stopAll();
    return 1;
  }

  await stopped.promise;
  shutdown.abort();
  await recorder.stopAll();
  await Promise.allSettled(sources);
  await reporter?.close();
  await storage.close();
  log.info("Stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
