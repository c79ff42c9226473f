/**
 * A WHIP publisher (RFC 9725 client) for tests: werift as the offerer, real H264 and Opus from
 * ffmpeg (`testsrc` and `sine`), forwarded packet by packet from ffmpeg's RTP output on loopback
 * into werift's senders. Everything stays on 127.0.0.1.
 * @module
 */

import { Buffer } from "node:buffer";
import {
  type PeerConfig,
  RTCPeerConnection,
  useH264,
  useOPUS,
  useSdesMid,
  useVP8,
  useVP9,
} from "werift";
import { disableDefaultStun } from "../../lib/ingest/whip.ts";

/** Options of {@linkcode publishWhip}. */
export interface PublishWhipOptions {
  /** Seconds of media ffmpeg generates (in real time). */
  readonly durationSec: number;
  /** Publish video (H264 320x240, 30 fps, a keyframe a second). @default true */
  readonly video?: boolean;
  /** Publish audio (Opus, 440 Hz sine, 20 ms packets). @default true */
  readonly audio?: boolean;
  /** Milliseconds to wait for the connection before giving up. @default 10000 */
  readonly connectTimeoutMs?: number;
  /**
   * Share of RTP packets (first sends and retransmissions alike) lost on the way out, like a
   * lossy network after the sender's retransmission cache. @default 0
   */
  readonly loss?: number;
  /** Seed of the loss pattern. @default 1 */
  readonly seed?: number;
  /**
   * `loss` starts this long after the connection: packets lost before the first one arrives
   * cannot be asked for again (a receiver knows of no gap yet). @default 0
   */
  readonly lossFromMs?: number;
  /**
   * An outage: every RTP packet (retransmissions too) is lost from `fromMs` after the
   * connection for `durationMs`, longer than NACK can bridge.
   */
  readonly outage?: { readonly fromMs: number; readonly durationMs: number };
  /** Sent as `Authorization: Bearer <token>` with the POST and the DELETE. */
  readonly token?: string;
  /** The one video codec offered and sent (libx264, libvpx, libvpx-vp9). @default "h264" */
  readonly videoCodec?: "h264" | "vp8" | "vp9";
}

/** A running publisher; its counters grow as ffmpeg's packets are forwarded. */
export interface WhipPublisher {
  /** The session URL from the 201 response's Location header. */
  readonly location: string;
  readonly offerSdp: string;
  readonly answerSdp: string;
  readonly peerConnection: RTCPeerConnection;
  /** RTP packets forwarded into werift, per kind. */
  readonly videoPackets: number;
  readonly audioPackets: number;
  /** Video frames sent (RTP marker bits); each audio packet is one Opus frame. */
  readonly videoFrames: number;
  /** RTCP PLIs werift's video sender received from the server. */
  readonly pliReceived: number;
  /** RTCP NACKs werift's video sender received (and answered with retransmissions). */
  readonly nackReceived: number;
  /** RTP packets the simulated network lost (`loss`). */
  readonly packetsLost: number;
  /** Resolves when ffmpeg has finished (after `durationSec`) and its packets are forwarded. */
  readonly done: Promise<void>;
  /** Stops ffmpeg, sends DELETE to the session URL and closes the peer connection. */
  stop(): Promise<void>;
}

const VIDEO_PT = 96;
const AUDIO_PT = 111;

/**
 * Publishes to the WHIP endpoint `url` until `durationSec` of media is sent or `stop()` is
 * called. Rejects when the endpoint does not answer 201 with a Location, or when ICE and DTLS
 * do not connect in time.
 */
