import { assert, assertEquals } from "../assert.ts";
import type { IndexedSegment } from "../../lib/liveman/index/segment_index.ts";
import { periods, primaryNode, renderRangeMpd, selectRange } from "../../lib/liveman/range_mpd.ts";

const T0 = Date.UTC(2026, 10, 24, 10, 0) * 1000;
const BASE = "http://lm.test:8888/api/record/object/";

interface Options {
  track?: "video" | "audio";
  dir?: string;
  init?: string;
  node?: string;
  /** Start, µs after T0. */
  atUs: number;
  durUs?: number;
}

/** A segment of a recording that started at T0 (so ticks count from T0). */
function seg(n: number, o: Options): IndexedSegment {
  const track = o.track ?? "video";
  const timescale = track === "video" ? 90000 : 48000;
  const durUs = o.durUs ?? 1_000_000;
  const dir = o.dir ?? "cam1/2026/11/24";
  const path = `${dir}/${track === "video" ? "seg" : "audio_seg"}_${
    String(n).padStart(4, "0")
  }.m4s`;
  return {
    id: `${o.node ?? "n1"}:${path}`,
    nodeAlias: o.node ?? "n1",
    stream: "cam1",
    track,
    startTs: T0 + o.atUs,
    endTs: T0 + o.atUs + durUs,
    durationMs: Math.round(durUs / 1000),
    path,
    isKeyframe: track === "video",
    mpdPath: `${dir}/manifest.mpd`,
    initPath: `${dir}/${o.init ?? (track === "video" ? "init.m4s" : "audio_init.m4s")}`,
    codec: track === "video" ? "avc1.42c01f" : "opus",
    timescale,
    startTicks: Math.round(o.atUs * timescale / 1e6),
    durationTicks: Math.round(durUs * timescale / 1e6),
    width: track === "video" ? 320 : undefined,
    height: track === "video" ? 240 : undefined,
    sampleRate: track === "audio" ? 48000 : undefined,
    channels: track === "audio" ? 2 : undefined,
    size: 1000,
    frames: track === "video" ? 30 : 50,
    createdAt: "2026-11-24T10:00:05.000Z",
  };
}

/** Video segment n at n−1 s; audio segment n starting 5 ms after it (first frame past the cut). */
function recording(count: number, o: Partial<Options> = {}): IndexedSegment[] {
  const out: IndexedSegment[] = [];
  for (let n = 1; n <= count; n++) {
    const at = (o.atUs ?? 0) + (n - 1) * 1_000_000;
    out.push(seg(n, { ...o, atUs: at, track: "video" }));
    out.push(seg(n, { ...o, atUs: at + (n === 1 ? 0 : 5000), track: "audio", init: undefined }));
  }
  return out;
}

Deno.test("selectRange keeps whole segments and not audio that only pokes into the range", () => {
  const all = recording(5);
  const names = (list: IndexedSegment[]) => list.map((s) => s.path.split("/").at(-1)).sort();
  // [video 2 start, video 3 end): audio 1 ends 5 ms into the range and is left out.
  const v = all.filter((s) => s.track === "video");
  assertEquals(names(selectRange(all, v[1].startTs, v[2].endTs)), [
    "audio_seg_0002.m4s",
    "audio_seg_0003.m4s",
    "seg_0002.m4s",
    "seg_0003.m4s",
  ]);
  // A start inside video 2 starts at its keyframe.
  assertEquals(names(selectRange(all, v[1].startTs + 400_000, v[1].startTs + 600_000)), [
    "audio_seg_0002.m4s",
    "seg_0002.m4s",
  ]);
  // Open ends take everything.
  assertEquals(selectRange(all).length, 10);
  // Audio-only: audio is the main track.
  const audio = all.filter((s) => s.track === "audio");
  assertEquals(names(selectRange(audio, audio[1].startTs + 1, audio[1].startTs + 2)), [
    "audio_seg_0002.m4s",
  ]);
});

Deno.test("selectRange ignores a main-track overlap of a millisecond (a rounded end)", () => {
  const all = recording(3);
  const v = all.filter((s) => s.track === "video");
  // Video 1 ends 1 ms into video 2, as a reporter that rounds or guesses a last frame may say.
  const list = all.map((s) => s === v[0] ? { ...s, endTs: s.endTs + 1000 } : s);
  const chosen = selectRange(list, v[1].startTs, v[1].endTs);
  assertEquals(chosen.map((s) => s.path.split("/").at(-1)).sort(), [
    "audio_seg_0002.m4s",
    "seg_0002.m4s",
  ]);
});

