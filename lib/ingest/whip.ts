/**
 * WHIP ingest (RFC 9725), the answering side: one SDP offer in, one SDP answer and an
 * {@linkcode IngestSession} out. Built on werift's RTCPeerConnection, receive-only, non-trickle
 * (the answer carries every candidate). It records one video codec — H264 (packetization-mode 1),
 * H265, VP8, VP9 or AV1, the first of {@linkcode WhipOfferOptions.videoCodecs} the offer has — and
 * Opus.
 *
 * Two werift defaults are changed here, and the tests hold them:
 * - with `iceServers: []` werift still queries `stun.l.google.com:19302` (a DNS lookup and a UDP
 *   packet to the internet); {@linkcode disableDefaultStun} clears it before every gathering;
 * - werift advertises no loopback candidate unless told to; `hostAddresses` chooses what it
 *   advertises (loopback is always among them).
 * @module
 */

import {
  type MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  type RTCRtpReceiver,
  type RtpPacket as WeriftRtpPacket,
  useAV1,
  useH264,
  useOPUS,
  useSdesMid,
  useVP8,
  useVP9,
} from "werift";
import { fixDtlsRetransmissions } from "./dtls_retransmission.ts";
import { useDenoUdp } from "./werift_udp.ts";
import { messageOf, ProtocolError } from "../errors.ts";
import { parseH265Sprop } from "../rtp/h265.ts";
import type {
  Codec,
  IngestSession,
  IngestTrack,
  RtpPacket,
  SenderReport,
  TrackKind,
} from "../types.ts";
import { startsH264Keyframe } from "../rtp/h264.ts";

/** Options of {@linkcode acceptWhipOffer}. */
export interface WhipOfferOptions {
  /** Aborting ends the session (or the negotiation, when it is still under way). */
  readonly signal?: AbortSignal;
  /** Largest offer accepted, in UTF-8 bytes. @default 65536 */
  readonly maxSdpBytes?: number;
  /**
   * Addresses advertised as host candidates. When given, only these (and 127.0.0.1) are
   * advertised, e.g. `["127.0.0.1"]` for loopback-only tests or a public address behind 1:1 NAT.
   * @default every IPv4 interface address, and 127.0.0.1
   */
  readonly hostAddresses?: readonly string[];
  /** UDP port range for ICE, inclusive. @default any free port */
  readonly portRange?: readonly [number, number];
  /** Milliseconds without an RTP packet (or, at first, without a connection) that end the session. @default 10000 */
  readonly idleTimeoutMs?: number;
  /** Packets a track queues for a slow consumer before it drops new ones. @default 2048 */
  readonly maxQueuedPackets?: number;
  /**
   * The video codecs to record, most wanted first; the offer's first match is chosen.
   * @default {["h264", "h265", "vp9", "vp8", "av1"]}
   */
  readonly videoCodecs?: readonly Codec[];
}

/** The default video codec preference (fMP4 recordings). */
export const DEFAULT_VIDEO_CODECS: readonly Codec[] = ["h264", "h265", "vp9", "vp8", "av1"];

/** An {@linkcode IngestTrack} of a WHIP session, with its drop counter. */
export interface WhipTrack extends IngestTrack {
  /** Packets dropped because the consumer of `packets` fell `maxQueuedPackets` behind. */
  readonly droppedPackets: number;
  /** Packets received so far (delivered or dropped). */
  readonly receivedPackets: number;
  /** Keyframe requests sent (RTCP PLI). */
  readonly pliSent: number;
}

/** The session {@linkcode acceptWhipOffer} returns. */
export interface WhipSession extends IngestSession {
  readonly tracks: readonly WhipTrack[];
  /** Resolves once the session has ended, whatever ended it; never rejects. */
  readonly closed: Promise<void>;
  /** Why the session ended, once it has: "close", "abort", "failed", "closed" or "idle". */
  readonly closeReason: string | undefined;
  /** The underlying peer connection, for diagnostics and tests. */
  readonly peerConnection: RTCPeerConnection;
}