export async function publishWhip(
  url: string,
  options: PublishWhipOptions,
): Promise<WhipPublisher> {
  const wantVideo = options.video ?? true;
  const wantAudio = options.audio ?? true;
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    bundlePolicy: "max-bundle",
    codecs: {
      video: [
        { h264: useH264, vp8: useVP8, vp9: useVP9 }[options.videoCodec ?? "h264"]({
          payloadType: VIDEO_PT,
        }),
      ],
      audio: [useOPUS({ payloadType: AUDIO_PT })],
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
  disableDefaultStun(pc);
  const video = wantVideo ? pc.addTransceiver("video", { direction: "sendonly" }) : undefined;
  const audio = wantAudio ? pc.addTransceiver("audio", { direction: "sendonly" }) : undefined;
  const counts = {
    videoPackets: 0,
    audioPackets: 0,
    videoFrames: 0,
    pliReceived: 0,
    packetsLost: 0,
    nackReceived: 0,
  };
  video?.sender.onPictureLossIndication.subscribe(() => counts.pliReceived++);
  video?.sender.onGenericNack.subscribe(() => counts.nackReceived++);

  let location = "";
  let answerSdp = "";
  let offerSdp = "";
  try {
    await pc.setLocalDescription(await pc.createOffer());
    offerSdp = pc.localDescription!.sdp;
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...bearer(options.token) },
      body: offerSdp,
    });
    answerSdp = await response.text();
    if (response.status !== 201) {
      throw new Error(`WHIP POST answered ${response.status}: ${answerSdp}`);
    }
    const header = response.headers.get("location");
    if (!header) throw new Error("WHIP POST answered 201 without a Location header");
    location = new URL(header, url).href;
    await pc.setRemoteDescription({ type: "answer", sdp: answerSdp });
    await connected(pc, options.connectTimeoutMs ?? 10000);
    if (options.loss || options.outage) {
      const transport = (video ?? audio)!.sender.dtlsTransport;
      const send = transport.sendRtp.bind(transport);
      let state = options.seed ?? 1;
      const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
      const connectedAt = performance.now();
      const { fromMs = Infinity, durationMs = 0 } = options.outage ?? {};
      transport.sendRtp = (payload, header) => {
        const sinceMs = performance.now() - connectedAt;
        const down = sinceMs >= fromMs && sinceMs < fromMs + durationMs;
        const lossy = sinceMs >= (options.lossFromMs ?? 0);
        if (!down && (!lossy || random() >= (options.loss ?? 0))) return send(payload, header);
        counts.packetsLost++;
        return Promise.resolve(0);
      };
    }
  } catch (error) {
    await pc.close().catch(() => {});
    throw error;
  }

  const sockets: Deno.DatagramConn[] = [];
  const forward = async (
    socket: Deno.DatagramConn,
    send: (packet: Uint8Array) => void,
  ): Promise<void> => {
    try {
      for await (const [packet] of socket) {
        const type = packet[1] & 0x7f;
        // ffmpeg's RTCP (sent to this same port, see rtcpport) is not forwarded: werift makes its own.
        if (packet.length < 12 || (type >= 72 && type <= 76)) continue;
        send(packet);
      }
    } catch {
      // The socket was closed.
    }
  };
  const open = () => {
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    sockets.push(socket);
    return socket;
  };
  const args = ["-hide_banner", "-loglevel", "error", "-nostdin"];
  const outputs: string[] = [];
  const loops: Promise<void>[] = [];
  const duration = String(options.durationSec);
  if (video) {
    const socket = open();
    const port = (socket.addr as Deno.NetAddr).port;
    args.push("-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30");
    outputs.push(
      ...["-map", `${0}:v`, "-t", duration, "-g", "30", "-pix_fmt", "yuv420p"],
      ...{
        h264: ["-c:v", "libx264", "-profile:v", "baseline", "-bf", "0", "-tune", "zerolatency"],
        vp8: ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"],
        vp9: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k"],
      }[options.videoCodec ?? "h264"],
      "-strict",
      "experimental",
      ...["-payload_type", String(VIDEO_PT), "-pkt_size", "1200", "-f", "rtp"],
      `rtp://127.0.0.1:${port}?rtcpport=${port}`,
    );
    loops.push(forward(socket, (packet) => {
      counts.videoPackets++;
      if (packet[1] & 0x80) counts.videoFrames++;
      video.sender.sendRtp(Buffer.from(packet)).catch(() => {});
    }));
  }
  if (audio) {
    const socket = open();
    const port = (socket.addr as Deno.NetAddr).port;
    const input = video ? 1 : 0;
    args.push("-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000");
    outputs.push(
      ...["-map", `${input}:a`, "-t", duration, "-c:a", "libopus", "-ac", "2"],
      ...["-frame_duration", "20", "-payload_type", String(AUDIO_PT), "-f", "rtp"],
      `rtp://127.0.0.1:${port}?rtcpport=${port}`,
    );
    loops.push(forward(socket, (packet) => {
      counts.audioPackets++;
      audio.sender.sendRtp(Buffer.from(packet)).catch(() => {});
    }));
  }
  const ffmpeg = new Deno.Command("ffmpeg", {
    args: [...args, ...outputs],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = ffmpeg.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => console.error(`ffmpeg: ${chunk.trimEnd()}`) }),
  ).catch(() => {});
  let exited = false;
  const done = ffmpeg.status.then(async () => {
    exited = true;
    await stderr;
    // Let the last packets through the sockets before closing them.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const socket of sockets) socket.close();
    await Promise.all(loops);
  });

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          ffmpeg.kill("SIGTERM");
        } catch {
          // Already exited.
        }
      }
      await done;
      try {
        const response = await fetch(location, {
          method: "DELETE",
          headers: bearer(options.token),
        });
        await response.body?.cancel();
      } catch {
        // The server is gone: nothing to delete.
      }
      await pc.close().catch(() => {});
    })();

  return {
    location,
    offerSdp,
    answerSdp,
    peerConnection: pc,
    get videoPackets() {
      return counts.videoPackets;
    },
    get audioPackets() {
      return counts.audioPackets;
    },
    get videoFrames() {
      return counts.videoFrames;
    },
    get pliReceived() {
      return counts.pliReceived;
    },
    get nackReceived() {
      return counts.nackReceived;
    },
    get packetsLost() {
      return counts.packetsLost;
    },
    done,
    stop,
  };
}

function connected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === "connected") return resolve();
    const timer = setTimeout(() => {
      subscription.unSubscribe();
      reject(new Error(`WHIP publisher did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    const subscription = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        subscription.unSubscribe();
        resolve();
      } else if (state === "failed" || state === "closed") {
        clearTimeout(timer);
        subscription.unSubscribe();
        reject(new Error(`WHIP publisher connection ${state}`));
      }
    });
  });
}

function bearer(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

/**
 * The SDP offer of a send-only (video and audio) werift publisher on loopback, without STUN,
 * with `config`'s codecs; the peer connection is closed again.
 */
export async function publisherOffer(
  config: Pick<Partial<PeerConfig>, "codecs" | "headerExtensions" | "bundlePolicy">,
): Promise<string> {
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    ...config,
  });
  disableDefaultStun(pc);
  pc.addTransceiver("video", { direction: "sendonly" });
  pc.addTransceiver("audio", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}
