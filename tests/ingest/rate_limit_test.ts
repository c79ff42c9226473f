import { assert, assertEquals } from "../assert.ts";
import { limitSession, type RateExceeded } from "../../lib/ingest/rate_limit.ts";
import { Recorder } from "../../lib/recorder.ts";
import { FsStorage } from "../../lib/storage/fs.ts";
import type { IngestSession, RtpPacket } from "../../lib/types.ts";
import { rtp } from "../rtp/build_rtp.ts";
import { type CapturedLine, captureLogger, syntheticSession, tree } from "../http/helpers.ts";

/** An audio-only session of `count` packets of `size` bytes, `perSecond` of them a second. */
function audioSession(count: number, size: number, perSecond: number) {
  let closed = false;
  const t0 = 1_700_000_000_000_000;
  const packets: RtpPacket[] = Array.from(
    { length: count },
    (_, i) =>
      rtp({
        seq: i,
        ts: i * 960,
        payloadType: 111,
        payload: new Uint8Array(size).fill(0xfc),
      }, t0 + Math.floor(i * 1e6 / perSecond)),
  );
  const session: IngestSession = {
    stream: "mic",
    tracks: [{
      kind: "audio",
      codec: "opus",
      clockRate: 48000,
      payloadType: 111,
      packets: ReadableStream.from(packets),
      senderReport: undefined,
      requestKeyframe() {},
    }],
    close: () => void (closed = true),
  };
  return { session, isClosed: () => closed };
}

Deno.test("limitSession drops what a source sends over max_packet_rate, window by window, and says so", async () => {
  // 100 packets a second for 5 s against a limit of 60 a second.
  const { session, isClosed } = audioSession(500, 50, 100);
  const events: RateExceeded[] = [];
  const limited = limitSession(session, {
    maxBitrate: 1e9,
    maxPacketRate: 60,
    action: "drop",
    onExceeded: (e) => events.push(e),
    reportIntervalMs: 2000,
  });
  const passed = await Array.fromAsync(limited.tracks[0].packets);
  assertEquals(passed.length, 300, "60 in each of the 5 seconds");
  assertEquals(isClosed(), false);
  assertEquals(events.length, 3, "reported at most every 2 s");
  assertEquals([events[0].stream, events[0].packetRate, events[0].action], ["mic", 61, "drop"]);
});

Deno.test("limitSession counts all tracks of a session together and keeps the tracks' other fields", async () => {
  const session = syntheticSession("cam1", { frames: 90, fps: 0 });
  const limited = limitSession(session, {
    maxBitrate: 1e9,
    maxPacketRate: 1000,
    action: "close",
    onExceeded: () => {},
  });
  const track = limited.tracks[0];
  assertEquals([track.kind, track.codec, track.clockRate], ["video", "h264", 90000]);
  assertEquals(limited.stream, "cam1");
  assertEquals(limited.closed, session.closed);
  assertEquals((await Array.fromAsync(track.packets)).length, 93, "under the limits: all pass");
});

Deno.test("A WHIP session over max_bitrate is closed, logged with stream and rate, and its recording finalized", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rate-" });
  const lines: CapturedLine[] = [];
  const log = captureLogger(lines);
  const recorder = new Recorder({
    storage: new FsStorage({ root: `${dir}/records` }),
    segmentDurationSec: 1,
    events: () => new WritableStream(),
    log,
  });
  // 10 s of 1200-byte audio packets, 50 a second: 480 kbit/s against a limit of 200 kbit/s.
  const { session, isClosed } = audioSession(500, 1200, 50);
  const limited = limitSession(session, {
    maxBitrate: 200_000,
    maxPacketRate: 10_000,
    action: "close",
    onExceeded: (e) =>
      log.warn("Session exceeds max_bitrate or max_packet_rate: closed", {
        stream: e.stream,
        bitrate: e.bitrate,
      }),
  });
  await recorder.record(limited);
  assert(isClosed(), "the session was closed");
  const warning = lines.find((l) => l.message.startsWith("Session exceeds"));
  assertEquals(warning?.fields.stream, "mic");
  assert((warning?.fields.bitrate as number) > 200_000, JSON.stringify(warning));
  // What came before the limit was hit is recorded, and the manifest is final.
  const files = await tree(`${dir}/records`);
  const manifest = files.find((f) => f.endsWith("manifest.mpd"))!;
  const mpd = await Deno.readTextFile(`${dir}/records/${manifest}`);
  assert(mpd.includes(`type="static"`), mpd);
  assert(files.some((f) => f.endsWith("audio_seg_0001.m4s")), files.join("\n"));
  await Deno.remove(dir, { recursive: true });
});
