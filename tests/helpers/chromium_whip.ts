/**
 * Chromium as a real WHIP publisher, and as the player of what was recorded. Runs the recorder
 * program (one process per container) and Debian's Chromium (driven by playwright-core, fake
 * camera and microphone) side by side; Chromium publishes each case's codec
 * (`RTCRtpTransceiver.setCodecPreferences`) to `/whip/<stream>`, ends with DELETE, then plays the
 * finished recording from `/records/<key>/manifest.mpd` with the dash.js the recorder serves at
 * `/assets/dash.all.min.js`.
 *
 * Chromium offers every interface's address as an ICE candidate, so all of this must run inside
 * a network namespace ({@linkcode NetworkNamespace}): {@linkcode runChromiumWhipIn} starts this
 * module as a program there (`ip netns exec`), which prints a {@linkcode ChromiumWhipResult} as
 * JSON on its last stdout line.
 * @module
 */

import { chromium, type Page } from "playwright-core";
import { fileURLToPath } from "node:url";
import { writeTestConfig } from "./config.ts";
import { freeTcpPort, grayStats } from "./media.ts";
import type { NetworkNamespace } from "./netns.ts";
import { findRecordings } from "./records.ts";
import { RecorderProcess } from "./recorder_process.ts";

const CHROMIUM = "/usr/bin/chromium";
const RESULT_PREFIX = "CHROMIUM_WHIP_RESULT ";

/** One publication: a codec sent to the recorder writing `container`. */
export interface ChromiumWhipCase {
  readonly codec: "vp8" | "vp9";
  readonly container: "webm" | "fmp4";
  /** Play the recording back in Chromium (MSE must support it: not VP8 in MP4). */
  readonly play: boolean;
}

/** Options of {@linkcode runChromiumWhip}. */
export interface ChromiumWhipOptions {
  /** Working directory: configurations, recordings (`<dir>/<container>/records`), profile. */
  readonly dir: string;
  /** The recorder's `ice_host_addresses`: the namespace's private address. */
  readonly hostAddress: string;
  /** Seconds each publisher sends media. */
  readonly publishSec: number;
  readonly cases: readonly ChromiumWhipCase[];
}

/** What Chromium's `getStats()` said about one publication once its tracks had stopped. */
export interface PublishStats {
  /** `outbound-rtp` video: frames encoded, sent, and key frames encoded. */
  readonly framesEncoded: number;
  readonly framesSent: number;
  readonly keyFramesEncoded: number;
  /** Keyframe requests Chromium received from the recorder. */
  readonly pliCount: number;
  readonly firCount: number;
  readonly frameWidth: number;
  readonly frameHeight: number;
  readonly encoderImplementation: string;
  /** `outbound-rtp`: RTP packets sent. */
  readonly videoPacketsSent: number;
  readonly audioPacketsSent: number;
  /** The selected candidate pair, "local -> remote (DTLS state)". */
  readonly path: string;
  /** The IP addresses of the offer's ICE candidates. */
  readonly candidateAddresses: readonly string[];
  /** The video codec of the recorder's answer ("VP8", "VP9"). */
  readonly answerCodec: string;
  /** Status of the DELETE of the session URL. */
  readonly deleteStatus: number;
}

/** A playback of a finished recording. */
export interface PlaybackResult {
  /** `video.currentTime` when the check passed (or timed out), seconds. */
  readonly currentTime: number;
  /** Gray-level mean and variance of a screenshot of the video element. */
  readonly mean: number;
  readonly variance: number;
  /** The player's error, if it gave one. */
  readonly error?: string;
}

/** The outcome of one {@linkcode ChromiumWhipCase}. */
export interface ChromiumWhipCaseResult extends ChromiumWhipCase {
  readonly stream: string;
  /** The recording directory (holding manifest.mpd). */
  readonly recording?: string;
  readonly sent?: PublishStats;
  readonly playback?: PlaybackResult;
}

/** Everything {@linkcode runChromiumWhip} measured. */
export interface ChromiumWhipResult {
  readonly cases: ChromiumWhipCaseResult[];
  /** Exit code of each recorder process after SIGTERM, by container. */
  readonly recorderExitCodes: Record<string, number>;
  /** The first failure, with the recorders' logs; absent when everything ran. */
  readonly error?: string;
}

