import { assert, assertEquals } from "./assert.ts";
import { type LiveRecorder, LiveStreams } from "../lib/live_streams.ts";
import type { Logger } from "../lib/log.ts";
import type { RecordingInfo, RecordingOutcome } from "../lib/recorder.ts";
import type { IngestSession, RtpPacket } from "../lib/types.ts";

const quiet: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  enabled: () => false,
  child: () => quiet,
};

/** A session whose one video track carries what `push` sends, until `end()`. */
function session(stream: string) {
  let controller!: ReadableStreamDefaultController<RtpPacket>;
  let sequenceNumber = 0;
  let keyframeRequests = 0;
  const s = {
    stream,
    closed: false,
    tracks: [{
      kind: "video" as const,
      codec: "h264" as const,
      clockRate: 90000,
      payloadType: 96,
      senderReport: undefined,
      requestKeyframe: () => void keyframeRequests++,
      packets: new ReadableStream<RtpPacket>({ start: (c) => void (controller = c) }, {
        highWaterMark: 64,
      }),
    }],
    close() {
      this.closed = true;
      controller.close();
    },
    push(bytes: number) {
      controller.enqueue({
        payloadType: 96,
        sequenceNumber: sequenceNumber++,
        timestamp: 0,
        ssrc: 1,
        marker: true,
        payload: new Uint8Array(bytes),
        arrivalUs: 0,
      });
    },
    get keyframeRequests() {
      return keyframeRequests;
    },
  };
  return s;
}

/** A recorder that reads every packet of the session it records and counts them as frames. */
class FakeRecorder implements LiveRecorder {
  readonly received: number[][] = [];
  #recordings = new Map<
    string,
    { info: RecordingInfo; session: IngestSession; done: Promise<RecordingOutcome> }
  >();

  has(stream: string): boolean {
    return this.#recordings.has(stream);
  }
  get(stream: string): RecordingInfo | undefined {
    return this.#recordings.get(stream)?.info;
  }
  record(session: IngestSession): Promise<RecordingOutcome> {
    const segmenter = {
      framesIn: 0,
      framesOut: 0,
      framesDropped: 0,
      segments: 0,
      keyframeRequests: 0,
    };
    const info: RecordingInfo = {
      stream: session.stream,
      startedAt: new Date().toISOString(),
      recordingKey: `${session.stream}/2026/11/24`,
      stats: { segmenter, tracks: [], stored: { segments: 0, bytes: 0 } },
    };
    const sizes: number[] = [];
    this.received.push(sizes);
    const done = (async (): Promise<RecordingOutcome> => {
      session.tracks[0].requestKeyframe();
      for await (const packet of session.tracks[0].packets) {
        sizes.push(packet.payload.length);
        segmenter.framesIn++;
        segmenter.framesOut++;
        info.stats.stored.bytes += packet.payload.length;
      }
      this.#recordings.delete(session.stream);
      return { info };
    })();
    this.#recordings.set(session.stream, { info, session, done });
    return done;
  }
  async stop(stream: string): Promise<boolean> {
    const recording = this.#recordings.get(stream);
    if (!recording) return false;
    recording.session.close();
    await recording.done;
    return true;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

Deno.test("LiveStreams keeps an unrecorded session live, records it on demand, and stops without ending it", async () => {
  const recorder = new FakeRecorder();
  const live = new LiveStreams({ recorder, log: quiet });
  const cam = session("cam1");
  const ended = live.add(cam, false);
  assert(ended, "taken");
  assertEquals(live.add(session("CAM1"), false), undefined, "one session per stream");
  cam.push(100);
  cam.push(100);
  await tick();
  let state = live.state("cam1");
  assertEquals([state.live, state.recording, state.totals.packetsIn, state.totals.bytesIn], [
    true,
    false,
    2,
    200,
  ]);
  assertEquals(recorder.received, []);

  assertEquals(live.startRecording("cam2"), "not live");
  assertEquals(live.startRecording("cam1"), "started");
  assertEquals(live.startRecording("cam1"), "already recording");
  assertEquals(live.counts, { live: 1, recording: 1 });
  cam.push(10);
  cam.push(20);
  await tick();
  state = live.state("cam1");
  assertEquals([state.recording, state.recordingKey, state.frames?.written], [
    true,
    "cam1/2026/11/24",
    2,
  ]);
  assertEquals(cam.keyframeRequests, 1, "the recording's keyframe request reaches the publisher");

  assert(await live.stopRecording("cam1"));
  assertEquals(cam.closed, false, "the publisher stays connected");
  assertEquals(await live.stopRecording("cam1"), false);
  cam.push(30);
  await tick();
  state = live.state("cam1");
  assertEquals([state.live, state.recording], [true, false]);
  assertEquals(recorder.received, [[10, 20]]);
  assertEquals(state.totals.framesWritten, 2, "the ended recording's counters stay in the totals");
  assertEquals(state.totals.bytesIn, 260);

  // A second recording of the same session, ended by the session.
  assertEquals(live.startRecording("cam1"), "started");
  cam.push(40);
  await tick();
  cam.close();
  await ended;
  state = live.state("cam1");
  assertEquals([state.live, state.recording, state.totals.recordings], [false, false, 2]);
  assertEquals(recorder.received, [[10, 20], [40]]);
  assertEquals(state.totals.framesWritten, 3);
  assertEquals(live.startRecording("cam1"), "not live");
  assertEquals(live.list().map((s) => s.stream), ["cam1"]);
  // A new session of the stream is taken again.
  const again = session("cam1");
  const endedAgain = live.add(again, true);
  assert(endedAgain);
  again.push(5);
  await tick();
  assertEquals(live.state("cam1").totals.recordings, 3);
  again.close();
  await endedAgain;
  assertEquals(recorder.received.at(-1), [5]);
});

Deno.test("LiveStreams passes backpressure on to the ingest while recording", async () => {
  const cam = session("cam1");
  let consumed = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const info: RecordingInfo = {
    stream: "cam1",
    startedAt: new Date().toISOString(),
    recordingKey: undefined,
    stats: {
      segmenter: { framesIn: 0, framesOut: 0, framesDropped: 0, segments: 0, keyframeRequests: 0 },
      tracks: [],
      stored: { segments: 0, bytes: 0 },
    },
  };
  const slow: LiveRecorder = {
    has: () => false,
    get: () => undefined,
    stop: () => Promise.resolve(false),
    record: async (s) => {
      const reader = s.tracks[0].packets.getReader();
      await gate;
      while (!(await reader.read()).done) consumed++;
      return { info };
    },
  };
  const live = new LiveStreams({ recorder: slow, log: quiet });
  const ended = live.add(cam, true)!;
  for (let i = 0; i < 200; i++) cam.push(1);
  await tick();
  // Only what the attached stream (a queue of 64) and the tap hold has been taken from the
  // ingest's queue.
  const taken = live.state("cam1").totals.packetsIn;
  assert(taken <= 66, `taken ${taken}`);
  release();
  await tick();
  cam.close();
  await ended;
  assertEquals(consumed, 200);
  assertEquals(live.state("cam1").totals.packetsIn, 200);
  assertEquals(live.counts, { live: 0, recording: 0 });
});
