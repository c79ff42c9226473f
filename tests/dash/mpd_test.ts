import { assert, assertEquals } from "../assert.ts";
import { renderMpd } from "../../lib/dash/mpd.ts";
import { finalizeMpd } from "../../lib/dash/recovery.ts";
import type { TrackInfo } from "../../lib/types.ts";

const video: TrackInfo = {
  kind: "video",
  codec: "h264",
  timescale: 90000,
  codecString: "avc1.42c01e",
  width: 320,
  height: 240,
};
const audio: TrackInfo = {
  kind: "audio",
  codec: "opus",
  timescale: 48000,
  codecString: "opus",
  channels: 2,
  sampleRate: 48000,
};

function render(live: boolean) {
  return renderMpd({
    recordingStartUs: Date.UTC(2026, 10, 24, 12) * 1000,
    live,
    nowMs: Date.UTC(2026, 10, 24, 12, 0, 7),
    segmentDurationSec: 2,
    periods: [{
      tracks: [
        {
          info: video,
          initName: "init.m4s",
          mediaPrefix: "seg_",
          startNumber: 1,
          bytes: 750_000,
          entries: [
            { startTicks: 0, durationTicks: 180000 },
            { startTicks: 180000, durationTicks: 180000 },
            { startTicks: 360000, durationTicks: 183000 },
            // A gap: the timeline must restate t.
            { startTicks: 900000, durationTicks: 90000 },
          ],
        },
        {
          info: audio,
          initName: "audio_init.m4s",
          mediaPrefix: "audio_seg_",
          startNumber: 1,
          bytes: 48_000,
          entries: [{ startTicks: 960, durationTicks: 96000 }],
        },
      ],
    }],
  });
}

Deno.test("renderMpd writes a dynamic manifest with UTCTiming while recording", () => {
  const xml = render(true);
  assert(xml.includes(`type="dynamic"`));
  assert(xml.includes(`availabilityStartTime="2026-11-24T12:00:00.000Z"`));
  assert(
    xml.includes(
      `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="2026-11-24T12:00:07.000Z"/>`,
    ),
  );
  assert(!xml.includes("mediaPresentationDuration"));
});

Deno.test("renderMpd compresses equal durations into r and restates t after a gap", () => {
  const xml = render(false);
  const s = [...xml.matchAll(/<S [^>]*\/>/g)].map((m) => m[0]);
  assertEquals(s, [
    `<S t="0" d="180000" r="1"/>`,
    `<S d="183000"/>`,
    `<S t="900000" d="90000"/>`,
    `<S t="960" d="96000"/>`,
  ]);
});

Deno.test("renderMpd writes a static manifest with the longest track's duration when finished", () => {
  const xml = render(false);
  assert(xml.includes(`type="static"`));
  assert(xml.includes(`mediaPresentationDuration="PT11S"`), xml);
  assert(!xml.includes("UTCTiming"));
  assert(xml.includes(`media="seg_$Number%04d$.m4s"`));
  assert(xml.includes(`initialization="audio_init.m4s"`));
  assert(xml.includes(`codecs="avc1.42c01e"`) && xml.includes(`width="320" height="240"`));
  // 750000 bytes over 11 s.
  assert(xml.includes(`bandwidth="545455"`), xml);
});

Deno.test("renderMpd starts a Period with its own init and presentationTimeOffset where the init changes", () => {
  const track = (initName: string, startNumber: number, startTicks: number) => ({
    info: video,
    initName,
    mediaPrefix: "seg_",
    startNumber,
    bytes: 1000,
    entries: [{ startTicks, durationTicks: 90000 }],
  });
  const xml = renderMpd({
    recordingStartUs: 0,
    live: false,
    nowMs: 0,
    segmentDurationSec: 1,
    periods: [{ tracks: [track("init.m4s", 1, 0)] }, {
      tracks: [track("init_2.m4s", 2, 90000)],
    }],
  });
  const periods = [...xml.matchAll(/<Period id="(\d)" start="([^"]+)">/g)].map((m) => m.slice(1));
  assertEquals(periods, [["0", "PT0S"], ["1", "PT1S"]]);
  const templates = [...xml.matchAll(/<SegmentTemplate [^>]*>/g)].map((m) => m[0]);
  assert(
    templates[0].includes(`initialization="init.m4s"`) && templates[0].includes(`startNumber="1"`),
  );
  assert(!templates[0].includes("presentationTimeOffset"));
  assert(
    templates[1].includes(`initialization="init_2.m4s"`) &&
      templates[1].includes(`startNumber="2"`),
  );
  assert(templates[1].includes(`presentationTimeOffset="90000"`));
  assert(xml.includes(`mediaPresentationDuration="PT2S"`));
});

Deno.test("finalizeMpd turns a dynamic manifest into the static one the recording would have ended with", () => {
  assertEquals(finalizeMpd(render(true)), render(false));
});