/** An offer the recorder cannot take: `status` is the HTTP status a WHIP endpoint answers. */
export class WhipOfferError extends ProtocolError {
  override name = "WhipOfferError";
  /** 400 for a malformed offer, 406 for one without a codec the recorder can write. */
  readonly status: 400 | 406;
  constructor(status: 400 | 406, message: string, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/**
 * Answers a WHIP offer: negotiates one video codec and Opus, gathers every ICE candidate, and
 * returns the answer with a session whose tracks carry the publisher's RTP packets. Throws
 * {@linkcode WhipOfferError} for a malformed offer (status 400) or one with no codec the
 * recorder records (status 406).
 *
 * @example
 * ```ts ignore
 * const { answerSdp, session } = await acceptWhipOffer("cam1", offerSdp, { signal });
 * for (const track of session.tracks) track.packets.pipeTo(sinkFor(track));
 * await session.closed;
 * ```
 */
export async function acceptWhipOffer(
  stream: string,
  offerSdp: string,
  options: WhipOfferOptions = {},
): Promise<{ answerSdp: string; session: WhipSession }> {
  const { signal } = options;
  signal?.throwIfAborted();
  const maxSdpBytes = options.maxSdpBytes ?? 65536;
  if (typeof offerSdp !== "string") throw new WhipOfferError(400, "SDP offer must be text");
  const size = new TextEncoder().encode(offerSdp).length;
  if (size > maxSdpBytes) {
    throw new WhipOfferError(400, `SDP offer of ${size} bytes exceeds ${maxSdpBytes} bytes`);
  }
  const offer = selectCodecs(offerSdp, options.videoCodecs ?? DEFAULT_VIDEO_CODECS);

  const hostAddresses = [...new Set(["127.0.0.1", ...(options.hostAddresses ?? [])])];
  fixDtlsRetransmissions();
  useDenoUdp();
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: options.hostAddresses === undefined,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: hostAddresses,
    icePortRange: options.portRange ? [options.portRange[0], options.portRange[1]] : undefined,
    codecs: {
      video: offer.video.map(weriftVideoCodec),
      audio: offer.audio.map((c) => useOPUS({ payloadType: c.payloadType })),
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
  disableDefaultStun(pc);
  const session = new Session(stream, pc, options);
  try {
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    } catch (error) {
      throw new WhipOfferError(400, `SDP offer rejected: ${messageOf(error)}`, { cause: error });
    }
    for (const transceiver of pc.getTransceivers()) {
      const codec = transceiver.codecs[0];
      if (transceiver.stopped || transceiver.pendingRejection || !codec) continue;
      const name = codec.mimeType.toLowerCase();
      const { receiver } = transceiver;
      const video = transceiver.kind === "video" ? VIDEO_NAMES[name] : undefined;
      if (video) {
        const sprop = video === "h264"
          ? parseSprop(codec.parameters ?? "")
          : video === "h265"
          ? parseH265Sprop(fmtpParams(codec.parameters ?? ""))
          : {};
        session.addTrack("video", video, codec.clockRate, codec.payloadType, receiver, sprop);
      } else if (transceiver.kind === "audio" && name === "audio/opus") {
        const channels = codec.channels ?? 2;
        session.addTrack("audio", "opus", codec.clockRate, codec.payloadType, receiver, {
          channels,
        });
      }
    }
    if (session.tracks.length === 0) {
      throw new WhipOfferError(406, "SDP offer sends no codec the recorder records");
    }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer); // gathers every candidate before it resolves
    signal?.throwIfAborted();
    const answerSdp = pc.localDescription?.sdp;
    if (!answerSdp) throw new Error("werift produced no SDP answer");
    session.start();
    return { answerSdp, session };
  } catch (error) {
    session.close("failed");
    throw error;
  }
}

/**
 * Stops werift from querying its built-in public STUN server (`stun.l.google.com:19302`), which
 * it falls back to even with `iceServers: []`. Call it once, before `setLocalDescription`; it
 * clears the server of every ICE transport right before each gathering, and leaves TURN alone.
 */
export function disableDefaultStun(pc: RTCPeerConnection): void {
  const configured = pc.config.iceServers.some((server) =>
    [server.urls].flat().some((url) => url.startsWith("stun:") || url.startsWith("stuns:"))
  );
  if (configured) return;
  // `gatherCandidates` is what setLocalDescription (and an ICE restart) calls to gather; it is
  // private in werift's types, so reach it through a cast.
  const target = pc as unknown as { gatherCandidates(): Promise<void> };
  const gather = target.gatherCandidates.bind(pc);
  target.gatherCandidates = () => {
    for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
    return gather();
  };
}

interface OfferCodec {
  readonly codec: Codec;
  readonly payloadType: number;
  readonly fmtp: string;
}

/** werift's MIME types (lower case) of the video codecs the recorder records. */
const VIDEO_NAMES: Readonly<Record<string, Codec>> = {
  "video/h264": "h264",
  "video/h265": "h265",
  "video/vp8": "vp8",
  "video/vp9": "vp9",
  "video/av1": "av1",
  "video/av1x": "av1",
};

/** The werift codec parameters that answer `codec` with its payload type and fmtp. */
function weriftVideoCodec(offer: OfferCodec) {
  const props = { payloadType: offer.payloadType, parameters: offer.fmtp || undefined };
  switch (offer.codec) {
    case "h264":
      return useH264({ ...props, parameters: offer.fmtp });
    case "vp8":
      return useVP8(props);
    case "vp9":
      return useVP9(props);
    case "av1":
      return useAV1(props);
    default:
      // werift has no useH265, but matches codecs by MIME type: H265 is H264's template renamed.
      return useH264({ ...props, mimeType: "video/H265" });
  }
}

/**
 * Keeps, in each audio and video section of the offer, the one payload type the recorder
 * records (video: the first codec of `preference` offered — H264 only with packetization-mode 1,
 * preferring constrained baseline 42e01f; audio: Opus/48000/2) and drops the others; a section
 * with none is disabled (port 0), so werift rejects it in the answer. werift matches codecs by
 * name only, so this is what makes its choice the right one.
 */
function selectCodecs(
  sdp: string,
  preference: readonly Codec[],
): { sdp: string; video: OfferCodec[]; audio: OfferCodec[] } {
  const lines = sdp.split(/\r?\n/);
  while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop();
  if (!lines[0]?.startsWith("v=")) {
    throw new WhipOfferError(400, `SDP offer must start with "v=", got ${quote(lines[0] ?? "")}`);
  }
  const bad = lines.find((line) => !/^[a-z]=/.test(line));
  if (bad !== undefined) throw new WhipOfferError(400, `Bad SDP line ${quote(bad)}`);
  const sections: string[][] = [[]];
  for (const line of lines) {
    if (line.startsWith("m=")) sections.push([]);
    sections.at(-1)!.push(line);
  }
  if (sections.length === 1) throw new WhipOfferError(400, "SDP offer has no media section");
  const video: OfferCodec[] = [];
  const audio: OfferCodec[] = [];
  const offered: string[] = [];
  const out = [...sections[0]];
  for (const section of sections.slice(1)) {
    const m = /^m=(\w+) (\d+)(\/\d+)? (\S+)((?: \S+)*)$/.exec(section[0]);
    if (!m) throw new WhipOfferError(400, `Bad SDP media line ${quote(section[0])}`);
    const [, kind, port, portCount, proto, formatList] = m;
    if (kind !== "video" && kind !== "audio") {
      out.push(...section);
      continue;
    }
    const rtpmaps = new Map<number, string>();
    const fmtps = new Map<number, string>();
    let sending = true;
    for (const line of section) {
      const attr = /^a=(rtpmap|fmtp):(\d+) (.*)$/.exec(line);
      if (attr?.[1] === "rtpmap") rtpmaps.set(Number(attr[2]), attr[3].trim());
      else if (attr?.[1] === "fmtp") fmtps.set(Number(attr[2]), attr[3].trim());
      else if (line === "a=recvonly" || line === "a=inactive") sending = false;
    }
    const formats = formatList.trim().split(" ").filter((f) => f !== "").map(Number);
    for (const pt of formats) offered.push(`${kind} ${rtpmaps.get(pt) ?? pt}`);
    const found = sending && port !== "0"
      ? kind === "video"
        ? chooseVideo(formats, rtpmaps, fmtps, preference)
        : chooseOpus(formats, rtpmaps)
      : undefined;
    if (found === undefined) {
      out.push(`m=${kind} 0${portCount ?? ""} ${proto}${formatList}`, ...section.slice(1));
      continue;
    }
    const chosen = found.payloadType;
    const codec = { ...found, fmtp: fmtps.get(chosen) ?? "" };
    (kind === "video" ? video : audio).push(codec);
    out.push(`m=${kind} ${port}${portCount ?? ""} ${proto} ${chosen}`);
    for (const line of section.slice(1)) {
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(line)?.[1];
      if (pt === undefined || Number(pt) === chosen) out.push(line);
    }
  }
  if (video.length === 0 && audio.length === 0) {
    throw new WhipOfferError(
      406,
      `SDP offer sends no codec the recorder records (${
        preference.map((c) => c === "h264" ? "H264 packetization-mode=1" : c.toUpperCase())
          .join(", ")
      }, Opus): offered ${offered.length > 0 ? offered.join(", ") : "nothing"}`,
    );
  }
  return { sdp: out.join("\r\n") + "\r\n", video, audio };
}

function chooseH264(
  formats: number[],
  rtpmaps: Map<number, string>,
  fmtps: Map<number, string>,
): number | undefined {
  let best: number | undefined;
  let bestRank = 0;
  for (const pt of formats) {
    if (rtpmaps.get(pt)?.toLowerCase() !== "h264/90000") continue;
    const params = fmtpParams(fmtps.get(pt) ?? "");
    if (params.get("packetization-mode") !== "1") continue;
    const profile = (params.get("profile-level-id") ?? "42e01f").toLowerCase();
    // Constrained baseline 42e01f first, then other constrained baseline, then anything else.
    const rank = profile === "42e01f" ? 3 : /^42[0-9a-f]{4}$/.test(profile) ? 2 : 1;
    if (rank > bestRank) [best, bestRank] = [pt, rank];
  }
  return best;
}

/** The offered payload type of the first codec of `preference`, if any. */
function chooseVideo(
  formats: number[],
  rtpmaps: Map<number, string>,
  fmtps: Map<number, string>,
  preference: readonly Codec[],
): { codec: Codec; payloadType: number } | undefined {
  for (const codec of preference) {
    const payloadType = codec === "h264"
      ? chooseH264(formats, rtpmaps, fmtps)
      : formats.find((pt) => {
        const [name, rate] = (rtpmaps.get(pt) ?? "").toLowerCase().split("/");
        return rate === "90000" && VIDEO_NAMES[`video/${name}`] === codec;
      });
    if (payloadType !== undefined) return { codec, payloadType };
  }
  return undefined;
}

function chooseOpus(
  formats: number[],
  rtpmaps: Map<number, string>,
): { codec: Codec; payloadType: number } | undefined {
  const payloadType = formats.find((pt) => rtpmaps.get(pt)?.toLowerCase() === "opus/48000/2");
  return payloadType === undefined ? undefined : { codec: "opus", payloadType };
}

function fmtpParams(fmtp: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const param of fmtp.split(";")) {
    const eq = param.indexOf("=");
    if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
  }
  return params;
}

