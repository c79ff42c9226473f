/**
 * The recorder's JS cost per packet without sockets or disks: N sessions fed from the capture
 * in media order (as fast as the pipeline takes them, with backpressure) through the real
 * `recordStream`, into a storage that keeps nothing. A tool for profiling the hot path:
 * `deno run -A [--cpu-prof] bench/pipeline_micro.ts [streams] [seconds]`.
 * @module
 */

import { ensureCapture } from "./capture.ts";
import { StreamPacer } from "./pacer.ts";
import { recordStream } from "../lib/pipeline.ts";
import { parseRtp } from "../lib/rtp/packet.ts";
import type { IngestSession, IngestTrack, RtpPacket, Storage } from "../lib/types.ts";

/** A storage that keeps nothing (the segments' bytes are counted). */
class NullStorage implements Storage {
  readonly description = "null";
  bytes = 0;
  put(_key: string, data: Uint8Array): Promise<void> {
    this.bytes += data.length;
    return Promise.resolve();
  }
  get(): Promise<Uint8Array | null> {
    return Promise.resolve(null);
  }
  exists(): Promise<boolean> {
    return Promise.resolve(false);
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
  list(): Promise<string[]> {
    return Promise.resolve([]);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function track(
  kind: "video" | "audio",
): IngestTrack & { controller: ReadableStreamDefaultController<RtpPacket> } {
  let controller!: ReadableStreamDefaultController<RtpPacket>;
  const packets = new ReadableStream<RtpPacket>({ start: (c) => void (controller = c) }, {
    highWaterMark: 8192,
  });
  return {
    kind,
    codec: kind === "video" ? "h264" : "opus",
    clockRate: kind === "video" ? 90000 : 48000,
    payloadType: kind === "video" ? 96 : 97,
    channels: kind === "audio" ? 2 : undefined,
    packets,
    senderReport: undefined,
    requestKeyframe() {},
    controller,
  };
}

/** Runs the micro-benchmark; returns µs of process CPU per packet. */
export async function pipelineMicro(streams: number, seconds: number): Promise<number> {
  const capture = await ensureCapture(console.error);
  const storage = new NullStorage();
  const sessions = Array.from({ length: streams }, (_, i) => {
    const tracks = [track("video"), track("audio")];
    const session: IngestSession = { stream: `s${i}`, tracks, close: () => {} };
    const pacer = new StreamPacer(capture, (i * 2e6) / streams, seconds * 1e6, i + 1);
    return {
      tracks,
      pacer,
      ...recordStream(session, { storage, segmentDurationSec: 2, events: new WritableStream() }),
    };
  });
  const buffer = new Uint8Array(2048);
  let packets = 0;
  const cpu0 = performance.now();
  const t0 = Deno.readTextFileSync("/proc/self/stat");
  const main0 = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`);
  // Virtual time: 10 ms of media per round, then let the pipeline run.
  for (let nowUs = 0; sessions.some((s) => !s.pacer.done); nowUs += 10_000) {
    for (const s of sessions) {
      for (let code; (code = s.pacer.next(nowUs, buffer, 0)) >= 0;) {
        const packet = parseRtp(buffer.slice(0, code >> 1), Math.round(nowUs));
        s.tracks[code & 1].controller.enqueue(packet);
        packets++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  for (const s of sessions) for (const t of s.tracks) t.controller.close();
  await Promise.all(sessions.map((s) => s.done));
  const wallMs = performance.now() - cpu0;
  const ticks = (stat: string) => {
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  const cpuMs = (ticks(Deno.readTextFileSync("/proc/self/stat")) - ticks(t0)) * 10;
  const mainMs = (ticks(Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`)) - ticks(main0)) *
    10;
  console.log(
    `${streams} streams × ${seconds} s: ${packets} packets, ${storage.bytes} bytes stored, ` +
      `wall ${wallMs.toFixed(0)} ms, CPU ${cpuMs} ms = ${
        (cpuMs * 1000 / packets).toFixed(2)
      } µs/packet, ` +
      `${(cpuMs / 1000 / (streams * seconds) * 100).toFixed(3)} % of a core per stream; ` +
      `main thread ${(mainMs * 1000 / packets).toFixed(2)} µs/packet`,
  );
  return cpuMs * 1000 / packets;
}

if (import.meta.main) {
  await pipelineMicro(Number(Deno.args[0] ?? 50), Number(Deno.args[1] ?? 20));
}
