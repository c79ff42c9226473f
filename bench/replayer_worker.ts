/**
 * The RTP replayer, run as a worker so its pacing does not share a thread with the bench's
 * measuring: sends N looped copies of the capture to N recorder (or ffmpeg) port pairs, in ticks,
 * each tick writing the due packets of every stream into one reused ring buffer and sending them
 * without per-packet allocation of buffers. Each stream has its own socket, and its packets of a
 * tick are sent one after the other: Deno's sends that are not awaited can overtake each other
 * (about 1 in 200 on loopback), and a stream reordered at its very first packets loses its first
 * GOP at a receiver that takes the first packet as the start.
 * @module
 */

/// <reference lib="deno.worker" />

import { parseCapture } from "./capture.ts";
import { StreamPacer } from "./pacer.ts";

/** One stream to replay. */
export interface ReplayStream {
  readonly videoPort: number;
  readonly audioPort: number;
  /** Delay of its first packet after the common start, ms (staggers keyframes). */
  readonly startDelayMs: number;
  readonly seed: number;
}

/** The job the worker is given. */
export interface ReplayJob {
  readonly capturePath: string;
  readonly sdp: string;
  readonly streams: readonly ReplayStream[];
  readonly durationSec: number;
  /** Tick length, ms. @default 4 */
  readonly tickMs?: number;
}

/** What the worker reports when every stream has sent its duration. */
export interface ReplayResult {
  readonly type: "done";
  /** Wall time (ms since epoch, fractional) of the first and last send. */
  readonly startMs: number;
  readonly endMs: number;
  readonly streams: {
    packets: number;
    bytes: number;
    videoFrames: number;
    audioFrames: number;
    keyframeSentMs: number[];
  }[];
  readonly sendErrors: number;
  /** How late ticks ran against their schedule, ms. */
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
}

/** Posted once the first tick is about to run. */
export interface ReplayStarted {
  readonly type: "started";
  readonly startMs: number;
}

const RING_BYTES = 32 << 20;

self.onmessage = async (event: MessageEvent<ReplayJob>) => {
  const job = event.data;
  const capture = parseCapture(await Deno.readFile(job.capturePath), job.sdp);
  const tickMs = job.tickMs ?? 4;
  const conns = job.streams.map(() =>
    Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 })
  );
  const addrs = job.streams.map((s) =>
    [s.videoPort, s.audioPort].map((port) => ({
      transport: "udp" as const,
      hostname: "127.0.0.1",
      port,
    }))
  );
  const t0Us = (performance.now() + 100) * 1000;
  const pacers = job.streams.map((s) =>
    new StreamPacer(capture, t0Us + s.startDelayMs * 1000, job.durationSec * 1e6, s.seed)
  );
  const ring = new Uint8Array(RING_BYTES);
  let at = 0;
  let sendErrors = 0;
  const lags: number[] = [];
  const onError = () => {
    sendErrors++;
    return 0;
  };
  const wall = () => performance.timeOrigin + performance.now();
  await sleep(Math.max(0, t0Us / 1000 - performance.now()));
  const startMs = wall();
  self.postMessage({ type: "started", startMs } satisfies ReplayStarted);
  let tick = 0;
  let remaining = pacers.length;
  while (remaining > 0) {
    const dueMs = t0Us / 1000 + tick * tickMs;
    const nowMs = performance.now();
    lags.push(Math.max(0, nowMs - dueMs));
    const nowUs = nowMs * 1000;
    const sends: Promise<void>[] = [];
    for (let s = 0; s < pacers.length; s++) {
      const pacer = pacers[s];
      if (pacer.done) continue;
      const batch: [Uint8Array, Deno.NetAddr][] = [];
      for (let code; (code = pacer.next(nowUs, ring, at)) >= 0;) {
        const length = code >> 1;
        batch.push([ring.subarray(at, at + length), addrs[s][code & 1]]);
        at += length;
        if (at + 2048 > RING_BYTES) {
          sends.push(sendInOrder(conns[s], batch.splice(0), onError));
          await Promise.all(sends.splice(0));
          at = 0;
        }
      }
      if (batch.length > 0) sends.push(sendInOrder(conns[s], batch, onError));
      if (pacer.done) remaining--;
    }
    if (sends.length > 0) await Promise.all(sends);
    const sentMs = wall();
    for (const pacer of pacers) pacer.stamp(sentMs);
    tick = Math.max(tick + 1, Math.floor((performance.now() * 1000 - t0Us) / 1000 / tickMs));
    await sleep(t0Us / 1000 + tick * tickMs - performance.now());
  }
  const endMs = wall();
  for (const conn of conns) conn.close();
  lags.sort((a, b) => a - b);
  self.postMessage(
    {
      type: "done",
      startMs,
      endMs,
      streams: pacers.map((p) => ({ ...p.counts, keyframeSentMs: p.keyframeSentMs })),
      sendErrors,
      lagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0,
      lagMaxMs: lags.at(-1) ?? 0,
    } satisfies ReplayResult,
  );
};

/** Sends `packets` one after the other (each send awaited, so none overtakes another). */
async function sendInOrder(
  conn: Deno.DatagramConn,
  packets: [Uint8Array, Deno.NetAddr][],
  onError: () => number,
): Promise<void> {
  for (const [data, addr] of packets) await conn.send(data, addr).catch(onError);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