/** The SPS and PPS of an H264 fmtp's `sprop-parameter-sets`, when it has valid ones. */
function parseSprop(fmtp: string): { sps?: Uint8Array; pps?: Uint8Array } {
  const sprop = fmtpParams(fmtp).get("sprop-parameter-sets");
  if (!sprop) return {};
  const result: { sps?: Uint8Array; pps?: Uint8Array } = {};
  for (const part of sprop.split(",")) {
    try {
      const nal = Uint8Array.from(atob(part.trim()), (c) => c.charCodeAt(0));
      if ((nal[0] & 0x1f) === 7) result.sps ??= nal;
      else if ((nal[0] & 0x1f) === 8) result.pps ??= nal;
    } catch {
      // Not base64: the recorder takes the parameter sets from the stream instead.
    }
  }
  return result;
}

const PLI_MIN_INTERVAL_MS = 500;
const PLI_MAX_INTERVAL_MS = 4000;
/** NTP era 0 starts 1900-01-01, 2,208,988,800 s before the Unix epoch. */
const NTP_UNIX_OFFSET_S = 2208988800;

/** What a track knows from the SDP besides its codec. */
interface TrackExtra {
  readonly channels?: number;
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  readonly vps?: Uint8Array;
}

/**
 * The receiving side of a werift peer connection as an {@linkcode IngestSession}: tracks, idle
 * timer, sender reports and PLI. The WHIP answerer and the WHEP subscriber (`whep.ts`) share it.
 */
