/**
 * A tiny Live777 (liveion) compatible server for tests, built on werift: publishers come in over
 * WHIP (`POST /whip/:stream`), subscribers over WHEP (`POST /whep/:stream`) and get the
 * publisher's RTP forwarded packet by packet (a subscriber's PLI is passed on to the publisher),
 * `DELETE /session/:stream/:id` ends either, and `GET /api/streams/` lists the streams in
 * liveion's JSON shape. With `token` set, every request needs `Authorization: Bearer <token>`
 * (401 otherwise, as liveion answers). Loopback only; no STUN.
 * @module
 */

import {
  type MediaStreamTrack,
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  type RTCRtpSender,
  type RtpPacket,
  useH264,
  useOPUS,
  useSdesMid,
} from "werift";
import { disableDefaultStun } from "../../lib/ingest/whip.ts";
import { startsH264Keyframe } from "../../lib/rtp/h264.ts";

/** Options of {@linkcode LiveionServer.start}. */
export interface LiveionServerOptions {
  /** TCP port of the HTTP API; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** When set, requests without `Authorization: Bearer <token>` get 401. */
  readonly token?: string;
}

/** One HTTP request the server saw. */
export interface LiveionRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly authorization: string | null;
  /** `performance.now()` when it arrived. */
  readonly atMs: number;
}

/** What a WHEP subscriber was sent, counted from the first video keyframe it got. */
export interface SubscriberStats {
  readonly id: string;
  /** Publisher video frames (marker bits) before the first keyframe this subscriber got. */
  framesBeforeKeyframe: number;
  /** Video frames forwarded from the first keyframe on (the keyframe included). */
  videoFrames: number;
  /** Audio packets forwarded from the first video keyframe on. */
  audioPackets: number;
  /** Audio packets forwarded before it. */
  audioPacketsBeforeKeyframe: number;
  /** PLIs the subscriber sent (each passed on to the publisher). */
  pli: number;
  closed: boolean;
}

interface Subscriber {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  readonly createdAt: number;
  readonly video?: RTCRtpSender;
  readonly audio?: RTCRtpSender;
  readonly stats: SubscriberStats;
  keyframe: boolean;
}

interface Publisher {
  readonly id: string;
  readonly pc: RTCPeerConnection;
  readonly createdAt: number;
  video?: { track: MediaStreamTrack; ssrc?: number };
  /** Video frames (marker bits) received. */
  videoFrames: number;
  audioPackets: number;
}

interface Stream {
  readonly id: string;
  readonly createdAt: number;
  readonly publisher: Publisher;
  readonly subscribers: Map<string, Subscriber>;
  /** Every subscriber this stream had, closed ones too. */
  readonly history: SubscriberStats[];
}

/** A running test server; {@linkcode LiveionServer.close} ends every session. */
export class LiveionServer {
  readonly port: number;
  readonly requests: LiveionRequest[] = [];
  readonly #token: string | undefined;
  readonly #streams = new Map<string, Stream>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  /** Subscriber stats by stream, kept across the stream's publishers. */
  readonly #subscribers = new Map<string, SubscriberStats[]>();

  private constructor(options: LiveionServerOptions) {
    this.#token = options.token;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
    this.port = this.#server.addr.port;
  }

  /** Starts listening on 127.0.0.1. */
  static start(options: LiveionServerOptions = {}): LiveionServer {
    return new LiveionServer(options);
  }