/**
 * In the page: starts publishing one codec over WHIP and resolves once connected; the session is
 * kept in `window.whip[stream]` for {@linkcode FINISH_JS}.
 */
const CONNECT_JS = `async ({ stream, codec, url }) => {
  const within = (promise, ms, what) => Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(what + " took over " + ms + " ms")), ms))]);
  const until = (target, event, ready) => new Promise((resolve, reject) => {
    const check = () => {
      const state = ready();
      if (state === true) resolve();
      else if (state instanceof Error) reject(state);
    };
    target.addEventListener(event, check);
    check();
  });
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: 320, height: 240, frameRate: 30 },
    audio: true,
  });
  const pc = new RTCPeerConnection({ iceServers: [] });
  window.whip = window.whip || {};
  const session = window.whip[stream] = { pc, media };
  const videoTransceiver = pc.addTransceiver(media.getVideoTracks()[0], { direction: "sendonly" });
  pc.addTransceiver(media.getAudioTracks()[0], { direction: "sendonly" });
  const codecs = RTCRtpSender.getCapabilities("video").codecs.filter((c) =>
    c.mimeType.toLowerCase() === "video/" + codec &&
    (codec !== "vp9" || /profile-id=0/.test(c.sdpFmtpLine || "profile-id=0"))
  );
  if (codecs.length === 0) throw new Error("Chromium cannot send " + codec);
  videoTransceiver.setCodecPreferences(codecs);
  await pc.setLocalDescription(await pc.createOffer());
  await within(until(pc, "icegatheringstatechange", () => pc.iceGatheringState === "complete"),
    10000, "ICE gathering");
  session.offer = pc.localDescription.sdp;
  const response = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: session.offer,
  });
  session.answer = await response.text();
  if (response.status !== 201) {
    throw new Error("WHIP POST: " + response.status + " " + session.answer);
  }
  session.location = new URL(response.headers.get("Location"), url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: session.answer });
  await within(until(pc, "connectionstatechange", () => pc.connectionState === "connected" ||
    (pc.connectionState === "failed" ? new Error("connection failed") : false)),
    15000, "Connecting");
  session.connectedAt = performance.now();
  // Keep the resolution whatever the CPU: a new one would start a new init segment.
  const parameters = videoTransceiver.sender.getParameters();
  parameters.degradationPreference = "maintain-resolution";
  await videoTransceiver.sender.setParameters(parameters).catch(() => {});
}`;

/**
 * In the page: once `seconds` have passed since the session connected, stops its sources, reads
 * getStats, DELETEs the session URL and closes the connection.
 */
const FINISH_JS = `async ({ stream, seconds }) => {
  const session = window.whip[stream];
  const { pc, media } = session;
  try {
    const left = session.connectedAt + seconds * 1000 - performance.now();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, left)));
    // Stop the sources first, so the counters below are all that was ever sent.
    for (const track of media.getTracks()) track.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));
    let v = {};
    let a = {};
    const report = await pc.getStats();
    let path = "";
    for (const s of report.values()) {
      if (s.type === "outbound-rtp" && s.kind === "video") v = s;
      if (s.type === "outbound-rtp" && s.kind === "audio") a = s;
      if (s.type === "transport" && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId);
        const end = (id) => {
          const c = report.get(id);
          return c ? c.address + ":" + c.port : "?";
        };
        path = end(pair.localCandidateId) + " -> " + end(pair.remoteCandidateId) + " (DTLS " +
          s.dtlsState + ")";
      }
    }
    const deleted = await fetch(session.location, { method: "DELETE" });
    return {
      framesEncoded: v.framesEncoded ?? 0,
      framesSent: v.framesSent ?? 0,
      keyFramesEncoded: v.keyFramesEncoded ?? 0,
      pliCount: v.pliCount ?? 0,
      firCount: v.firCount ?? 0,
      frameWidth: v.frameWidth ?? 0,
      frameHeight: v.frameHeight ?? 0,
      encoderImplementation: v.encoderImplementation ?? "",
      videoPacketsSent: v.packetsSent ?? 0,
      audioPacketsSent: a.packetsSent ?? 0,
      path,
      candidateAddresses: [...session.offer.matchAll(/^a=candidate:\\S+ \\d+ \\w+ \\d+ (\\S+) /gm)]
        .map((m) => m[1]),
      answerCodec: (/^a=rtpmap:\\d+ (VP8|VP9)\\/90000/m.exec(session.answer) || [])[1] || "",
      deleteStatus: deleted.status,
    };
  } finally {
    pc.close();
    for (const track of media.getTracks()) track.stop();
  }
}`;