export class Session implements WhipSession {
  readonly stream: string;
  readonly tracks: Track[] = [];
  readonly peerConnection: RTCPeerConnection;
  readonly closed: Promise<void>;
  #closeReason: string | undefined;
  #resolveClosed!: () => void;
  #idleTimeoutMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #maxQueued: number;
  #signal: AbortSignal | undefined;
  #onAbort = () => this.close("abort");
  #subscriptions: { unSubscribe: () => void }[] = [];

  constructor(stream: string, pc: RTCPeerConnection, options: WhipOfferOptions) {
    this.stream = stream;
    this.peerConnection = pc;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 10000;
    this.#maxQueued = options.maxQueuedPackets ?? 2048;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#subscriptions.push(pc.connectionStateChange.subscribe((state) => {
      if (state === "failed" || state === "closed") this.close(state);
    }));
  }

  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  addTrack(
    kind: TrackKind,
    codec: Codec,
    clockRate: number,
    payloadType: number,
    receiver: RTCRtpReceiver,
    extra: TrackExtra,
  ): void {
    const track = new Track(kind, codec, clockRate, payloadType, receiver, extra, this.#maxQueued);
    this.tracks.push(track);
    const onRtp = (rtp: WeriftRtpPacket) => {
      this.#touch();
      track.push(rtp);
    };
    // The receiver's tracks exist after setRemoteDescription; later ones (new SSRCs) come here.
    const seen = new Set<MediaStreamTrack>();
    const listen = (remote: MediaStreamTrack) => {
      if (seen.has(remote)) return;
      seen.add(remote);
      this.#subscriptions.push(remote.onReceiveRtp.subscribe(guard(onRtp)));
    };
    for (const remote of receiver.tracks) listen(remote);
    this.#subscriptions.push(
      this.peerConnection.onTrack.subscribe(guard((remote: MediaStreamTrack) => {
        if (receiver.tracks.includes(remote)) listen(remote);
      })),
      receiver.onRtcp.subscribe(guard((packet: RtcpPacket) => track.rtcp(packet))),
    );
  }

  /** Starts the idle timer, once the answer is out. */
  start(): void {
    if (this.#closeReason === undefined) this.#touch();
  }

  #touch(): void {
    if (this.#closeReason !== undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.close("idle"), this.#idleTimeoutMs);
  }

  close(reason = "close"): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    clearTimeout(this.#idleTimer);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const subscription of this.#subscriptions) subscription.unSubscribe();
    for (const track of this.tracks) track.end();
    const pcClosed = Promise.resolve()
      .then(() => this.peerConnection.close())
      .catch(() => {});
    // Never wait on werift for more than a second.
    let timer: ReturnType<typeof setTimeout> | undefined;
    Promise.race([pcClosed, new Promise((r) => timer = setTimeout(r, 1000))])
      .finally(() => {
        clearTimeout(timer);
        this.#resolveClosed();
      });
  }
}

