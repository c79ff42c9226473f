/**
 * A full disk under one stream's directory (a tiny tmpfs mounted there) and a directory the
 * recorder may not write (it runs as an unprivileged user): each of those streams' recordings
 * fails with an error naming the stream and the cause, their files stay whole and playable, and
 * the third stream records every frame.
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

const NOBODY = { uid: 65534, gid: 65534 };

Deno.test("A full disk or a denied directory fails that stream clearly; another records every frame", async () => {
  const dir = await Deno.makeTempDir({ prefix: "disk-full-" });
  await Deno.chmod(dir, 0o755);
  const full = `${dir}/records/camA`;
  await Deno.mkdir(full, { recursive: true });
  // Needs root (mount, setpriv); the test machines run as root.
  await run("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=48k,uid=${NOBODY.uid},gid=${NOBODY.gid}`,
    "tmpfs",
    full,
  ]);
  try {
    const denoDir = `${dir}/deno`;
    await Deno.mkdir(denoDir);
    await Deno.copyFile(Deno.execPath(), `${denoDir}/deno`);
    await Deno.chmod(`${denoDir}/deno`, 0o755);
    await run("chown", ["-R", `${NOBODY.uid}:${NOBODY.gid}`, dir]);
    // Owned by root, read-only for the recorder's user.
    const denied = `${dir}/records/camC`;
    await Deno.mkdir(denied, { mode: 0o755 });
    const source = `${dir}/source.mkv`;
    await makeSource(source, { seconds: 5, gop: 15 });
    const sent = await probeFrames(source);
    const streams = ["camA", "camB", "camC"];
    const ports = streams.map(() => [freeUdpPortPair(), freeUdpPortPair()]);
    const rtp: Record<string, string> = {};
    for (const [i, name] of streams.entries()) {
      await Deno.writeTextFile(
        `${dir}/${name}.sdp`,
        await rtpSdp(source, ports[i][0], ports[i][1]),
      );
      rtp[name] = `${dir}/${name}.sdp`;
    }
    const config = await writeTestConfig(dir, { rtp, recorder: { segment_duration: 0.5 } });
    const recorder = new RecorderProcess(config, {}, {
      ...NOBODY,
      denoPath: `${denoDir}/deno`,
      denoDir,
    });
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
      const refused = await recorder.waitFor("Recording failed", (l) => l.stream === "camC");
      assert(/Permission denied/.test(JSON.stringify(refused)), JSON.stringify(refused));
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
    walk(`${dir}/records/camC`);
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
