/**
 * A loopback UDP proxy that impairs RTP like a bad network: random loss, duplicates, jitter
 * (a random delay per packet, which reorders them) and packets held back behind later ones.
 * Seeded, so a run can be replayed. It records the fate of every RTP packet it forwards; RTCP
 * passes untouched.
 * @module
 */

/** What the proxy does to packets; probabilities per RTP packet. */
export interface Impairment {
  loss: number;
  duplicate: number;
  /** Each packet is delayed by a uniform random time in [0, jitterMs]. */
  jitterMs: number;
  /** Probability that a packet waits until `reorderPackets` later packets have passed. */
  reorder: number;
  reorderPackets: number;
  /** A held packet goes out after this long at the latest. */
  reorderMaxMs: number;
  /** The first this many ms after the first packet pass untouched (the first keyframe arrives). */
  graceMs: number;
}

/** One RTP packet the sender sent, and what became of it. */
export interface PacketFate {
  sequenceNumber: number;
  timestamp: number;
  dropped: boolean;
  /** How many later packets of the same flow went out before it. */
  displacement: number;
}

/** One impaired flow: a port the sender sends to, and where the proxy forwards. */
export interface ProxyFlow {
  /** The port the sender sends to (RTP; RTCP is port + 1). */
  listenPort: number;
  /** The recorder's RTP port (RTCP is port + 1). */
  targetPort: number;
}

/** A running proxy. */
export interface ImpairmentProxy {
  /** Per flow (in the order given), every RTP packet in the order the sender sent them. */
  readonly fates: PacketFate[][];
  /** Resolves once the sockets are closed and every delayed packet went out. */
  close(): Promise<void>;
}

/** Starts forwarding `flows` with `impairment`, randomized by `seed`. */
export function startImpairmentProxy(
  flows: ProxyFlow[],
  impairment: Impairment,
  seed: number,
): ImpairmentProxy {
  let state = seed || 1;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  const fates: PacketFate[][] = flows.map(() => []);
  const timers = new Set<Promise<void>>();
  const sockets: Deno.DatagramConn[] = [];
  let firstPacketMs: number | undefined;
  let closed = false;

  const forward = (conn: Deno.DatagramConn, data: Uint8Array, port: number, delayMs: number) => {
    const sent = new Promise<void>((resolve) =>
      setTimeout(() => {
        conn.send(data, { transport: "udp", hostname: "127.0.0.1", port }).catch(() => {})
          .finally(resolve);
      }, delayMs)
    );
    timers.add(sent);
    sent.then(() => timers.delete(sent));
  };

  const loops = flows.flatMap((flow, index) => {
    const rtp = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: flow.listenPort,
    });
    const rtcp = Deno.listenDatagram({
      transport: "udp",
      hostname: "127.0.0.1",
      port: flow.listenPort + 1,
    });
    sockets.push(rtp, rtcp);
    /** Packets waiting behind later ones: fate and the number of packets still to pass. */
    const held: {
      fate: PacketFate;
      data: Uint8Array;
      left: number;
      timer?: ReturnType<typeof setTimeout>;
    }[] = [];
    const release = (entry: (typeof held)[number]) => {
      held.splice(held.indexOf(entry), 1);
      clearTimeout(entry.timer);
      forward(rtp, entry.data, flow.targetPort, random() * impairment.jitterMs);
    };
    const rtpLoop = async () => {
      for await (const [data] of rtp) {
        if (closed || data.length < 12) continue;
        const fate: PacketFate = {
          sequenceNumber: (data[2] << 8) | data[3],
          timestamp: ((data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7]) >>> 0,
          dropped: false,
          displacement: 0,
        };
        fates[index].push(fate);
        for (const entry of [...held]) {
          entry.fate.displacement++;
          if (--entry.left <= 0) release(entry);
        }
        firstPacketMs ??= performance.now();
        if (performance.now() - firstPacketMs < impairment.graceMs) {
          forward(rtp, data, flow.targetPort, 0);
          continue;
        }
        if (random() < impairment.loss) {
          fate.dropped = true;
          continue;
        }
        if (random() < impairment.reorder) {
          const entry: (typeof held)[number] = { fate, data, left: impairment.reorderPackets };
          entry.timer = setTimeout(() => release(entry), impairment.reorderMaxMs);
          held.push(entry);
          continue;
        }
        forward(rtp, data, flow.targetPort, random() * impairment.jitterMs);
        if (random() < impairment.duplicate) {
          forward(rtp, data, flow.targetPort, random() * impairment.jitterMs);
        }
      }
    };
    const rtcpLoop = async () => {
      for await (const [data] of rtcp) {
        if (!closed) forward(rtcp, data, flow.targetPort + 1, 0);
      }
    };
    return [rtpLoop().catch(() => {}), rtcpLoop().catch(() => {})];
  });

  let closing: Promise<void> | undefined;
  return {
    fates,
    close: () =>
      closing ??= (async () => {
        // Let delayed and held packets go out first.
        await new Promise((r) => setTimeout(r, impairment.reorderMaxMs + impairment.jitterMs + 50));
        await Promise.all([...timers]);
        closed = true;
        for (const socket of sockets) socket.close();
        await Promise.all(loops);
      })(),
  };
}
