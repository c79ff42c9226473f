import dgram from "node:dgram";
import dns from "node:dns";
import { useOPUS, useVP8 } from "werift";
import { assert, assertEquals, assertRejects } from "../assert.ts";
import { acceptWhipOffer, WhipOfferError, type WhipSession } from "../../lib/ingest/whip.ts";
import type { RtpPacket } from "../../lib/types.ts";
import { publisherOffer, publishWhip } from "../helpers/whip_publisher.ts";

/** A WHIP endpoint on loopback: POST /whip/:stream answers, DELETE on the Location closes. */
function startWhipServer(options: { idleTimeoutMs?: number; maxQueuedPackets?: number } = {}) {
  const sessions = new Map<string, WhipSession>();
  const created: WhipSession[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "POST" && path.startsWith("/whip/")) {
      try {
        const { answerSdp, session } = await acceptWhipOffer(
          path.slice(6),
          await req.text(),
          { hostAddresses: ["127.0.0.1"], ...options },
        );
        const id = crypto.randomUUID();
        sessions.set(id, session);
        created.push(session);
        return new Response(answerSdp, {
          status: 201,
          headers: { "Content-Type": "application/sdp", Location: `/session/${id}` },
        });
      } catch (error) {
        const status = error instanceof WhipOfferError ? error.status : 500;
        return new Response(String(error), { status });
      }
    }
    if (req.method === "DELETE" && path.startsWith("/session/")) {
      const session = sessions.get(path.slice(9));
      if (!session) return new Response(null, { status: 404 });
      sessions.delete(path.slice(9));
      session.close();
      return new Response(null, { status: 200 });
    }
    return new Response(null, { status: 404 });
  });
  return {
    url: (stream: string) => `http://127.0.0.1:${server.addr.port}/whip/${stream}`,
    created,
    async shutdown() {
      for (const session of created) session.close();
      await Promise.all(created.map((s) => s.closed));
      await server.shutdown();
    },
  };
}

/** Reads a packet stream to its end. */
async function collect(stream: ReadableStream<RtpPacket>): Promise<RtpPacket[]> {
  const packets: RtpPacket[] = [];
  for await (const packet of stream) packets.push(packet);
  return packets;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address === "localhost";
}

function candidateAddresses(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:")).map((l) => l.split(" ")[4]);
}