  /** The base URL, e.g. "http://127.0.0.1:7777". */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Ids of the streams that have a publisher now. */
  streams(): string[] {
    return [...this.#streams.keys()];
  }

  /** Every WHEP subscriber `stream` had since the server started, in order. */
  subscribers(stream: string): readonly SubscriberStats[] {
    return this.#subscribers.get(stream) ?? [];
  }

  /** Video frames the current publisher of `stream` sent so far. */
  publishedVideoFrames(stream: string): number {
    return this.#streams.get(stream)?.publisher.videoFrames ?? 0;
  }

  /** Closes every session and stops listening. */
  async close(): Promise<void> {
    await Promise.all([...this.#streams.values()].map((stream) => this.#closeStream(stream)));
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const atMs = performance.now();
    const path = new URL(request.url).pathname;
    const authorization = request.headers.get("authorization");
    let response: Response;
    try {
      response = await this.#route(request, path, authorization);
    } catch (error) {
      response = new Response(String(error), { status: 500 });
    }
    this.requests.push({
      method: request.method,
      path,
      status: response.status,
      authorization,
      atMs,
    });
    return response;
  }

  async #route(request: Request, path: string, authorization: string | null): Promise<Response> {
    if (this.#token !== undefined && authorization !== `Bearer ${this.#token}`) {
      await request.body?.cancel();
      return new Response("invalid token", { status: 401 });
    }
    const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
    if (request.method === "GET" && path === "/api/streams/") {
      return Response.json([...this.#streams.values()].map((stream) => this.#describe(stream)));
    }
    if (request.method === "POST" && parts[0] === "whip" && parts.length === 2) {
      return await this.#whip(parts[1], await request.text());
    }
    if (request.method === "POST" && parts[0] === "whep" && parts.length === 2) {
      return await this.#whep(parts[1], await request.text());
    }
    if (request.method === "DELETE" && parts[0] === "session" && parts.length === 3) {
      const stream = this.#streams.get(parts[1]);
      if (!stream) return new Response("stream not found", { status: 404 });
      if (stream.publisher.id === parts[2]) {
        await this.#closeStream(stream);
        return new Response(null, { status: 204 });
      }
      const subscriber = stream.subscribers.get(parts[2]);
      if (!subscriber) return new Response("session not found", { status: 404 });
      await this.#closeSubscriber(stream, subscriber);
      return new Response(null, { status: 204 });
    }
    await request.body?.cancel();
    return new Response("not found", { status: 404 });
  }

  /** liveion's `Stream`: id, createdAt, publish and subscribe with their sessions. */
  #describe(stream: Stream) {
    const session = (id: string, createdAt: number, pc: RTCPeerConnection) => ({
      id,
      createdAt,
      state: pc.connectionState,
    });
    const { publisher } = stream;
    return {
      id: stream.id,
      createdAt: stream.createdAt,
      publish: {
        leaveAt: 0,
        sessions: [session(publisher.id, publisher.createdAt, publisher.pc)],
      },
      subscribe: {
        leaveAt: stream.subscribers.size === 0 ? stream.createdAt : 0,
        sessions: [...stream.subscribers.values()].map((s) => session(s.id, s.createdAt, s.pc)),
      },
    };
  }

  async #whip(id: string, offer: string): Promise<Response> {
    if (this.#streams.has(id)) {
      return new Response("stream already has a publisher", { status: 409 });
    }
    const pc = newPeerConnection(offer);
    const publisher: Publisher = {
      id: sessionId(),
      pc,
      createdAt: Date.now(),
      videoFrames: 0,
      audioPackets: 0,
    };
    const stream: Stream = {
      id,
      createdAt: Date.now(),
      publisher,
      subscribers: new Map(),
      history: [],
    };
    pc.onTrack.subscribe((track) => {
      if (track.kind === "video") {
        publisher.video = { track };
        track.onReceiveRtp.subscribe((rtp) => {
          publisher.video!.ssrc = rtp.header.ssrc;
          this.#forwardVideo(stream, rtp);
          if (rtp.header.marker) publisher.videoFrames++;
        });
      } else {
        track.onReceiveRtp.subscribe((rtp) => {
          publisher.audioPackets++;
          for (const subscriber of stream.subscribers.values()) {
            if (!subscriber.audio || !sending(subscriber.audio)) continue;
            subscriber.audio.sendRtp(rtp).catch(() => {});
            if (subscriber.keyframe) subscriber.stats.audioPackets++;
            else subscriber.stats.audioPacketsBeforeKeyframe++;
          }
        });
      }
    });
    pc.connectionStateChange.subscribe((state) => {
      if (state === "failed" || state === "closed") this.#closeStream(stream).catch(() => {});
    });
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    await pc.setLocalDescription(await pc.createAnswer());
    this.#streams.set(id, stream);
    return new Response(pc.localDescription!.sdp, {
      status: 201,
      headers: {
        "Content-Type": "application/sdp",
        Location: `/session/${encodeURIComponent(id)}/${publisher.id}`,
      },
    });
  }

  #forwardVideo(stream: Stream, rtp: RtpPacket): void {
    const keyframe = startsH264Keyframe(rtp.payload);
    for (const subscriber of stream.subscribers.values()) {
      if (!subscriber.video || !sending(subscriber.video)) continue;
      if (!subscriber.keyframe && keyframe) subscriber.keyframe = true;
      subscriber.video.sendRtp(rtp).catch(() => {});
      if (!rtp.header.marker) continue;
      if (subscriber.keyframe) subscriber.stats.videoFrames++;
      else subscriber.stats.framesBeforeKeyframe++;
    }
  }

  async #whep(id: string, offer: string): Promise<Response> {
    const stream = this.#streams.get(id);
    if (!stream) return new Response("stream not found", { status: 404 });
    const pc = newPeerConnection(offer);
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    let video: RTCRtpSender | undefined;
    let audio: RTCRtpSender | undefined;
    for (const transceiver of pc.getTransceivers()) {
      transceiver.setDirection("sendonly");
      if (transceiver.kind === "video") video = transceiver.sender;
      else audio = transceiver.sender;
    }
    const stats: SubscriberStats = {
      id: sessionId(),
      framesBeforeKeyframe: 0,
      videoFrames: 0,
      audioPackets: 0,
      audioPacketsBeforeKeyframe: 0,
      pli: 0,
      closed: false,
    };
    const subscriber: Subscriber = {
      id: stats.id,
      pc,
      createdAt: Date.now(),
      video,
      audio,
      stats,
      keyframe: false,
    };
    const onPli = () => {
      stats.pli++;
      const source = stream.publisher.video;
      const receiver = stream.publisher.pc.getTransceivers()
        .find((t) => t.kind === "video")?.receiver;
      if (source?.ssrc !== undefined && receiver) {
        receiver.sendRtcpPLI(source.ssrc).catch(() => {});
      }
    };
    video?.onPictureLossIndication.subscribe(onPli);
    // werift routes a PLI by its sender SSRC first, and the subscriber's offer announced that
    // SSRC: the PLI lands on this side's receiver rather than on the sender.
    for (const transceiver of pc.getTransceivers()) {
      transceiver.receiver.onRtcp.subscribe((packet) => {
        if (
          packet instanceof RtcpPayloadSpecificFeedback &&
          packet.feedback instanceof PictureLossIndication &&
          packet.feedback.mediaSsrc === video?.ssrc
        ) onPli();
      });
    }
    pc.connectionStateChange.subscribe((state) => {
      if (state === "failed" || state === "closed") {
        this.#closeSubscriber(stream, subscriber).catch(() => {});
      }
    });
    await pc.setLocalDescription(await pc.createAnswer());
    stream.subscribers.set(subscriber.id, subscriber);
    stream.history.push(stats);
    const list = this.#subscribers.get(id) ?? [];
    list.push(stats);
    this.#subscribers.set(id, list);
    return new Response(pc.localDescription!.sdp, {
      status: 201,
      headers: {
        "Content-Type": "application/sdp",
        Location: `/session/${encodeURIComponent(id)}/${subscriber.id}`,
      },
    });
  }