Deno.test("selectRange keeps audio that starts before the first video keyframe", () => {
  const all = recording(2);
  // Audio pre-roll: the recording's first audio segment starts 200 ms before the video.
  const preroll = { ...all[1], startTs: all[1].startTs - 200_000 };
  const list = [all[0], preroll, ...all.slice(2)];
  const chosen = selectRange(list, T0 - 1_000_000, T0 + 1_000_000);
  assertEquals(chosen.map((s) => s.track).sort(), ["audio", "video"]);
  const fromInside = selectRange(list, T0 + 100_000, T0 + 900_000);
  assertEquals(fromInside.map((s) => s.track).sort(), ["audio", "video"]);
});

Deno.test("periods split at a new recording, an init change and a gap", () => {
  const first = recording(4).map((s) =>
    s.startTs >= T0 + 2_000_000 && s.track === "video" ? { ...s, initPath: `${s.initPath}_2` } : s
  );
  const second = recording(2, { dir: "cam1/2026/11/24/1795000000", atUs: 60_000_000 });
  const gapped = [
    ...recording(1, { dir: "cam1/2026/11/25", atUs: 90_000_000 }),
    ...recording(1, { dir: "cam1/2026/11/25", atUs: 95_000_000 }).map((s) => ({
      ...s,
      path: s.path.replace("_0001", "_0002"),
    })),
  ];
  const parts = periods([...gapped, ...second, ...first]);
  const shape = parts.map((p) => p.segments.map((s) => `${s.track[0]}${s.path.slice(-6, -4)}`));
  assertEquals(shape, [
    ["v01", "a01", "v02", "a02"],
    ["v03", "a03", "v04", "a04"],
    ["v01", "a01", "v02", "a02"],
    ["v01", "a01"],
    ["v02", "a02"],
  ]);
});

Deno.test("renderRangeMpd lists exact tick timelines, Periods back to back, absolute URLs", () => {
  const first = recording(3);
  const second = recording(2, { dir: "cam 1/2026/11/24/17&", atUs: 60_000_000 });
  const xml = renderRangeMpd([...first, ...second], { baseUrl: BASE })!;
  assert(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<MPD `), xml);
  assert(xml.includes(`type="static"`));
  // Each Period lasts until its last audio segment ends, 5 ms past the video.
  assert(xml.includes(`mediaPresentationDuration="PT5.01S"`), xml);
  assert(xml.includes(`<BaseURL>${BASE}</BaseURL>`));
  assert(xml.includes(`<Period id="0" start="PT0S" duration="PT3.005S">`), xml);
  // The second recording plays right after the first, without the minute between them.
  assert(xml.includes(`<Period id="1" start="PT3.005S" duration="PT2.005S">`), xml);
  assertEquals(xml.match(/<AdaptationSet /g)?.length, 4);
  assert(xml.includes(`codecs="avc1.42c01f" bandwidth="8000" width="320" height="240"`), xml);
  assert(xml.includes(`<Initialization sourceURL="cam1/2026/11/24/init.m4s"/>`));
  // Keys are percent-encoded per part and XML-escaped.
  assert(
    xml.includes(`<SegmentURL media="cam%201/2026/11/24/17%26/seg_0001.m4s"/>`),
    xml,
  );
  // Video: three equal segments from tick 0; audio: 1.000 s then 1.005 s starts.
  assert(xml.includes(`<S t="0" d="90000" r="2"/>`), xml);
  assert(xml.includes(`<S t="0" d="48000"/>`), xml);
  assert(xml.includes(`<S t="48240" d="48000" r="1"/>`), xml);
  // The second recording's ticks start at 60 s: presentationTimeOffset maps them to 0.
  assert(xml.includes(`<SegmentList timescale="90000" presentationTimeOffset="5400000">`), xml);
  assert(xml.includes(`<S t="5400000" d="90000" r="1"/>`), xml);
  assertEquals(renderRangeMpd([], { baseUrl: BASE }), undefined);
});

Deno.test("renderRangeMpd falls back to microseconds for Live777's basic reports", () => {
  const basic = recording(2).filter((s) => s.track === "video").map((s): IndexedSegment => ({
    id: s.id,
    nodeAlias: s.nodeAlias,
    stream: s.stream,
    track: s.track,
    startTs: s.startTs,
    endTs: s.endTs,
    durationMs: s.durationMs,
    path: s.path,
    isKeyframe: true,
    createdAt: s.createdAt,
  }));
  const xml = renderRangeMpd(basic, { baseUrl: BASE })!;
  assert(xml.includes(`<SegmentList timescale="1000000" presentationTimeOffset="0">`), xml);
  assert(xml.includes(`<S t="0" d="1000000" r="1"/>`), xml);
  assert(!xml.includes("<Initialization"), xml);
});

Deno.test("primaryNode picks the node that covers most of the range", () => {
  const a = recording(2, { node: "a" });
  const b = recording(3, { node: "b", dir: "cam1/2026/11/24/1795000000" });
  assertEquals(primaryNode([...a, ...b]), "b");
  assertEquals(primaryNode([]), undefined);
});