/** In the page: replaces it with a muted video element and plays `mpd` with dash.js. */
const PLAY_JS = `async (mpd) => {
  document.body.innerHTML =
    '<video id="video" muted autoplay playsinline width="320" height="240"></video>';
  await new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/assets/dash.all.min.js";
    script.onload = resolve;
    script.onerror = () => reject(new Error("dash.js did not load"));
    document.head.append(script);
  });
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });
  window.playerErrors = [];
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    window.playerErrors.push(JSON.stringify(e.error && (e.error.message || e.error)));
  });
  player.initialize(document.getElementById("video"), mpd, true);
}`;

/** Plays `mpdUrl` (same origin as `page`) until currentTime > `minSec` or `timeoutMs`. */
async function play(
  page: Page,
  mpdUrl: string,
  minSec: number,
  timeoutMs: number,
): Promise<PlaybackResult> {
  await page.evaluate(`(${PLAY_JS})(${JSON.stringify(mpdUrl)})`);
  const currentTime = `document.getElementById("video").currentTime`;
  let error: string | undefined;
  try {
    await page.waitForFunction(`${currentTime} > ${minSec}`, undefined, { timeout: timeoutMs });
  } catch (e) {
    const errors = await page.evaluate<string[]>("window.playerErrors").catch(() => []);
    error = `${(e as Error).message}; player errors ${JSON.stringify(errors)}`;
  }
  const stats = await grayStats(await page.locator("#video").screenshot());
  return { currentTime: await page.evaluate<number>(currentTime), ...stats, error };
}

/**
 * Runs every case: the recorders, Chromium connecting each case in turn, then sending all at
 * once, then each recording played back. Must run inside a network namespace (see the module doc). Never throws: a
 * failure is in `error`, with what was measured before it.
 */