  async #closeSubscriber(stream: Stream, subscriber: Subscriber): Promise<void> {
    if (subscriber.stats.closed) return;
    subscriber.stats.closed = true;
    stream.subscribers.delete(subscriber.id);
    await closePeerConnection(subscriber.pc);
  }

  /** A publisher leaving ends the stream and its subscribers, as liveion does. */
  async #closeStream(stream: Stream): Promise<void> {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    await Promise.all([
      closePeerConnection(stream.publisher.pc),
      ...[...stream.subscribers.values()].map((s) => this.#closeSubscriber(stream, s)),
    ]);
  }
}

/** A loopback-only werift peer connection answering `offer` with its payload types. */
function newPeerConnection(offer: string): RTCPeerConnection {
  const h264 = /^a=rtpmap:(\d+) H264\/90000/im.exec(offer)?.[1];
  const opus = /^a=rtpmap:(\d+) opus\/48000/im.exec(offer)?.[1];
  const fmtp = h264 ? new RegExp(`^a=fmtp:${h264} (.*)$`, "m").exec(offer)?.[1]?.trim() : undefined;
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    bundlePolicy: "max-bundle",
    codecs: {
      video: h264 ? [useH264({ payloadType: Number(h264), parameters: fmtp })] : [],
      audio: opus ? [useOPUS({ payloadType: Number(opus) })] : [],
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
  });
  disableDefaultStun(pc);
  return pc;
}

function sending(sender: RTCRtpSender): boolean {
  return sender.dtlsTransport?.state === "connected";
}

/** Closes `pc`, waiting for werift no longer than a second. */
async function closePeerConnection(pc: RTCPeerConnection): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    pc.close().catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, 1000)),
  ]);
  clearTimeout(timer);
}

function sessionId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}