class Track implements WhipTrack {
  readonly kind: TrackKind;
  readonly codec: Codec;
  readonly clockRate: number;
  readonly payloadType: number;
  readonly channels?: number;
  readonly sps?: Uint8Array;
  readonly pps?: Uint8Array;
  readonly vps?: Uint8Array;
  readonly packets: ReadableStream<RtpPacket>;
  #controller!: ReadableStreamDefaultController<RtpPacket>;
  #open = true;
  #receiver: RTCRtpReceiver;
  #ssrc: number | undefined;
  #senderReport: SenderReport | undefined;
  #dropped = 0;
  #received = 0;
  #pliSent = 0;
  #lastPliMs = -Infinity;
  #pliIntervalMs = PLI_MIN_INTERVAL_MS;
  #awaitingKeyframe = false;

  constructor(
    kind: TrackKind,
    codec: Codec,
    clockRate: number,
    payloadType: number,
    receiver: RTCRtpReceiver,
    extra: TrackExtra,
    maxQueued: number,
  ) {
    this.kind = kind;
    this.codec = codec;
    this.clockRate = clockRate;
    this.payloadType = payloadType;
    if (extra.channels !== undefined) this.channels = extra.channels;
    if (extra.sps) this.sps = extra.sps;
    if (extra.pps) this.pps = extra.pps;
    if (extra.vps) this.vps = extra.vps;
    this.#receiver = receiver;
    this.packets = new ReadableStream<RtpPacket>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.#open = false;
      },
    }, new CountQueuingStrategy({ highWaterMark: maxQueued }));
  }

  get senderReport(): SenderReport | undefined {
    return this.#senderReport;
  }
  get droppedPackets(): number {
    return this.#dropped;
  }
  get receivedPackets(): number {
    return this.#received;
  }
  get pliSent(): number {
    return this.#pliSent;
  }

  push(rtp: WeriftRtpPacket): void {
    if (!this.#open) return;
    const { header, payload } = rtp;
    if (header.payloadType !== this.payloadType) return;
    this.#received++;
    this.#ssrc = header.ssrc;
    if (this.#awaitingKeyframe && startsKeyframe(this.codec, payload)) {
      this.#awaitingKeyframe = false;
      this.#pliIntervalMs = PLI_MIN_INTERVAL_MS;
    }
    if ((this.#controller.desiredSize ?? 0) <= 0) {
      this.#dropped++;
      return;
    }
    this.#controller.enqueue({
      payloadType: header.payloadType,
      sequenceNumber: header.sequenceNumber,
      timestamp: header.timestamp,
      ssrc: header.ssrc,
      marker: header.marker,
      payload: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
      arrivalUs: Math.round((performance.timeOrigin + performance.now()) * 1000),
    });
  }

  rtcp(packet: RtcpPacket): void {
    if (!(packet instanceof RtcpSrPacket)) return;
    if (this.#ssrc !== undefined && packet.ssrc !== this.#ssrc) return;
    if (this.#ssrc === undefined && this.#receiver.tracks.every((t) => t.ssrc !== packet.ssrc)) {
      return;
    }
    const ntp = BigInt.asUintN(64, BigInt(packet.senderInfo.ntpTimestamp));
    const seconds = Number(ntp >> 32n);
    const fraction = Number(ntp & 0xffffffffn);
    this.#senderReport = {
      ssrc: packet.ssrc,
      ntpUs: Math.round((seconds - NTP_UNIX_OFFSET_S) * 1e6 + fraction * 1e6 / 2 ** 32),
      rtpTimestamp: packet.senderInfo.rtpTimestamp >>> 0,
    };
  }

  requestKeyframe(): void {
    // Every Opus packet stands alone: only video has keyframes to ask for.
    if (this.kind !== "video") return;
    const now = performance.now();
    if (!this.#open || this.#ssrc === undefined || now - this.#lastPliMs < this.#pliIntervalMs) {
      return;
    }
    // Back off while no keyframe comes: 500 ms, 1 s, 2 s, 4 s; a keyframe resets it.
    if (this.#awaitingKeyframe) {
      this.#pliIntervalMs = Math.min(this.#pliIntervalMs * 2, PLI_MAX_INTERVAL_MS);
    }
    this.#awaitingKeyframe = true;
    this.#lastPliMs = now;
    this.#pliSent++;
    const receiver = this.#receiver;
    const mediaSsrc = this.#ssrc;
    try {
      const sent = receiver.pliEnabled
        ? receiver.sendRtcpPLI(mediaSsrc)
        // The publisher did not offer "nack pli"; most still honour a PLI.
        : receiver.dtlsTransport.sendRtcp([
          new RtcpPayloadSpecificFeedback({
            feedback: new PictureLossIndication({ senderSsrc: receiver.rtcpSsrc, mediaSsrc }),
          }),
        ]);
      Promise.resolve(sent).catch(() => {});
    } catch {
      // No transport yet or any more: nothing to ask.
    }
  }

  end(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#controller.close();
    } catch {
      // Already closed or errored by the consumer.
    }
  }
}

