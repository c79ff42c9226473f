/**
 * A full disk under one stream's directory (a tiny tmpfs mounted there): that stream's
 * recording fails with an error naming the stream and the cause, its files stay whole and
 * playable, and the other stream records every frame.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  freeUdpPortPair,
  makeSource,
  probeFrames,
  rtpOutputs,
  rtpSdp,
  run,
} from "../helpers/media.ts";
import { writeTestConfig } from "../helpers/config.ts";
import { RecorderProcess } from "../helpers/recorder_process.ts";
import { findRecordings } from "../helpers/records.ts";

Deno.test("A full disk fails one stream's recording clearly; the other stream records every frame", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk-full-" });
  const full = `${dir}/records/camA`;
  await Deno.mkdir(full, { recursive: true });
  // Needs root (mount); the test machines run as root.
  await run("mount", ["-t", "tmpfs", "-o", "size=48k", "tmpfs", full]);
  try {
    const source = `${dir}/source.mkv`;
    await makeSource(source, { seconds: 5, gop: 15 });
    const sent = await probeFrames(source);
    const ports = [0, 1].map(() => [freeUdpPortPair(), freeUdpPortPair()]);
    const rtp: Record<string, string> = {};
    for (const [i, name] of ["camA", "camB"].entries()) {
      await Deno.writeTextFile(
        `${dir}/${name}.sdp`,
        await rtpSdp(source, ports[i][0], ports[i][1]),
      );
      rtp[name] = `${dir}/${name}.sdp`;
    }
    const recorder = new RecorderProcess(
      await writeTestConfig(dir, { rtp, recorder: { segment_duration: 0.5 } }),
    );
    try {
      await recorder.waitFor("RTP source listening", (l) => l.stream === "camB");
      await Promise.all(
        ports.map(([video, audio]) =>
          run("ffmpeg", [
            "-nostdin",
            "-v",
            "error",
            "-re",
            "-i",
            source,
            ...rtpOutputs(video, audio),
          ])
        ),
      );
      const failed = await recorder.waitFor("Recording failed", (l) => l.stream === "camA");
      assert(/No space left on device/.test(JSON.stringify(failed)), JSON.stringify(failed));
      await recorder.waitFor("Recording finished", (l) => l.stream === "camB", 10_000);
    } finally {
      assertEquals((await recorder.stop("SIGTERM")).code, 0, recorder.stderr);
    }

    // The other stream is complete.
    const [b] = await findRecordings(`${dir}/records`, "camB");
    const recordedB = await probeFrames(`${b}/manifest.mpd`);
    for (const kind of ["video", "audio"] as const) {
      assertEquals(
        recordedB.find((s) => s.codecType === kind)?.frames,
        sent.find((s) => s.codecType === kind)?.frames,
        `camB ${kind}`,
      );
    }
    // The full one holds whole files only, and what its manifest lists plays.
    const files: string[] = [];
    const walk = (path: string) => {
      for (const entry of Deno.readDirSync(path)) {
        if (entry.isDirectory) walk(`${path}/${entry.name}`);
        else files.push(entry.name);
      }
    };
    walk(full);
    assertEquals(files.filter((name) => name.startsWith(".")), [], "no temporary files");
    const [a] = await findRecordings(`${dir}/records`, "camA");
    if (a) {
      const [video] = await probeFrames(`${a}/manifest.mpd`);
      assert(video.frames > 0, "what was recorded before the disk filled plays");
    }
  } finally {
    await run("umount", [full]).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
