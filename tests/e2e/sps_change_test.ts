/**
 * A resolution change mid-stream (new SPS/PPS in band, as a publisher switching encoders sends
 * it): the recording gets a second init segment and a second DASH Period, and each Period's
 * segments decode with its own init at its own size, every frame there.
 */

import { assert, assertEquals } from "../assert.ts";
import { freeTcpPort, freeUdpPortPair, probeFrames, run } from "../helpers/media.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";

Deno.test("An SPS change mid-stream starts a new init segment and a new DASH Period", async () => {
  const dir = await Deno.makeTempDir({ prefix: "e2e-sps-" });
  try {
    for (const size of ["320x240", "640x360"]) {
      await run("ffmpeg", [
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        `testsrc=size=${size}:rate=30`,
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-profile:v",
        "baseline",
        "-bf",
        "0",
        "-g",
        "30",
        "-pix_fmt",
        "yuv420p",
        "-preset",
        "veryfast",
        "-f",
        "h264",
        `${dir}/${size}.h264`,
      ]); // deno-fmt-ignore
    }
    // One Annex B stream whose second half brings its own SPS/PPS.
    await Deno.writeFile(
      `${dir}/both.h264`,
      new Uint8Array([
        ...await Deno.readFile(`${dir}/320x240.h264`),
        ...await Deno.readFile(`${dir}/640x360.h264`),
      ]),
    );
    const port = freeUdpPortPair();
    const send = (extra: string[]) => [
      "-nostdin",
      "-v",
      "error",
      ...extra,
      "-f",
      "h264",
      "-framerate",
      "30",
      "-i",
      `${dir}/both.h264`,
      "-c",
      "copy",
      "-payload_type",
      "96",
      "-f",
      "rtp",
      `rtp://127.0.0.1:${port}?rtcpport=${port + 1}&pkt_size=1200`,
    ]; // deno-fmt-ignore
    await run("ffmpeg", [...send([]).slice(0, -1), "-frames", "1", send([]).at(-1)!, "-sdp_file", `${dir}/cam1.sdp`]);
    await Deno.writeTextFile(
      `${dir}/live777.toml`,
      `[http]
listen = "127.0.0.1:${freeTcpPort()}"
[recorder]
auto_streams = ["*"]
segment_duration = 1
idle_timeout = 1
[recorder.storage]
type = "fs"
root = "${dir}/records"
[[stream.cam1.sources]]
url = "${dir}/cam1.sdp"
`,
    );
    const recorder = new RecorderProcess(`${dir}/live777.toml`);
    try {
      await recorder.waitFor("RTP source listening");
      await run("ffmpeg", send(["-re"]));
      await recorder.waitFor("Recording finished", undefined, 10_000);
    } finally {
      assertEquals((await recorder.stop("SIGTERM")).code, 0, recorder.stderr);
    }

    const [recording] = await findRecordings(`${dir}/records`, "cam1");
    const mpd = await Deno.readTextFile(`${recording}/manifest.mpd`);
    const periods = [...mpd.matchAll(/<Period[^>]*>([\s\S]*?)<\/Period>/g)].map((m) => m[1]);
    assertEquals(periods.length, 2, mpd);
    const template = (period: string) => {
      const init = /initialization="([^"]+)"/.exec(period)![1];
      const first = Number(/startNumber="(\d+)"/.exec(period)![1]);
      const count = [...period.matchAll(/<S [^>]*\/>/g)].reduce(
        (n, m) => n + 1 + Number(/r="(\d+)"/.exec(m[0])?.[1] ?? 0),
        0,
      );
      return { init, first, count };
    };
    const sizes = [{ width: 320, height: 240 }, { width: 640, height: 360 }];
    let frames = 0;
    let expectedNumber = 1;
    for (const [index, period] of periods.entries()) {
      const { init, first, count } = template(period);
      assertEquals(init, index === 0 ? "init.m4s" : "init_2.m4s");
      assertEquals(first, expectedNumber, "segment numbers continue across Periods");
      expectedNumber += count;
      const parts = [await Deno.readFile(`${recording}/${init}`)];
      for (let n = first; n < first + count; n++) {
        parts.push(await Deno.readFile(`${recording}/seg_${String(n).padStart(4, "0")}.m4s`));
      }
      await Deno.writeFile(
        `${dir}/period${index}.mp4`,
        new Uint8Array(parts.flatMap((p) => [...p])),
      );
      const [video] = await probeFrames(`${dir}/period${index}.mp4`);
      assertEquals({ width: video.width, height: video.height }, sizes[index]);
      assert(video.frames >= 59, `period ${index}: ${video.frames} frames`);
      frames += video.frames;
    }
    assertEquals(frames, 120, "every frame of both halves");
    assert(
      /<Period id="1" start="PT2S">/.test(mpd) || /<Period id="1" start="PT1\.9\d*S">/.test(mpd),
      mpd,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