/**
 * Whether an RTP payload probably starts a key frame (only used to reset the PLI backoff, so a
 * cheap look at the payload header is enough).
 */
function startsKeyframe(codec: Codec, payload: Uint8Array): boolean {
  switch (codec) {
    case "h264":
      return startsH264Keyframe(payload);
    case "h265": {
      // A VPS, an IRAP NAL unit, or the first FU of one; APs of parameter sets lead key frames.
      const type = (payload[0] >> 1) & 0x3f;
      const inner = type === 49 ? payload[2] & 0x3f : type === 48 ? (payload[4] >> 1) & 0x3f : type;
      return (type !== 49 || (payload[2] & 0x80) !== 0) && inner >= 16 && inner <= 32;
    }
    case "vp8": {
      // S = 1, PID = 0, then the payload header's P bit clear (RFC 7741 §4.3).
      if ((payload[0] & 0x17) !== 0x10) return false;
      let at = 1;
      if (payload[0] & 0x80) {
        const x = payload[at++];
        if (x & 0x80) at += payload[at] & 0x80 ? 2 : 1;
        if (x & 0x40) at++;
        if (x & 0x30) at++;
      }
      return at < payload.length && (payload[at] & 1) === 0;
    }
    case "vp9":
      return (payload[0] & 0x48) === 0x08; // B set, P clear
    case "av1":
      return (payload[0] & 0x08) !== 0; // N: a new coded video sequence
    default:
      return false;
  }
}

/** Wraps a werift event handler so that nothing it throws reaches werift. */
function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch {
      // A bad packet must not stop werift's receive loop.
    }
  };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
