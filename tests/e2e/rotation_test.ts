/**
 * Rotation (`max_recording_seconds`): one long session becomes several recordings, each with
 * its own directory and static manifest, and together they hold every frame that was sent.
 */

import { assert, assertEquals } from "../assert.ts";
import { makeSource, probeFrames } from "../helpers/media.ts";
import { findRecordings } from "../helpers/records.ts";
import { recordWithProgram } from "../helpers/rtp_recording.ts";

Deno.test("max_recording_seconds rotates into new recordings that together hold every frame", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-rotation-" });
  try {
    // Keyframes every 25 frames (0.83 s) sit a third of a second or more from each 2 s limit,
    // so arrival jitter cannot move a cut: recordings of 0–2.5 s, 2.5–5 s and 5–6 s.
    const path = `${dir}/source.mkv`;
    await makeSource(path, { seconds: 6, gop: 25 });
    const sent = await probeFrames(path);
    const source = {
      path,
      videoFrames: sent.find((s) => s.codecType === "video")!.frames,
      audioFrames: sent.find((s) => s.codecType === "audio")!.frames,
    };
    await recordWithProgram(
      dir,
      source,
      `type = "fs"\nroot = "${dir}/records"`,
      {},
      { max_recording_seconds: 2 },
    );
    const recordings = await findRecordings(`${dir}/records`, "cam1");
    assertEquals(recordings.length, 3, recordings.join(" "));
    // The first takes the day directory, the later ones a directory named for their start.
    assert(/\/\d{4}\/\d{2}\/\d{2}$/.test(recordings[0]), recordings[0]);
    for (const later of recordings.slice(1)) assert(/\/\d{2}\/\d{10}$/.test(later), later);
    let video = 0;
    let audio = 0;
    for (const recording of recordings) {
      const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
      assert(mpd.includes(`type="static"`), mpd);
      const seconds = Number(/mediaPresentationDuration="PT([\d.]+)S"/.exec(mpd)![1]);
      assert(seconds <= 2.6, `${recording} lasts ${seconds} s`);
      const frames = await probeFrames(`${recording}/manifest.mpd`);
      video += frames.find((s) => s.codecType === "video")!.frames;
      audio += frames.find((s) => s.codecType === "audio")!.frames;
    }
    assertEquals(video, source.videoFrames, "every video frame, in exactly one recording");
    assertEquals(audio, source.audioFrames, "every audio frame, in exactly one recording");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