Deno.test("acceptWhipOffer receives H264 and Opus, relays a PLI and ends on DELETE", async () => {
  const server = startWhipServer();
  try {
    const publisher = await publishWhip(server.url("cam1"), { durationSec: 2 });
    const session = server.created[0];
    assertEquals(session.stream, "cam1");
    const video = session.tracks.find((t) => t.kind === "video")!;
    const audio = session.tracks.find((t) => t.kind === "audio")!;
    assertEquals([video.codec, video.clockRate], ["h264", 90000]);
    assertEquals([audio.codec, audio.clockRate, audio.channels], ["opus", 48000, 2]);
    const videoPackets = collect(video.packets);
    const audioPackets = collect(audio.packets);

    await waitFor(() => video.receivedPackets > 0, 5000, "the first video packet");
    video.requestKeyframe();
    video.requestKeyframe(); // rate-limited: one PLI goes out
    assertEquals(video.pliSent, 1);
    await waitFor(() => publisher.pliReceived > 0, 2000, "the publisher to see a PLI");

    await publisher.done;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await publisher.stop();
    await within(session.closed, 2000, "closing the session");
    const [videoRtp, audioRtp] = await within(
      Promise.all([videoPackets, audioPackets]),
      2000,
      "ending the packet streams",
    );
    assert(Date.now() - started < 2000, "DELETE ended the session within 2 s");
    assertEquals(session.closeReason, "close");

    const frames = videoRtp.filter((p) => p.marker).length;
    assert(publisher.videoFrames >= 55, `ffmpeg sent ${publisher.videoFrames} video frames`);
    assert(publisher.audioPackets >= 90, `ffmpeg sent ${publisher.audioPackets} Opus packets`);
    assert(frames >= publisher.videoFrames - 2, `${frames} of ${publisher.videoFrames} frames`);
    assert(
      audioRtp.length >= publisher.audioPackets - 3,
      `${audioRtp.length} of ${publisher.audioPackets} Opus packets`,
    );
    assertEquals(video.droppedPackets + audio.droppedPackets, 0);
    assert(videoRtp.every((p) => p.payloadType === video.payloadType && p.payload.length > 0));
    assert(audioRtp.every((p) => p.payloadType === audio.payloadType));
    const now = Date.now() * 1000;
    assert(videoRtp.every((p) => Math.abs(p.arrivalUs - now) < 30e6), "arrivalUs is epoch µs");
    // The first packet of an H264 stream from x264 carries the SPS (STAP-A or single NAL).
    const sr = video.senderReport;
    assert(sr !== undefined, "a sender report arrived for the video track");
    assertEquals(sr.ssrc, videoRtp[0].ssrc);
    assert(Math.abs(sr.ntpUs - now) < 30e6, `SR time ${sr.ntpUs} is near now ${now}`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("acceptWhipOffer sends nothing outside loopback, drops for a stalled reader, ends when the publisher vanishes", async () => {
  const destinations: string[] = [];
  const lookups: string[] = [];
  const send = dgram.Socket.prototype.send;
  const lookup = dns.promises.lookup;
  // werift's ICE sockets are Deno datagram sockets (lib/ingest/werift_udp.ts): spy on those too.
  const probe = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const conn = Object.getPrototypeOf(probe) as Deno.DatagramConn;
  probe.close();
  const denoSend = conn.send;
  conn.send = function (this: Deno.DatagramConn, data: Uint8Array, addr: Deno.Addr) {
    destinations.push((addr as Deno.NetAddr).hostname);
    return denoSend.call(this, data, addr);
  };
  // deno-lint-ignore no-explicit-any
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: any[]) {
    // send(msg, [offset, length,] port, address, callback)
    const address = args.find((a, i) => i > 0 && typeof a === "string");
    destinations.push(address ?? "(connected)");
    // deno-lint-ignore no-explicit-any
    return (send as any).apply(this, args);
  };
  // deno-lint-ignore no-explicit-any
  (dns.promises as any).lookup = (host: string, ...rest: unknown[]) => {
    lookups.push(host);
    // deno-lint-ignore no-explicit-any
    return (lookup as any).call(dns.promises, host, ...rest);
  };
  const server = startWhipServer({ idleTimeoutMs: 1500, maxQueuedPackets: 16 });
  try {
    const publisher = await publishWhip(server.url("cam2"), { durationSec: 1 });
    const session = server.created[0];
    for (const pc of [session.peerConnection, publisher.peerConnection]) {
      assert(pc.iceTransports.length > 0);
      for (const transport of pc.iceTransports) {
        assertEquals(transport.connection.stunServer, undefined);
      }
    }
    const answerCandidates = candidateAddresses(publisher.answerSdp);
    assert(answerCandidates.length > 0, "the answer carries its candidates (non-trickle)");
    assertEquals(answerCandidates.filter((a) => !isLoopback(a)), []);
    assertEquals(candidateAddresses(publisher.offerSdp).filter((a) => !isLoopback(a)), []);
    // Nobody reads the packets: each track queues 16, drops the rest, and werift never waits.
    await publisher.done;
    for (const track of session.tracks) {
      assert(track.droppedPackets > 0, `${track.kind} dropped ${track.droppedPackets}`);
      assertEquals(track.receivedPackets, 16 + track.droppedPackets);
    }
    // The publisher vanishes without DELETE: the session ends on its own.
    await publisher.peerConnection.close();
    await within(session.closed, 3000, "ending a session whose publisher vanished");
    assert(["closed", "failed", "idle"].includes(session.closeReason!), session.closeReason);
    for (const track of session.tracks) await track.packets.cancel();
    await publisher.stop();
  } finally {
    dgram.Socket.prototype.send = send;
    conn.send = denoSend;
    // deno-lint-ignore no-explicit-any
    (dns.promises as any).lookup = lookup;
    await server.shutdown();
  }
  assert(destinations.length > 0, "the spy saw werift's UDP traffic");
  assertEquals(destinations.filter((a) => !isLoopback(a)), []);
  assertEquals(lookups, []);
});

/** A Chrome-like offer: several H264 variants (packetization-mode 0 first), VP8, Opus, RED. */
const CHROME_OFFER = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS stream",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:abcdefghijklmnopqrstuvwx",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 " +
  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
  "a=setup:actpass",
  "a=mid:0",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=sendonly",
  "a=msid:stream audio0",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
  "a=ssrc:1111 cname:abc",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:abcdefghijklmnopqrstuvwx",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 " +
  "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
  "a=setup:actpass",
  "a=mid:1",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=sendonly",
  "a=msid:stream video0",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 nack pli",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:98 H264/90000",
  "a=rtcp-fb:98 nack pli",
  "a=fmtp:98 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
  "a=rtpmap:99 rtx/90000",
  "a=fmtp:99 apt=98",
  "a=rtpmap:100 H264/90000",
  "a=rtcp-fb:100 nack pli",
  "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "a=rtpmap:101 rtx/90000",
  "a=fmtp:101 apt=100",
  "a=rtpmap:102 H264/90000",
  "a=rtcp-fb:102 goog-remb",
  "a=rtcp-fb:102 nack pli",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:103 rtx/90000",
  "a=fmtp:103 apt=102",
  "a=ssrc:2222 cname:abc",
  "",
].join("\r\n");

Deno.test("acceptWhipOffer picks H264 packetization-mode 1 (42e01f) and Opus from a Chrome-like offer", async () => {
  const { answerSdp, session } = await acceptWhipOffer("chrome", CHROME_OFFER, {
    hostAddresses: ["127.0.0.1"],
  });
  try {
    const video = session.tracks.find((t) => t.kind === "video")!;
    const audio = session.tracks.find((t) => t.kind === "audio")!;
    assertEquals([video.codec, video.payloadType], ["h264", 102]);
    assertEquals([audio.codec, audio.payloadType], ["opus", 111]);
    const mLines = answerSdp.split(/\r?\n/).filter((l) => l.startsWith("m="));
    assertEquals(mLines.map((l) => l.split(" ").slice(3).join(" ")), ["111", "102"]);
    assert(/a=fmtp:102 .*packetization-mode=1/.test(answerSdp));
    assert(/a=rtcp-fb:102 nack pli/.test(answerSdp));
    assert(/a=recvonly/.test(answerSdp));
    assertEquals(candidateAddresses(answerSdp).filter((a) => !isLoopback(a)), []);
  } finally {
    session.close();
    await session.closed;
  }
});

Deno.test("acceptWhipOffer records VP8 and Opus from werift's default offer", async () => {
  const { answerSdp, session } = await acceptWhipOffer(
    "vp8",
    await publisherOffer({ codecs: { video: [useVP8()], audio: [useOPUS()] } }),
    {
      hostAddresses: ["127.0.0.1"],
    },
  );
  try {
    assertEquals(session.tracks.map((t) => [t.kind, t.codec]), [["video", "vp8"], [
      "audio",
      "opus",
    ]]);
    assert(/^m=video [1-9]/m.test(answerSdp), "the VP8 section is accepted");
    assert(/a=rtpmap:\d+ VP8\/90000/.test(answerSdp));
  } finally {
    session.close();
    await session.closed;
  }
});

Deno.test("acceptWhipOffer throws a 406 WhipOfferError for an offer with no codec it records", async () => {
  const videoOnly = CHROME_OFFER
    .replace(/m=audio[\s\S]*?(?=m=video)/, "")
    .replace("a=group:BUNDLE 0 1", "a=group:BUNDLE 1")
    .replaceAll("VP8/90000", "H263/90000");
  const offer = videoOnly.replaceAll(/H264\/90000/g, "MP4V-ES/90000");
  const error = await assertRejects(
    () => acceptWhipOffer("mp4v", offer, { hostAddresses: ["127.0.0.1"] }),
    WhipOfferError,
    "no codec the recorder records",
  );
  assertEquals((error as WhipOfferError).status, 406);
  // packetization-mode 0 only is as good as no H264.
  const mode0 = videoOnly.replaceAll("packetization-mode=1", "packetization-mode=0");
  await assertRejects(
    () => acceptWhipOffer("mode0", mode0),
    WhipOfferError,
    "no codec the recorder records",
  );
});

Deno.test("acceptWhipOffer picks the first offered codec of videoCodecs", async () => {
  const offer = CHROME_OFFER.replace(
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:96 VP8/90000\r\na=rtpmap:45 AV1/90000\r\na=rtpmap:49 H265/90000",
  ).replace(/^(m=video \d+ \S+) /m, "$1 45 49 ");
  for (
    const [preference, expected] of [
      [["vp9", "av1", "vp8"], ["av1", 45]],
      [["vp8", "h264"], ["vp8", 96]],
      [["h265", "h264"], ["h265", 49]],
      [["vp9", "h264"], ["h264", 102]],
    ] as const
  ) {
    const { answerSdp, session } = await acceptWhipOffer("pick", offer, {
      hostAddresses: ["127.0.0.1"],
      videoCodecs: preference,
    });
    try {
      const video = session.tracks.find((t) => t.kind === "video")!;
      assertEquals([video.codec, video.payloadType], expected, preference.join(","));
      const mLine = answerSdp.split(/\r?\n/).find((l) => l.startsWith("m=video"))!;
      assertEquals(mLine.split(" ").slice(3), [String(expected[1])]);
    } finally {
      session.close();
      await session.closed;
    }
  }
});

Deno.test("acceptWhipOffer throws a 400 WhipOfferError naming what is wrong with a malformed offer", async () => {
  const cases: [string, string][] = [
    ["", `must start with "v="`],
    ["hello", `must start with "v="`],
    ["v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", "no media section"],
    ["v=0\r\nm=video nine UDP/TLS/RTP/SAVPF 96\r\n", "Bad SDP media line"],
    ["v=0\r\nthis is not sdp\r\n", "Bad SDP line"],
    [CHROME_OFFER.replaceAll(/a=ice-(ufrag|pwd):.*\r\n/g, ""), "SDP offer rejected"],
  ];
  for (const [offer, message] of cases) {
    const error = await assertRejects(() => acceptWhipOffer("bad", offer), WhipOfferError, message);
    assertEquals((error as WhipOfferError).status, 400);
  }
  await assertRejects(
    () => acceptWhipOffer("big", CHROME_OFFER, { maxSdpBytes: 100 }),
    WhipOfferError,
    "exceeds 100 bytes",
  );
});

Deno.test("acceptWhipOffer ends a session whose publisher never connects, and one whose signal aborts", async () => {
  const idle = await acceptWhipOffer("idle", CHROME_OFFER, {
    hostAddresses: ["127.0.0.1"],
    idleTimeoutMs: 200,
  });
  const ends = Promise.all(idle.session.tracks.map((t) => collect(t.packets)));
  await within(idle.session.closed, 2000, "the idle timeout");
  assertEquals(idle.session.closeReason, "idle");
  assertEquals((await ends).flat().length, 0);

  const controller = new AbortController();
  const aborted = await acceptWhipOffer("abort", CHROME_OFFER, {
    hostAddresses: ["127.0.0.1"],
    signal: controller.signal,
  });
  controller.abort();
  await within(aborted.session.closed, 2000, "closing on abort");
  assertEquals(aborted.session.closeReason, "abort");
  await assertRejects(
    () => acceptWhipOffer("late", CHROME_OFFER, { signal: controller.signal }),
  );
});
