/**
 * The plain RTP source on real loopback sockets: packets reach the session's track in order,
 * a packet of another payload type is reported and skipped, a consumer that stops reading makes
 * the source drop (and say so) instead of growing, and a port in use fails with the stream named.
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { runRtpSource } from "../../lib/ingest/rtp_source.ts";
import type { IngestSession } from "../../lib/types.ts";
import { freeUdpPortPair } from "../helpers/media.ts";

function opusSdp(port: number): string {
  return `v=0
o=- 0 0 IN IP4 127.0.0.1
s=test
t=0 0
m=audio ${port} RTP/AVP 97
c=IN IP4 127.0.0.1
a=rtpmap:97 opus/48000/2
`;
}

/** An RTP packet: version 2, `payloadType`, sequence number `seq`, one payload byte `seq`. */
function rtp(seq: number, payloadType = 97): Uint8Array {
  const packet = new Uint8Array(13);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80;
  packet[1] = payloadType;
  view.setUint16(2, seq);
  view.setUint32(4, seq * 960);
  view.setUint32(8, 0x1234);
  packet[12] = seq & 0xff;
  return packet;
}

async function sendAll(port: number, packets: Uint8Array[]): Promise<void> {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  for (const packet of packets) {
    await conn.send(packet, { transport: "udp", hostname: "127.0.0.1", port });
  }
  conn.close();
  // The receiving thread hands datagrams over in batches of a few milliseconds.
  await new Promise((resolve) => setTimeout(resolve, 200));
}

Deno.test("RTP source: packets in order, another payload type reported and skipped", async () => {
  const port = freeUdpPortPair();
  const stop = new AbortController();
  const sessions: IngestSession[] = [];
  const errors: string[] = [];
  const handle = await runRtpSource({
    stream: "cam1",
    sdp: opusSdp(port),
    idleTimeoutSec: 30,
    signal: stop.signal,
    onSession: (session) => sessions.push(session),
    onProtocolError: (error) => errors.push(error.message),
  });
  await sendAll(port, [rtp(1), rtp(2), rtp(3, 111), rtp(4)]);
  stop.abort();
  await handle.done;
  assertEquals(sessions.length, 1);
  const packets = await Array.fromAsync(sessions[0].tracks[0].packets);
  assertEquals(packets.map((p) => [p.sequenceNumber, p.payload[0]]), [[1, 1], [2, 2], [4, 4]]);
  assertEquals(errors, [`Unexpected payload type 111 on port ${port} (SDP says 97)`]);
  assertEquals(handle.stats.protocolErrors, 1);
});

Deno.test("RTP source: a consumer that stops reading makes it drop, and it says so", async () => {
  const port = freeUdpPortPair();
  const stop = new AbortController();
  let session: IngestSession | undefined;
  let reported = 0;
  const handle = await runRtpSource({
    stream: "cam1",
    sdp: opusSdp(port),
    idleTimeoutSec: 30,
    signal: stop.signal,
    maxQueuedPackets: 4,
    onSession: (s) => session = s,
    onDropped: (count) => reported += count,
  });
  await sendAll(port, Array.from({ length: 20 }, (_, i) => rtp(i + 1)));
  stop.abort();
  await handle.done;
  assertEquals([handle.stats.packets, handle.stats.dropped, reported], [20, 16, 16]);
  const kept = await Array.fromAsync(session!.tracks[0].packets);
  assertEquals(kept.map((p) => p.sequenceNumber), [1, 2, 3, 4]);
});

Deno.test("RTP source: a port in use fails with the stream and the address named", async () => {
  const port = freeUdpPortPair();
  const taken = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
  try {
    const error = await assertRejects(() =>
      runRtpSource({
        stream: "cam1",
        sdp: opusSdp(port),
        idleTimeoutSec: 30,
        signal: new AbortController().signal,
        onSession: () => {},
      })
    );
    assert(
      error.message.startsWith(`RTP source of stream cam1: Cannot bind UDP 127.0.0.1:${port}`),
      error.message,
    );
  } finally {
    taken.close();
  }
});