export async function runChromiumWhip(options: ChromiumWhipOptions): Promise<ChromiumWhipResult> {
  const { dir, cases } = options;
  const results: ChromiumWhipCaseResult[] = cases.map((c) => ({
    ...c,
    stream: `chromium-${c.codec}-${c.container}`,
  }));
  const recorders = new Map<string, { child: RecorderProcess; base: string; dir: string }>();
  const recorderExitCodes: Record<string, number> = {};
  let error: string | undefined;
  let context;
  try {
    for (const container of new Set(cases.map((c) => c.container))) {
      const port = freeTcpPort();
      const recorderDir = `${dir}/${container}`;
      await Deno.mkdir(recorderDir, { recursive: true });
      const config = await writeTestConfig(recorderDir, {
        port,
        recorder: {
          container: JSON.stringify(container),
          // ICE and DTLS with a browser may take more than a second on a loaded machine.
          idle_timeout: 5,
          ice_host_addresses: JSON.stringify([options.hostAddress]),
        },
      });
      const child = new RecorderProcess(config);
      recorders.set(container, { child, base: `http://127.0.0.1:${port}`, dir: recorderDir });
    }
    for (const { child } of recorders.values()) await child.waitFor("Listening");

    context = await chromium.launchPersistentContext(`${dir}/chromium-profile`, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        // Raw host candidates (no mDNS names): werift cannot resolve .local names.
        "--disable-features=WebRtcHideLocalIpsWithMdns",
      ],
      viewport: { width: 400, height: 300 },
    });
    const pageErrors: string[] = [];
    const pages = new Map<string, Page>();
    for (const [container, { base }] of recorders) {
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      // A document of the recorder's origin: a secure context (127.0.0.1), same-origin WHIP.
      await page.goto(`${base}/readyz`);
      pages.set(container, page);
    }

    // One DTLS handshake at a time. werift 0.25.2 (the recorder's DTLS client) starts a new
    // flight 5 when Chromium retransmits its flight 4, which it does after 50 ms on loopback;
    // then werift's SRTP keys can differ from Chromium's, every packet fails authentication and
    // the recording stays empty while both sides say "connected". Two handshakes at once in one
    // recorder make werift late enough for that (the machine's load can too).
    for (const r of results) {
      const { base } = recorders.get(r.container)!;
      const args = { stream: r.stream, codec: r.codec, url: `${base}/whip/${r.stream}` };
      await pages.get(r.container)!.evaluate(`(${CONNECT_JS})(${JSON.stringify(args)})`);
    }
    // Then every case sends at once, for `publishSec` after its connection.
    const published = await Promise.allSettled(results.map(async (r, i) => {
      const args = { stream: r.stream, seconds: options.publishSec };
      const sent = await pages.get(r.container)!.evaluate<PublishStats>(
        `(${FINISH_JS})(${JSON.stringify(args)})`,
      );
      results[i] = { ...r, sent };
    }));
    const failed = published.find((p) => p.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    for (const [i, r] of results.entries()) {
      const recorder = recorders.get(r.container)!;
      await recorder.child.waitFor(
        "Recording finished",
        (line) => line.stream === r.stream,
        15_000,
      );
      const [recording] = await findRecordings(`${recorder.dir}/records`, r.stream);
      results[i] = { ...results[i], recording };
      if (!r.play || !recording) continue;
      const key = recording.slice(`${recorder.dir}/records/`.length);
      const page = pages.get(r.container)!;
      await page.goto(`${recorder.base}/readyz`);
      const playback = await play(
        page,
        `${recorder.base}/records/${key}/manifest.mpd`,
        1.5,
        20_000,
      );
      results[i] = { ...results[i], playback };
    }
    if (pageErrors.length > 0) throw new Error(`Page errors: ${pageErrors.join("; ")}`);
  } catch (e) {
    error = (e as Error).stack ?? String(e);
  } finally {
    await context?.close().catch(() => {});
    for (const [container, { child }] of recorders) {
      recorderExitCodes[container] = (await child.stop("SIGTERM")).code;
    }
  }
  const failedExit = Object.values(recorderExitCodes).some((code) => code !== 0);
  if (error || failedExit) {
    const logs = [...recorders].map(([c, { child }]) => `--- ${c} recorder:\n${child.stderr}`);
    error = `${error ?? "A recorder did not exit with 0"}\n${logs.join("\n")}`;
  }
  return { cases: results, recorderExitCodes, error };
}

/**
 * Runs {@linkcode runChromiumWhip} inside `ns`, as a program (`ip netns exec`); kills it after
 * `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * await using ns = await NetworkNamespace.create();
 * const result = await runChromiumWhipIn(ns, { dir, hostAddress: ns.address, publishSec: 4, cases });
 * ```
 */
export async function runChromiumWhipIn(
  ns: NetworkNamespace,
  options: ChromiumWhipOptions,
  timeoutMs = 90_000,
): Promise<ChromiumWhipResult> {
  const self = fileURLToPath(import.meta.url);
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  const { cmd, args } = ns.exec(Deno.execPath(), [
    "run",
    "-A",
    "--config",
    config,
    self,
    JSON.stringify(options),
  ]);
  const { code, stdout, stderr } = await new Deno.Command(cmd, {
    args,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const out = new TextDecoder().decode(stdout);
  const line = out.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) {
    throw new Error(
      `The Chromium WHIP driver exited ${code} without a result:\n${out}\n${
        new TextDecoder().decode(stderr).slice(-4000)
      }`,
    );
  }
  return JSON.parse(line.slice(RESULT_PREFIX.length));
}

if (import.meta.main) {
  const result = await runChromiumWhip(JSON.parse(Deno.args[0]));
  console.log(RESULT_PREFIX + JSON.stringify(result));
  Deno.exit(result.error ? 1 : 0);
}
