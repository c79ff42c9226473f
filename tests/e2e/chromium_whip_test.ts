/**
 * Chromium as a real WHIP publisher: its fake camera and microphone, VP8 and VP9 chosen with
 * `setCodecPreferences`, published to the recorder program writing WebM and to one writing fMP4,
 * all inside a network namespace of its own (Chromium offers every interface's address). The
 * recordings hold what Chromium says it encoded, every video segment starts on a key frame, and
 * Chromium plays each recording back through MSE (dash.js) with a picture on screen — except VP8
 * in MP4, which Chromium's MSE does not take (`video/mp4; codecs="vp08…"`): that one is read by
 * ffprobe only.
 *
 * Chromium's sessions connect one at a time: werift 0.25.2, the recorder's DTLS client, answers
 * Chromium's retransmitted DTLS flight 4 with a new flight 5, and may then derive other SRTP keys
 * than Chromium's (an empty recording, both sides "connected"); see `helpers/chromium_whip.ts`.
 */

import { assert, assertEquals } from "../assert.ts";
import { type ChromiumWhipCase, runChromiumWhipIn } from "../helpers/chromium_whip.ts";
import { probeFrames, probePackets } from "../helpers/media.ts";
import { NetworkNamespace } from "../helpers/netns.ts";

const CHROMIUM = "/usr/bin/chromium";
const PUBLISH_SEC = 4;
const CASES: readonly ChromiumWhipCase[] = [
  { codec: "vp8", container: "webm", play: true },
  { codec: "vp9", container: "webm", play: true },
  { codec: "vp8", container: "fmp4", play: false },
  { codec: "vp9", container: "fmp4", play: true },
];

/** The video segments a manifest lists, each with the init segment of its Period. */
async function videoSegments(recording: string): Promise<{ init: string; media: string }[]> {
  const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
  const segments = [];
  for (
    const [set] of mpd.matchAll(/<AdaptationSet [^>]*contentType="video"[\s\S]*?<\/AdaptationSet>/g)
  ) {
    const template =
      /<SegmentTemplate [^>]*initialization="([^"]+)" media="([^"]+)" startNumber="(\d+)"/
        .exec(set);
    assert(template, set);
    const [, init, media, startNumber] = template;
    let count = 0;
    for (const [, attributes] of set.matchAll(/<S ([^>]*)\/>/g)) {
      count += 1 + Number(/\br="(\d+)"/.exec(attributes)?.[1] ?? 0);
    }
    for (let n = Number(startNumber); n < Number(startNumber) + count; n++) {
      const name = media.replace("$Number%04d$", String(n).padStart(4, "0"));
      segments.push({ init: `${recording}/${init}`, media: `${recording}/${name}` });
    }
  }
  return segments;
}

/** True when the first video packet of init + media segment is a key frame. */
async function startsWithKeyframe(init: string, media: string, scratch: string): Promise<boolean> {
  const joined = `${scratch}/joined${media.slice(media.lastIndexOf("."))}`;
  const bytes = [await Deno.readFile(init), await Deno.readFile(media)];
  await Deno.writeFile(joined, new Uint8Array([...bytes[0], ...bytes[1]]));
  const first = (await probePackets(joined)).find((p) => p.codecType === "video");
  return first?.keyframe === true;
}

Deno.test({
  name: "Chromium publishing VP8 and VP9 over WHIP is recorded as WebM and fMP4 and plays back",
  async fn() {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(`${CHROMIUM} is missing: apt-get install chromium (tests/run.sh does)`);
    }
    const dir = await Deno.makeTempDir({ prefix: "chromium-whip-" });
    const ns = await NetworkNamespace.create();
    let result;
    try {
      result = await runChromiumWhipIn(ns, {
        dir,
        hostAddress: ns.address,
        publishSec: PUBLISH_SEC,
        cases: CASES,
      });
    } finally {
      await ns.delete();
    }
    assert(!result.error, result.error);
    assertEquals(result.recorderExitCodes, { webm: 0, fmp4: 0 });

    for (const r of result.cases) {
      const what = `${r.codec} in ${r.container}`;
      const sent = r.sent!;
      assertEquals(sent.answerCodec, r.codec.toUpperCase(), what);
      assertEquals(sent.deleteStatus, 200, what);
      // Chromium offered nothing but the namespace's addresses.
      for (const address of sent.candidateAddresses) {
        assert(["127.0.0.1", ns.address].includes(address), `${what}: candidate ${address}`);
      }
      // The fake camera runs at 20 fps here: well over half of that is a real publication.
      assert(sent.framesEncoded >= PUBLISH_SEC * 10, `${what}: ${JSON.stringify(sent)}`);

      // An empty recording with media sent: see the werift DTLS note in chromium_whip.ts.
      assert(r.recording, `${what}: no recording; Chromium sent ${JSON.stringify(sent)}`);
      const probed = await probeFrames(`${r.recording}/manifest.mpd`);
      const video = probed.find((s) => s.codecType === "video");
      const audio = probed.find((s) => s.codecType === "audio");
      assertEquals([video?.codecName, video?.width, video?.height], [
        r.codec,
        sent.frameWidth,
        sent.frameHeight,
      ], what);
      assert(
        video!.frames >= 0.8 * sent.framesEncoded && video!.frames <= sent.framesEncoded,
        `${what}: ${video!.frames} frames recorded of ${sent.framesEncoded} encoded`,
      );
      assert(
        audio && audio.frames >= 0.8 * sent.audioPacketsSent &&
          audio.frames <= sent.audioPacketsSent,
        `${what}: ${audio?.frames} Opus frames recorded of ${sent.audioPacketsSent} sent`,
      );

      const segments = await videoSegments(r.recording);
      assert(segments.length >= PUBLISH_SEC - 1, `${what}: ${segments.length} video segments`);
      for (const { init, media } of segments) {
        assert(
          await startsWithKeyframe(init, media, dir),
          `${what}: ${media} starts on a key frame`,
        );
      }

      if (!r.play) continue;
      const playback = r.playback!;
      assert(!playback.error, `${what}: ${playback.error}`);
      assert(playback.currentTime > 1.5, `${what}: played to ${playback.currentTime} s`);
      assert(
        playback.variance > 200,
        `${what}: a picture, not a blank frame: ${JSON.stringify(playback)}`,
      );
    }
    await Deno.remove(dir, { recursive: true });
  },
});
