/**
 * The WebRTC path: N WHIP sessions to the recorder's HTTP server, each a werift publisher set up
 * as `tests/helpers/whip_publisher.ts` sets one up (loopback ICE only, no STUN), but fed from the
 * capture instead of a live ffmpeg encoder, so both paths carry the same 2 Mbps media and the
 * difference in CPU per stream is the cost of ICE, DTLS and SRTP (and werift).
 * @module
 */

import { Buffer } from "node:buffer";
import { RTCPeerConnection, type RTCRtpSender, useH264, useOPUS, useSdesMid } from "werift";
import { disableDefaultStun } from "../lib/ingest/whip.ts";
import { useDenoUdp } from "../lib/ingest/werift_udp.ts";
import { StreamPacer } from "./pacer.ts";
import { cpuSeconds, rssBytes } from "./proc.ts";
import { RecorderChild, writeRecorderConfig } from "./recorder_child.ts";
import { freeTcpPort } from "./replay.ts";
import type { StepContext } from "./rtp_step.ts";
import { probeRecordings } from "./verify.ts";

/** Figures of one WebRTC step. */
export interface WhipStepResult {
  streams: number;
  durationSec: number;
  mediaSec: number;
  cpuSec: number;
  cpuPerStream: number;
  cpuCores: number;
  mainThreadCores: number;
  /** CPU of the publishers (werift in the bench process): SRTP encryption costs both ends. */
  publisherCores: number;
  rssPerStreamMb: number;
  sentVideoFrames: number;
  sentAudioFrames: number;
  recordedVideoFrames: number;
  recordedAudioFrames: number;
  lostFrames: number;
  problems: string[];
  exitCode: number;
}

interface Publisher {
  readonly pc: RTCPeerConnection;
  readonly senders: [RTCRtpSender, RTCRtpSender];
  readonly location: string;
}

async function publish(url: string): Promise<Publisher> {
  // The publishers share the bench's one thread: node:dgram's 64 KiB per datagram would make
  // them, not the recorder, the limit.
  useDenoUdp();
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    bundlePolicy: "max-bundle",
    codecs: {
      video: [useH264({ payloadType: 96 })],
      audio: [useOPUS({ payloadType: 97 })],
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
  disableDefaultStun(pc);
  const video = pc.addTransceiver("video", { direction: "sendonly" });
  const audio = pc.addTransceiver("audio", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription!.sdp,
  });
  const answer = await response.text();
  if (response.status !== 201) throw new Error(`WHIP POST answered ${response.status}: ${answer}`);
  const location = new URL(response.headers.get("location")!, url).href;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  await new Promise<void>((resolve, reject) => {
    if (pc.connectionState === "connected") return resolve();
    const timer = setTimeout(() => reject(new Error("WHIP publisher did not connect")), 15_000);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      }
    });
  });
  return { pc, senders: [video.sender, audio.sender], location };
}

/** Runs one step of `n` WHIP sessions. */
export async function runWhipStep(ctx: StepContext, n: number): Promise<WhipStepResult> {
  const dir = await Deno.makeTempDir({ dir: ctx.tmpDir, prefix: `bench-whip-${n}-` });
  const httpPort = freeTcpPort();
  // idle_timeout also ends WHIP sessions that have sent nothing yet: the first ones wait while
  // the others connect.
  const config = await writeRecorderConfig({ dir, httpPort, idleTimeoutSec: 30 });
  const recorder = new RecorderChild(config);
  const names = Array.from({ length: n }, (_, i) => `w${String(i + 1).padStart(3, "0")}`);
  const publishers: Publisher[] = [];
  let exitCode = -1;
  try {
    await recorder.waitFor("Listening", 1, 60_000);
    for (const name of names) {
      publishers.push(await publish(`http://127.0.0.1:${httpPort}/whip/${name}`));
    }
    const t0Us = (performance.now() + 200) * 1000;
    const pacers = names.map((_, i) =>
      new StreamPacer(ctx.capture, t0Us + (i * 2e6) / n, ctx.durationSec * 1e6, 0x3eed + i)
    );
    const buffer = new Uint8Array(2048);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cpu0 = cpuSeconds(recorder.pid);
    const main0 = cpuSeconds(recorder.pid, recorder.pid);
    const self0 = cpuSeconds(Deno.pid);
    const start = performance.now();
    while (pacers.some((p) => !p.done)) {
      const nowUs = performance.now() * 1000;
      for (let s = 0; s < n; s++) {
        for (let code; (code = pacers[s].next(nowUs, buffer, 0)) >= 0;) {
          const packet = Buffer.from(buffer.subarray(0, code >> 1));
          publishers[s].senders[code & 1].sendRtp(packet).catch(() => {});
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 4));
    }
    const windowSec = (performance.now() - start) / 1000;
    const cpuSec = cpuSeconds(recorder.pid) - cpu0;
    const mainSec = cpuSeconds(recorder.pid, recorder.pid) - main0;
    const selfSec = cpuSeconds(Deno.pid) - self0;
    const rss = rssBytes(recorder.pid);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await Promise.all(publishers.map(async (p) => {
      const response = await fetch(p.location, { method: "DELETE" }).catch(() => undefined);
      await response?.body?.cancel();
      await p.pc.close().catch(() => {});
    }));
    exitCode = (await recorder.stop()).code;
    const recorded = await probeRecordings(`${dir}/records`, names);
    const problems: string[] = [];
    let lost = 0;
    let video = 0;
    let audio = 0;
    recorded.forEach((r, i) => {
      const want = pacers[i].counts;
      const missing = Math.max(0, want.videoFrames - Math.max(0, r.video)) +
        Math.max(0, want.audioFrames - Math.max(0, r.audio));
      lost += missing;
      video += Math.max(0, r.video);
      audio += Math.max(0, r.audio);
      if ((missing > 0 || r.error) && problems.length < 5) {
        problems.push(
          `${
            names[i]
          }: video ${r.video}/${want.videoFrames}, audio ${r.audio}/${want.audioFrames}` +
            (r.error ? ` (${r.error})` : ""),
        );
      }
    });
    const mediaSec = n * ctx.durationSec;
    return {
      streams: n,
      durationSec: ctx.durationSec,
      mediaSec,
      cpuSec,
      cpuPerStream: cpuSec / mediaSec,
      cpuCores: cpuSec / windowSec,
      mainThreadCores: mainSec / windowSec,
      publisherCores: selfSec / windowSec,
      rssPerStreamMb: rss / 2 ** 20 / n,
      sentVideoFrames: pacers.reduce((s, p) => s + p.counts.videoFrames, 0),
      sentAudioFrames: pacers.reduce((s, p) => s + p.counts.audioFrames, 0),
      recordedVideoFrames: video,
      recordedAudioFrames: audio,
      lostFrames: lost,
      problems: [...problems, ...recorder.problems.slice(0, 3).map((l) => `log: ${l.message}`)],
      exitCode,
    };
  } finally {
    for (const p of publishers) await p.pc.close().catch(() => {});
    if (exitCode === -1) await recorder.stop();
    if (!ctx.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
